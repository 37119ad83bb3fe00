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
    with ServiceBusClient.from_connection_string(connection_string) as client, client.get_queue_sender(
        "competing"
    ) as sender:
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


def _receive(connection_string: str, seen: list[tuple[str, str]], done: threading.Event) -> None:
    """Receive and complete until the shared tally reaches TOTAL; record (message id, lock token)."""
    with ServiceBusClient.from_connection_string(connection_string) as client, client.get_queue_receiver(
        "competing", prefetch_count=200, max_wait_time=2
    ) as receiver:
        while not done.is_set():
            batch = receiver.receive_messages(max_message_count=100, max_wait_time=1)
            for message in batch:
                seen.append((str(message.message_id), str(message.lock_token)))
                receiver.complete_message(message)


def test_ten_thousand_messages_reach_exactly_one_of_three_receivers(sb: RunningEmulator) -> None:
    tallies: list[list[tuple[str, str]]] = [[] for _ in range(RECEIVERS)]
    done = threading.Event()
    workers = [
        threading.Thread(target=_receive, args=(sb.connection_string, tally, done), daemon=True)
        for tally in tallies
    ]
    for worker in workers:
        worker.start()
    sent = _send_all(sb.connection_string)
    for _ in range(600):
        if sum(len(t) for t in tallies) >= TOTAL:
            break
        done.wait(0.1)
    done.set()
    for worker in workers:
        worker.join(timeout=30)

    received = Counter(message_id for tally in tallies for message_id, _ in tally)
    assert set(received) == sent, f"{len(sent - set(received))} messages never arrived"
    assert [m for m, n in received.items() if n > 1] == [], "some messages reached two receivers"
    shares = [len(t) for t in tallies]
    assert min(shares) >= TOTAL // (RECEIVERS * 3), f"unfair distribution: {shares}"
