"""The project's own config (infra/local/servicebus-config.json) gives the pipeline its `grading` queue."""

from __future__ import annotations

import uuid

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage

pytestmark = pytest.mark.integration


def test_the_grading_queue_drops_a_repeated_message_id(servicebus_connection_string: str) -> None:
    # Peek only, so other tests sharing this session's emulator keep their messages.
    message_id = f"submission-{uuid.uuid4()}/section-1"
    with ServiceBusClient.from_connection_string(servicebus_connection_string) as client:
        with client.get_queue_sender("grading") as sender:
            sender.send_messages(ServiceBusMessage("first", message_id=message_id))
            sender.send_messages(ServiceBusMessage("retry", message_id=message_id))
        with client.get_queue_receiver("grading") as receiver:
            peeked = receiver.peek_messages(max_message_count=1000, sequence_number=1)
    assert [str(m) for m in peeked if m.message_id == message_id] == ["first"]
