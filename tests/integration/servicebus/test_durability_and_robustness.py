"""Acknowledged messages survive restarts and crashes; bad bytes on the port do not stop the emulator."""

from __future__ import annotations

import contextlib
import signal
import socket
import struct

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage

from devstack.servicebus_emulator import cbs_answers
from tests.fixtures.servicebus import StartEmulator

pytestmark = pytest.mark.integration
QUEUES = {"jobs": {"LockDuration": "PT30S"}}


# The SDK leaks its socket when the broker vanishes under an open receiver; that is the point here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_acknowledged_messages_survive_a_crash_with_some_in_flight(start_emulator: StartEmulator) -> None:
    emulator = start_emulator(QUEUES, durable=True)
    with ServiceBusClient.from_connection_string(emulator.connection_string) as client:
        with client.get_queue_sender("jobs") as sender:
            sender.send_messages([ServiceBusMessage(f"job-{i}", message_id=f"job-{i}") for i in range(20)])
        with client.get_queue_receiver("jobs", max_wait_time=5) as receiver:
            locked = receiver.receive_messages(max_message_count=5, max_wait_time=5)
            for message in locked[:2]:
                receiver.complete_message(message)
            # Crash while the other locked messages are neither completed nor abandoned.
            emulator.kill()
    emulator.start()
    with (
        ServiceBusClient.from_connection_string(emulator.connection_string) as client,
        client.get_queue_receiver("jobs", max_wait_time=5) as receiver,
    ):
        survivors = []
        while batch := receiver.receive_messages(max_message_count=20, max_wait_time=2):
            survivors += batch
            for message in batch:
                receiver.complete_message(message)
    completed = {str(m) for m in locked[:2]}
    assert len(locked) >= 3
    assert sorted(str(m) for m in survivors) == sorted(
        f"job-{i}" for i in range(20) if f"job-{i}" not in completed
    )


def test_garbage_and_malformed_frames_do_not_take_the_emulator_down(start_emulator: StartEmulator) -> None:
    emulator = start_emulator(QUEUES)
    payloads = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        bytes(range(256)) * 8,
        b"AMQP\x00\x01\x00\x00" + struct.pack(">IBBH", 0xFFFFFFFF, 2, 0, 0) + b"\x00" * 32,
        b"AMQP\x03\x01\x00\x00" + b"\x00\x00\x00\x10\x02\x01\x00\x00\x00\x53\x41\xff\xff\xff\xff\xff",
        b"AMQP\x00\x01\x00\x00" + struct.pack(">IBBH", 12, 2, 0, 0) + b"\x00\x53\x10\xc0",
    ]
    for payload in payloads:
        with socket.create_connection(("127.0.0.1", emulator.port), timeout=2) as sock:
            sock.sendall(payload)
            sock.settimeout(1)
            with contextlib.suppress(OSError):
                sock.recv(1024)
    assert cbs_answers(emulator.port)
    with ServiceBusClient.from_connection_string(emulator.connection_string) as client:
        with client.get_queue_sender("jobs") as sender:
            sender.send_messages(ServiceBusMessage("still serving"))
        with client.get_queue_receiver("jobs", max_wait_time=5) as receiver:
            got = receiver.receive_messages(max_message_count=1, max_wait_time=5)
            for message in got:
                receiver.complete_message(message)
    assert [str(m) for m in got] == ["still serving"]


def test_sigterm_stops_the_emulator_cleanly(start_emulator: StartEmulator) -> None:
    emulator = start_emulator(QUEUES, durable=True)
    assert emulator.process is not None
    process = emulator.process.process
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    emulator.process = None
    assert "stopped" in emulator.log_path.read_text()
