"""The Service Bus sender against the emulator over AMQP: batches, ids, correlation and trace context."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusReceivedMessage

from shared.adapters.messaging import ServiceBusSender
from shared.errors import TransientServiceError
from shared.ports import OutgoingMessage
from tests.fixtures.servicebus import StartEmulator

pytestmark = pytest.mark.integration

QUEUE = {
    "MaxDeliveryCount": 5,
    "LockDuration": "PT1M",
    "RequiresDuplicateDetection": True,
    "DuplicateDetectionHistoryTimeWindow": "PT10M",
}


@pytest.fixture
def client(start_emulator: StartEmulator) -> Iterator[ServiceBusClient]:
    emulator = start_emulator({"work": QUEUE})
    with ServiceBusClient.from_connection_string(emulator.connection_string) as sb:
        yield sb


def _receive_all(client: ServiceBusClient, expected: int) -> list[ServiceBusReceivedMessage]:
    got: list[ServiceBusReceivedMessage] = []
    with client.get_queue_receiver("work", max_wait_time=2) as receiver:
        while len(got) < expected:
            batch = receiver.receive_messages(max_message_count=expected - len(got), max_wait_time=2)
            if not batch:
                break
            for message in batch:
                receiver.complete_message(message)
            got.extend(batch)
    return got


def _message(i: int, body: str = "{}") -> OutgoingMessage:
    return OutgoingMessage(
        message_id=f"m-{i}",
        correlation_id="upload-1",
        body=body,
        application_properties={"traceparent": f"00-{'a' * 32}-{'b' * 16}-01"},
    )


def test_messages_arrive_with_id_correlation_and_trace_context(client: ServiceBusClient) -> None:
    sender = ServiceBusSender(client, "work")
    sender.send([_message(1, '{"section": "quiz"}')])
    [received] = _receive_all(client, 1)
    assert received.message_id == "m-1"
    assert received.correlation_id == "upload-1"
    assert str(received) == '{"section": "quiz"}'
    assert received.application_properties is not None
    properties = {
        k.decode() if isinstance(k, bytes) else k: v for k, v in received.application_properties.items()
    }
    trace = properties["traceparent"]
    assert isinstance(trace, bytes | str)
    assert (trace.decode() if isinstance(trace, bytes) else trace).startswith("00-aaaa")


def test_more_messages_than_fit_one_batch_all_arrive(client: ServiceBusClient) -> None:
    sender = ServiceBusSender(client, "work")
    big = "x" * 60_000
    sender.send([_message(i, big) for i in range(8)])
    assert sorted(str(m.message_id) for m in _receive_all(client, 8)) == sorted(f"m-{i}" for i in range(8))


def test_a_duplicate_message_id_is_dropped_by_the_broker(client: ServiceBusClient) -> None:
    sender = ServiceBusSender(client, "work")
    sender.send([_message(1)])
    sender.send([_message(1)])
    sender.send([_message(2)])
    assert [m.message_id for m in _receive_all(client, 2)] == ["m-1", "m-2"]


def test_one_sender_is_reused_across_sends(client: ServiceBusClient) -> None:
    sender = ServiceBusSender(client, "work")
    sender.send([_message(1)])
    first = sender._open()
    sender.send([_message(2)])
    assert sender._open() is first
    assert len(_receive_all(client, 2)) == 2


def test_a_health_ping_succeeds_against_a_live_queue(client: ServiceBusClient) -> None:
    ServiceBusSender(client, "work").ping()


def test_every_health_ping_reaches_the_broker_so_an_outage_is_reported(
    start_emulator: StartEmulator,
) -> None:
    emulator = start_emulator({"work": QUEUE})
    with ServiceBusClient.from_connection_string(emulator.connection_string, retry_total=0) as sb:
        sender = ServiceBusSender(sb, "work")
        sender.ping()
        emulator.stop()
        with pytest.raises(TransientServiceError):
            sender.ping()
        emulator.start()
        sender.ping()
