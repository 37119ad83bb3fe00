"""azure-servicebus's documented usage patterns, as its README and samples write them; only the
connection string (and queue name) point at the emulator."""

from __future__ import annotations

import datetime

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue

from tests.fixtures.servicebus import RunningEmulator

pytestmark = pytest.mark.integration


def test_readme_send_and_receive(sb: RunningEmulator) -> None:
    connstr, queue_name = sb.connection_string, "docs-send-receive"
    with ServiceBusClient.from_connection_string(connstr) as client:
        with client.get_queue_sender(queue_name) as sender:
            single_message = ServiceBusMessage("Single message")
            sender.send_messages(single_message)
            sender.send_messages([ServiceBusMessage("Data")] * 5)
        received = []
        with client.get_queue_receiver(queue_name, max_wait_time=5) as receiver:
            for msg in receiver:
                received.append(str(msg))
                receiver.complete_message(msg)
                if len(received) == 6:
                    break
    assert received == ["Single message"] + ["Data"] * 5


def test_sample_dead_letter_then_read_the_dead_letter_queue(sb: RunningEmulator) -> None:
    connstr, queue_name = sb.connection_string, "docs-dead-letter"
    with ServiceBusClient.from_connection_string(connstr) as servicebus_client:
        sender = servicebus_client.get_queue_sender(queue_name=queue_name)
        messages = [ServiceBusMessage("Message to be deadlettered") for _ in range(10)]
        with sender:
            sender.send_messages(messages)
        receiver = servicebus_client.get_queue_receiver(queue_name=queue_name, max_wait_time=5)
        with receiver:
            received_msgs = receiver.receive_messages(max_message_count=10, max_wait_time=5)
            for msg in received_msgs:
                receiver.dead_letter_message(msg)
        dlq_receiver = servicebus_client.get_queue_receiver(
            queue_name=queue_name, sub_queue=ServiceBusSubQueue.DEAD_LETTER, max_wait_time=5
        )
        with dlq_receiver:
            received_msgs = dlq_receiver.receive_messages(max_message_count=10, max_wait_time=5)
            for msg in received_msgs:
                dlq_receiver.complete_message(msg)
    assert [str(m) for m in received_msgs] == ["Message to be deadlettered"] * 10


def test_sample_schedule_and_cancel(sb: RunningEmulator) -> None:
    connstr, queue_name = sb.connection_string, "docs-schedule"
    with ServiceBusClient.from_connection_string(connstr) as servicebus_client:
        sender = servicebus_client.get_queue_sender(queue_name=queue_name)
        with sender:
            scheduled_time_utc = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)
            sequence_number = sender.schedule_messages(
                ServiceBusMessage("Message to be scheduled"), scheduled_time_utc
            )
            sequence_numbers = sender.schedule_messages(
                [ServiceBusMessage("Scheduled and cancelled") for _ in range(2)], scheduled_time_utc
            )
            sender.cancel_scheduled_messages(sequence_numbers)
        with servicebus_client.get_queue_receiver(queue_name=queue_name, max_wait_time=5) as receiver:
            received = receiver.receive_messages(max_message_count=3, max_wait_time=3)
            for msg in received:
                receiver.complete_message(msg)
    assert [str(m) for m in received] == ["Message to be scheduled"]
    assert [m.sequence_number for m in received] == sequence_number


def test_sample_deferral(sb: RunningEmulator) -> None:
    connstr, queue_name = sb.connection_string, "docs-defer"
    with ServiceBusClient.from_connection_string(connstr) as servicebus_client:
        with servicebus_client.get_queue_sender(queue_name=queue_name) as sender:
            sender.send_messages([ServiceBusMessage("Message to be deferred") for _ in range(10)])
        with servicebus_client.get_queue_receiver(queue_name=queue_name, max_wait_time=5) as receiver:
            deferred_sequenced_numbers: list[int] = []
            received_msgs = receiver.receive_messages(max_message_count=10, max_wait_time=5)
            for msg in received_msgs:
                assert msg.sequence_number is not None
                deferred_sequenced_numbers.append(msg.sequence_number)
                receiver.defer_message(msg)
            received_deferred_msg = receiver.receive_deferred_messages(
                sequence_numbers=deferred_sequenced_numbers
            )
            for msg in received_deferred_msg:
                receiver.complete_message(msg)
    assert len(received_deferred_msg) == 10
    received_numbers = [m.sequence_number for m in received_deferred_msg if m.sequence_number is not None]
    assert sorted(received_numbers) == sorted(deferred_sequenced_numbers)
