"""Rules that depend on time: lock expiry, max delivery count, TTL, duplicate window, scheduling."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from azure.servicebus import (
    ServiceBusClient,
    ServiceBusMessage,
    ServiceBusReceivedMessage,
    ServiceBusSubQueue,
)
from azure.servicebus.exceptions import MessageLockLostError

pytestmark = pytest.mark.integration
DLQ = ServiceBusSubQueue.DEAD_LETTER


def test_an_expired_lock_makes_the_message_available_again(client: ServiceBusClient) -> None:
    with client.get_queue_sender("lock-expiry") as sender:
        sender.send_messages(ServiceBusMessage("slow worker"))
    with client.get_queue_receiver("lock-expiry", max_wait_time=5) as receiver:
        [first] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        # The queue's lock is half a second: wait past it without settling.
        [second] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        receiver.complete_message(second)
    assert first.sequence_number == second.sequence_number
    assert second.lock_token != first.lock_token
    assert second.delivery_count == 1


def test_settling_after_the_lock_expired_raises_message_lock_lost(client: ServiceBusClient) -> None:
    with client.get_queue_sender("lock-lost") as sender:
        sender.send_messages(ServiceBusMessage("too late"))
    with client.get_queue_receiver("lock-lost", max_wait_time=5) as receiver:
        [got] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        time.sleep(0.7)
        with pytest.raises(MessageLockLostError):
            receiver.complete_message(got)
        [again] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        receiver.complete_message(again)
    assert str(again) == "too late"


def test_exceeding_max_delivery_count_dead_letters_the_message(client: ServiceBusClient) -> None:
    with client.get_queue_sender("max-delivery") as sender:
        sender.send_messages(ServiceBusMessage("always fails"))
    with client.get_queue_receiver("max-delivery", max_wait_time=5) as receiver:
        for _ in range(2):
            [got] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
            receiver.abandon_message(got)
        assert receiver.receive_messages(max_message_count=1, max_wait_time=0.5) == []
    with client.get_queue_receiver("max-delivery", sub_queue=DLQ, max_wait_time=5) as receiver:
        [dead] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        receiver.complete_message(dead)
    assert str(dead) == "always fails"
    assert dead.dead_letter_reason == "MaxDeliveryCountExceeded"
    assert dead.delivery_count == 2


def test_an_expired_message_is_dead_lettered_when_the_queue_says_so(client: ServiceBusClient) -> None:
    with client.get_queue_sender("ttl-dead-letter") as sender:
        sender.send_messages(ServiceBusMessage("stale"))
    time.sleep(0.7)
    with client.get_queue_receiver("ttl-dead-letter", max_wait_time=1) as receiver:
        assert receiver.receive_messages(max_message_count=1, max_wait_time=0.5) == []
    with client.get_queue_receiver("ttl-dead-letter", sub_queue=DLQ, max_wait_time=5) as receiver:
        [dead] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        receiver.complete_message(dead)
    assert (str(dead), dead.dead_letter_reason) == ("stale", "TTLExpiredException")


def test_a_message_ttl_shorter_than_the_queue_default_wins(client: ServiceBusClient) -> None:
    with client.get_queue_sender("ttl-message") as sender:
        sender.send_messages(ServiceBusMessage("short", time_to_live=timedelta(milliseconds=300)))
        sender.send_messages(ServiceBusMessage("default"))
    time.sleep(0.6)
    with client.get_queue_receiver("ttl-message", max_wait_time=5) as receiver:
        got = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        for message in got:
            receiver.complete_message(message)
    assert [str(m) for m in got] == ["default"]


def test_an_expired_message_is_dropped_when_dead_lettering_on_expiry_is_off(client: ServiceBusClient) -> None:
    with client.get_queue_sender("ttl-drop") as sender:
        sender.send_messages(ServiceBusMessage("gone"))
    time.sleep(0.7)
    with client.get_queue_receiver("ttl-drop", max_wait_time=1) as receiver:
        assert receiver.receive_messages(max_message_count=1, max_wait_time=0.5) == []
    with client.get_queue_receiver("ttl-drop", sub_queue=DLQ, max_wait_time=1) as receiver:
        assert receiver.peek_messages(max_message_count=5, sequence_number=1) == []


def test_a_repeated_message_id_is_dropped_within_the_detection_window(client: ServiceBusClient) -> None:
    with client.get_queue_sender("dedup") as sender:
        sender.send_messages(ServiceBusMessage("first", message_id="sub-1/section-2"))
        sender.send_messages(ServiceBusMessage("second", message_id="sub-1/section-2"))
        sender.send_messages(ServiceBusMessage("other", message_id="sub-1/section-3"))
    with client.get_queue_receiver("dedup", max_wait_time=5) as receiver:
        got = receiver.receive_messages(max_message_count=2, max_wait_time=5)
        for message in got:
            receiver.complete_message(message)
        assert receiver.receive_messages(max_message_count=1, max_wait_time=0.5) == []
    assert [str(m) for m in got] == ["first", "other"]


def test_a_queue_without_duplicate_detection_keeps_repeated_ids(client: ServiceBusClient) -> None:
    with client.get_queue_sender("no-dedup") as sender:
        sender.send_messages(
            [ServiceBusMessage("a", message_id="same"), ServiceBusMessage("b", message_id="same")]
        )
    with client.get_queue_receiver("no-dedup", max_wait_time=5) as receiver:
        got = receiver.receive_messages(max_message_count=2, max_wait_time=5)
        for message in got:
            receiver.complete_message(message)
    assert [str(m) for m in got] == ["a", "b"]


def test_a_scheduled_message_is_not_delivered_before_its_time(client: ServiceBusClient) -> None:
    due = datetime.now(UTC) + timedelta(seconds=2)
    with client.get_queue_sender("scheduled") as sender:
        [seq] = sender.schedule_messages(ServiceBusMessage("on time"), due)
        sender.send_messages(ServiceBusMessage("scheduled on send", scheduled_enqueue_time_utc=due))
    received: list[tuple[ServiceBusReceivedMessage, datetime]] = []
    with client.get_queue_receiver("scheduled", max_wait_time=5) as receiver:
        peeked = receiver.peek_messages(max_message_count=5, sequence_number=seq)
        while len(received) < 2:
            batch = receiver.receive_messages(max_message_count=2 - len(received), max_wait_time=5)
            assert batch, "the scheduled messages never arrived"
            received += [(message, datetime.now(UTC)) for message in batch]
            for message in batch:
                receiver.complete_message(message)
    assert sorted(str(m) for m, _ in received) == ["on time", "scheduled on send"]
    assert all(at >= due for _, at in received)
    assert [m.sequence_number for m in peeked][:1] == [seq]


def test_a_cancelled_scheduled_message_is_never_delivered(client: ServiceBusClient) -> None:
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    with client.get_queue_sender("cancel-scheduled") as sender:
        [seq] = sender.schedule_messages(ServiceBusMessage("cancelled"), due)
        sender.cancel_scheduled_messages(seq)
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.2)
    with client.get_queue_receiver("cancel-scheduled", max_wait_time=1) as receiver:
        assert receiver.receive_messages(max_message_count=1, max_wait_time=0.5) == []
