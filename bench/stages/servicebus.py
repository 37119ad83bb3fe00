"""Service Bus emulator: throughput and latency over AMQP, against a plain loopback TCP round trip."""

from __future__ import annotations

import socket
import threading
import time

from bench.context import Context
from bench.measure import Series, StageResult, percentile, unavailable

STAGE = "Service Bus emulator"
TARGETS = [
    ">= 2,000 messages/s sent in batches",
    ">= 1,000 messages/s received with prefetch",
    "p99 send->receive <= 20 ms at 100 msg/s",
]
_PAYLOAD = b"x" * 512


def _echo(server: socket.socket) -> None:
    conn, _ = server.accept()
    with conn:
        while chunk := conn.recv(65536):
            conn.sendall(chunk)


def tcp_round_trips(count: int) -> list[float]:
    """Seconds per round trip of a 512-byte message over loopback TCP, one at a time."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        thread = threading.Thread(target=_echo, args=(server,), daemon=True)
        thread.start()
        trips: list[float] = []
        with socket.create_connection(server.getsockname()[:2]) as client:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(count):
                start = time.perf_counter()
                client.sendall(_PAYLOAD)
                received = 0
                while received < len(_PAYLOAD):
                    received += len(client.recv(65536))
                trips.append(time.perf_counter() - start)
        thread.join(timeout=5)
    return trips


def run(ctx: Context) -> StageResult:
    """The loopback floor; the emulator's own figures belong to bench/servicebus_bench.py, not yet written."""
    trips = tcp_round_trips(200 if ctx.quick else 2_000)
    floor = Series(
        "baseline: loopback TCP round trip",
        trips,
        note=f"{len(trips)} trips of {len(_PAYLOAD)} bytes; p99 {percentile(trips, 0.99) * 1000:.3f} ms",
    )
    result = unavailable(STAGE, "bench/servicebus_bench.py does not exist yet", TARGETS)
    result.series = [floor]
    return result
