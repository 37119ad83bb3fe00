"""Every queue operation through the official sync SDK, against the emulator over AMQP."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from azure.servicebus import (
    ServiceBusClient,
    ServiceBusMessage,
    ServiceBusReceiveMode,
    ServiceBusSubQueue,
)
from azure.servicebus.amqp import AmqpAnnotatedMessage, AmqpMessageBodyType
from azure.servicebus.exceptions import MessagingEntityNotFoundError

pytestmark = pytest.mark.integration


def test_a_message_arrives_with_every_property_and_its_exact_bytes(client: ServiceBusClient) -> None:
    body = bytes(range(256)) * 4
    sent = ServiceBusMessage(
        body,
        message_id="m-1",
        application_properties={"str": "x", "int": 7, "float": 1.5, "bool": True},
        content_type="application/octet-stream",
        correlation_id="corr-1",
        subject="grading",
        time_to_live=timedelta(minutes=5),
        to="somewhere",
        reply_to="replies",
    )
    with client.get_queue_sender("roundtrip") as sender:
        sender.send_messages(sent)
    with client.get_queue_receiver("roundtrip", max_wait_time=5) as receiver:
        [got] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        locked_until = got.locked_until_utc
        receiver.complete_message(got)
    assert b"".join(got.body) == body
    assert got.message_id == "m-1"
    assert got.application_properties == {
        b"str": b"x",
        b"int": 7,
        b"float": 1.5,
        b"bool": True,
    }
    assert (got.content_type, got.correlation_id, got.subject, got.to, got.reply_to) == (
        "application/octet-stream",
        "corr-1",
        "grading",
        "somewhere",
        "replies",
    )
    assert got.time_to_live == timedelta(minutes=5)
    assert got.delivery_count == 0
    assert got.sequence_number is not None
    assert got.sequence_number >= 1
    assert got.enqueued_time_utc is not None
    assert locked_until is not None
    assert locked_until > got.enqueued_time_utc


def test_an_amqp_value_body_is_preserved(client: ServiceBusClient) -> None:
    value = {"answer": 42, "items": [1, "two", None]}
    with client.get_queue_sender("roundtrip") as sender:
        sender.send_messages(AmqpAnnotatedMessage(value_body=value))
    with client.get_queue_receiver("roundtrip", max_wait_time=5) as receiver:
        [got] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        receiver.complete_message(got)
    assert got.body_type == AmqpMessageBodyType.VALUE
    assert got.body == {b"answer": 42, b"items": [1, b"two", None]}


def test_batches_and_lists_arrive_as_separate_messages_in_order(client: ServiceBusClient) -> None:
    with client.get_queue_sender("batch") as sender:
        batch = sender.create_message_batch()
        for i in range(5):
            batch.add_message(ServiceBusMessage(f"batch-{i}", application_properties={"i": i}))
        sender.send_messages(batch)
        sender.send_messages([ServiceBusMessage(f"list-{i}") for i in range(3)])
    with client.get_queue_receiver("batch", max_wait_time=5) as receiver:
        got = receiver.receive_messages(max_message_count=8, max_wait_time=5)
        while len(got) < 8:
            more = receiver.receive_messages(max_message_count=8 - len(got), max_wait_time=2)
            if not more:
                break
            got += more
        for message in got:
            receiver.complete_message(message)
    assert [str(m) for m in got] == [f"batch-{i}" for i in range(5)] + [f"list-{i}" for i in range(3)]
    assert [(m.application_properties or {})[b"i"] for m in got[:5]] == list(range(5))
    seqs = [m.sequence_number for m in got if m.sequence_number is not None]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 8


def test_receive_and_delete_removes_the_message_on_delivery(client: ServiceBusClient) -> None:
    with client.get_queue_sender("receive-and-delete") as sender:
        sender.send_messages(ServiceBusMessage("once"))
    mode = ServiceBusReceiveMode.RECEIVE_AND_DELETE
    with client.get_queue_receiver("receive-and-delete", receive_mode=mode, max_wait_time=5) as receiver:
        first = receiver.receive_messages(max_message_count=1, max_wait_time=5)
    with client.get_queue_receiver("receive-and-delete", receive_mode=mode, max_wait_time=1) as receiver:
        second = receiver.receive_messages(max_message_count=1, max_wait_time=1)
    assert [(str(m), m.delivery_count) for m in first] == [("once", 0)]
    assert second == []


def test_a_completed_message_is_gone(client: ServiceBusClient) -> None:
    with client.get_queue_sender("complete") as sender:
        sender.send_messages(ServiceBusMessage("done"))
    with client.get_queue_receiver("complete", max_wait_time=5) as receiver:
        [got] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        receiver.complete_message(got)
        assert receiver.peek_messages(max_message_count=5, sequence_number=1) == []


def test_an_abandoned_message_comes_back_with_its_delivery_count_raised(client: ServiceBusClient) -> None:
    with client.get_queue_sender("abandon") as sender:
        sender.send_messages(ServiceBusMessage("again"))
    with client.get_queue_receiver("abandon", max_wait_time=5) as receiver:
        [first] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        receiver.abandon_message(first)
        [second] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        receiver.complete_message(second)
    assert (first.delivery_count, second.delivery_count) == (0, 1)
    assert first.sequence_number == second.sequence_number


def test_a_dead_lettered_message_keeps_its_reason_and_description(client: ServiceBusClient) -> None:
    with client.get_queue_sender("dead-letter") as sender:
        sender.send_messages(ServiceBusMessage("poison", application_properties={"kept": "yes"}))
    with client.get_queue_receiver("dead-letter", max_wait_time=5) as receiver:
        [got] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        receiver.dead_letter_message(got, reason="BadSheet", error_description="row 3: no email")
        assert receiver.receive_messages(max_message_count=1, max_wait_time=0.5) == []
    dlq = ServiceBusSubQueue.DEAD_LETTER
    with client.get_queue_receiver("dead-letter", sub_queue=dlq, max_wait_time=5) as receiver:
        [dead] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        receiver.complete_message(dead)
    assert str(dead) == "poison"
    assert (dead.dead_letter_reason, dead.dead_letter_error_description) == ("BadSheet", "row 3: no email")
    assert dead.dead_letter_source == "dead-letter"
    assert dead.application_properties is not None
    assert dead.application_properties[b"kept"] == b"yes"


def test_a_deferred_message_is_only_received_by_its_sequence_number(client: ServiceBusClient) -> None:
    with client.get_queue_sender("defer") as sender:
        sender.send_messages(ServiceBusMessage("later"))
    with client.get_queue_receiver("defer", max_wait_time=5) as receiver:
        [got] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        assert got.sequence_number is not None
        receiver.defer_message(got)
        assert receiver.receive_messages(max_message_count=1, max_wait_time=0.5) == []
        [deferred] = receiver.receive_deferred_messages([got.sequence_number])
        assert str(deferred) == "later"
        assert deferred.lock_token is not None
        # Deferred messages settle through $management update-disposition.
        receiver.complete_message(deferred)
        assert receiver.peek_messages(max_message_count=5, sequence_number=got.sequence_number) == []


def test_peek_shows_messages_without_locking_them(client: ServiceBusClient) -> None:
    with client.get_queue_sender("peek") as sender:
        sender.send_messages([ServiceBusMessage(f"p{i}") for i in range(3)])
    with client.get_queue_receiver("peek", max_wait_time=5) as receiver:
        peeked = receiver.peek_messages(max_message_count=10, sequence_number=1)
        received = receiver.receive_messages(max_message_count=3, max_wait_time=5)
        for message in received:
            receiver.complete_message(message)
    assert [str(m) for m in peeked] == ["p0", "p1", "p2"]
    assert all(m.lock_token is None for m in peeked)
    assert sorted(str(m) for m in received) == ["p0", "p1", "p2"]


def test_renewing_a_lock_moves_its_expiry_forward(client: ServiceBusClient) -> None:
    with client.get_queue_sender("renew") as sender:
        sender.send_messages(ServiceBusMessage("long job"))
    with client.get_queue_receiver("renew", max_wait_time=5) as receiver:
        [got] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        before = got.locked_until_utc
        receiver.renew_message_lock(got)
        assert got.locked_until_utc is not None
        assert before is not None
        assert got.locked_until_utc > before
        receiver.complete_message(got)


def test_an_unknown_queue_is_an_entity_not_found_error(client: ServiceBusClient) -> None:
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    with pytest.raises(MessagingEntityNotFoundError), client.get_queue_sender(missing) as sender:
        sender.send_messages(ServiceBusMessage("lost"))
    with pytest.raises(MessagingEntityNotFoundError), client.get_queue_receiver(missing) as receiver:
        receiver.receive_messages(max_message_count=1, max_wait_time=1)


def test_queue_names_compare_case_insensitively(client: ServiceBusClient) -> None:
    with client.get_queue_sender("MIXED-case") as sender:
        sender.send_messages(ServiceBusMessage("same queue"))
    with client.get_queue_receiver("mixed-CASE", max_wait_time=5) as receiver:
        got = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        for message in got:
            receiver.complete_message(message)
    assert [str(m) for m in got] == ["same queue"]


def test_dead_letters_are_forwarded_when_the_queue_says_so(client: ServiceBusClient) -> None:
    with client.get_queue_sender("forward-source") as sender:
        sender.send_messages(ServiceBusMessage("forward me"))
    with client.get_queue_receiver("forward-source", max_wait_time=5) as receiver:
        [got] = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        receiver.dead_letter_message(got, reason="Nope", error_description="forwarded")
    with client.get_queue_receiver("forward-target", max_wait_time=5) as receiver:
        forwarded = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        for message in forwarded:
            receiver.complete_message(message)
    assert [(str(m), m.dead_letter_reason) for m in forwarded] == [("forward me", "Nope")]


def test_prefetch_hands_over_many_messages_in_one_receive(client: ServiceBusClient) -> None:
    with client.get_queue_sender("prefetch") as sender:
        sender.send_messages([ServiceBusMessage(f"f{i}") for i in range(50)])
    with client.get_queue_receiver("prefetch", prefetch_count=50, max_wait_time=5) as receiver:
        got = receiver.receive_messages(max_message_count=50, max_wait_time=5)
        for message in got:
            receiver.complete_message(message)
    assert len(got) > 1
    assert [str(m) for m in got] == [f"f{i}" for i in range(len(got))]
