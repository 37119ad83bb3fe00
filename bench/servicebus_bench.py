"""Service Bus emulator benchmark: throughput and send->receive latency, with loopback TCP as the floor.

Run: ``python -m bench.servicebus_bench [--messages N] [--latency-messages N]``; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from azure.servicebus import (
    ServiceBusClient,
    ServiceBusMessage,
    ServiceBusReceivedMessage,
    ServiceBusReceiveMode,
)

from devstack.processes import free_port
from devstack.servicebus_emulator import connection_string, start_servicebus_emulator

QUEUE = "bench"
CONFIG = {
    "UserConfig": {
        "Namespaces": [{"Name": "bench", "Queues": [{"Name": QUEUE, "Properties": {"LockDuration": "PT1M"}}]}]
    }
}


def _percentile(samples: list[float], fraction: float) -> float:
    """The value at ``fraction`` of the sorted samples (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _latency_summary(seconds: list[float]) -> dict[str, float]:
    """p50/p99/max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(_percentile(ms, 0.99), 3),
        "max_ms": round(max(ms), 3),
    }


def loopback_floor(round_trips: int) -> dict[str, Any]:
    """Round trips of a 100-byte message over a plain loopback TCP socket (an echo thread)."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def echo() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    payload = b"x" * 100
    samples = []
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.perf_counter()
        for _ in range(round_trips):
            sent = time.perf_counter()
            client.sendall(payload)
            received = 0
            while received < len(payload):
                received += len(client.recv(4096))
            samples.append(time.perf_counter() - sent)
        elapsed = time.perf_counter() - started
    server.close()
    thread.join(timeout=2)
    return {"round_trips_per_s": round(round_trips / elapsed), **_latency_summary(samples)}


def send_throughput(client: ServiceBusClient, count: int, batch_size: int) -> tuple[float, float]:
    """Messages per second sent in batches: end to end, and counting only the send calls.

    The second figure leaves out the SDK building each batch in pure Python (most of the end-to-end time).
    """
    in_send = 0.0
    with client.get_queue_sender(QUEUE) as sender:
        started = time.perf_counter()
        for first in range(0, count, batch_size):
            batch = sender.create_message_batch()
            for _ in range(min(batch_size, count - first)):
                batch.add_message(ServiceBusMessage(b"x" * 100))
            before = time.perf_counter()
            sender.send_messages(batch)
            in_send += time.perf_counter() - before
        return count / (time.perf_counter() - started), count / in_send


def receive_throughput(client: ServiceBusClient, count: int, *, peek_lock: bool, prefetch: int) -> float:
    """Messages per second received (and completed, in peek-lock mode) with prefetch."""
    mode = ServiceBusReceiveMode.PEEK_LOCK if peek_lock else ServiceBusReceiveMode.RECEIVE_AND_DELETE
    with client.get_queue_receiver(QUEUE, receive_mode=mode, prefetch_count=prefetch) as receiver:
        received = 0
        started = time.perf_counter()
        while received < count:
            batch = receiver.receive_messages(max_message_count=prefetch, max_wait_time=5)
            if not batch:
                raise RuntimeError(f"only {received} of {count} messages arrived")
            if peek_lock:
                for message in batch:
                    receiver.complete_message(message)
            received += len(batch)
        return count / (time.perf_counter() - started)


def _sent_at(message: ServiceBusReceivedMessage) -> float:
    """The perf_counter reading the producer stamped on the message just before sending it."""
    stamp = (message.application_properties or {}).get(b"t")
    if not isinstance(stamp, float):
        raise RuntimeError(f"message {message.message_id} lacks its send time")
    return stamp


def send_to_receive_latency(client: ServiceBusClient, count: int, rate: float) -> dict[str, float]:
    """Send ``count`` messages at ``rate`` per second; latency from just before send to receipt."""
    samples: list[float] = []
    with (
        client.get_queue_receiver(
            QUEUE, receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE, prefetch_count=50
        ) as receiver,
        client.get_queue_sender(QUEUE) as sender,
    ):

        def produce() -> None:
            for i in range(count):
                due = started + i / rate
                time.sleep(max(0.0, due - time.perf_counter()))
                sender.send_messages(
                    ServiceBusMessage(b"x", application_properties={"t": time.perf_counter()})
                )

        started = time.perf_counter()
        producer = threading.Thread(target=produce)
        producer.start()
        while len(samples) < count:
            # One at a time: for larger batches the SDK lingers 0.2 s after the first message for more.
            batch = receiver.receive_messages(max_message_count=1, max_wait_time=5)
            now = time.perf_counter()
            if not batch:
                raise RuntimeError(f"only {len(samples)} of {count} messages arrived")
            samples += [now - _sent_at(m) for m in batch]
        producer.join()
    return {"rate_per_s": rate, "messages": count, **_latency_summary(samples)}


def main() -> None:
    """Start an in-memory emulator, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--prefetch", type=int, default=500)
    parser.add_argument("--latency-messages", type=int, default=300)
    parser.add_argument("--latency-rate", type=float, default=100.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.json"
        config.write_text(json.dumps(CONFIG))
        port = free_port()
        emulator = start_servicebus_emulator(config, port, Path(folder) / "emulator.log")
        try:
            with ServiceBusClient.from_connection_string(connection_string(port)) as client:
                sent, sent_on_wire = send_throughput(client, args.messages, args.batch_size)
                received = receive_throughput(client, args.messages, peek_lock=False, prefetch=args.prefetch)
                send_throughput(client, args.messages, args.batch_size)
                completed = receive_throughput(client, args.messages, peek_lock=True, prefetch=args.prefetch)
                latency = send_to_receive_latency(client, args.latency_messages, args.latency_rate)
        finally:
            emulator.stop()
    result = {
        "benchmark": "servicebus_emulator",
        "messages": args.messages,
        "send_batched_per_s": round(sent),
        "send_batched_excluding_sdk_batch_building_per_s": round(sent_on_wire),
        "receive_and_delete_prefetch_per_s": round(received),
        "receive_peek_lock_complete_prefetch_per_s": round(completed),
        "send_to_receive_latency": latency,
        "floor_loopback_tcp": loopback_floor(2000),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
