"""Ten thousand messages through three competing receivers: none lost, none handed out twice."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage

from tests.fixtures.servicebus import RunningEmulator

pytestmark = pytest.mark.integration
TOTAL = 10_000
RECEIVERS = 3


def _send_all(connection_string: str) -> set[str]:
    """Send TOTAL messages in full batches; their ids."""
    ids = {f"msg-{i:05d}" for i in range(TOTAL)}
    with (
        ServiceBusClient.from_connection_string(connection_string) as client,
        client.get_queue_sender("competing") as sender,
    ):
        batch = sender.create_message_batch()
        for message_id in sorted(ids):
            message = ServiceBusMessage(message_id, message_id=message_id)
            try:
                batch.add_message(message)
            except ValueError:  # the batch is full: send it and start the next one
                sender.send_messages(batch)
                batch = sender.create_message_batch()
                batch.add_message(message)
        sender.send_messages(batch)
    return ids


def _receive(connection_string: str, seen: list[str], total: list[list[str]], done: threading.Event) -> None:
    """Receive and complete until all receivers together saw TOTAL; record each message id."""
    with (
        ServiceBusClient.from_connection_string(connection_string) as client,
        client.get_queue_receiver("competing", prefetch_count=200, max_wait_time=2) as receiver,
    ):
        while not done.is_set():
            for message in receiver.receive_messages(max_message_count=100, max_wait_time=1):
                seen.append(str(message.message_id))
                receiver.complete_message(message)
            if sum(len(s) for s in total) >= TOTAL:
                done.set()


def test_ten_thousand_messages_reach_exactly_one_of_three_receivers(sb: RunningEmulator) -> None:
    seen_by: list[list[str]] = [[] for _ in range(RECEIVERS)]
    done = threading.Event()
    workers = [
        threading.Thread(target=_receive, args=(sb.connection_string, seen, seen_by, done), daemon=True)
        for seen in seen_by
    ]
    for worker in workers:
        worker.start()
    sent = _send_all(sb.connection_string)
    done.wait(timeout=120)
    done.set()
    for worker in workers:
        worker.join(timeout=30)

    received = Counter(message_id for seen in seen_by for message_id in seen)
    assert set(received) == sent, f"{len(sent - set(received))} messages never arrived"
    assert [m for m, n in received.items() if n > 1] == [], "some messages reached two receivers"
    shares = [len(seen) for seen in seen_by]
    assert min(shares) >= TOTAL // (RECEIVERS * 3), f"unfair distribution: {shares}"
