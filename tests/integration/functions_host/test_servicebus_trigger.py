"""Service Bus triggers on the local host, against the project's Service Bus emulator over AMQP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue
from azure.storage.blob import BlobServiceClient

from tests.fixtures.functions_host import RunningHost
from tests.fixtures.servicebus import RunningEmulator, StartEmulator
from tests.integration.functions_host.conftest import APPS
from tests.polling import eventually

pytestmark = pytest.mark.integration

# The SDK's renewer checks once a second, so a lock under ~4 s can expire between checks.
LOCK_SECONDS = 4
MAX_DELIVERIES = 3


@pytest.fixture(scope="module")
def emulator(start_emulator: StartEmulator) -> RunningEmulator:
    """An emulator queue with a short lock and few deliveries, so renewal and dead-letters show fast."""
    return start_emulator(
        {"inbound": {"LockDuration": f"PT{LOCK_SECONDS}S", "MaxDeliveryCount": MAX_DELIVERIES}}
    )


@pytest.fixture
def servicebus_app(
    functions_host: Callable[..., RunningHost], storage_settings: dict[str, str], emulator: RunningEmulator
) -> RunningHost:
    return functions_host(APPS / "servicebus_app", storage_settings | {"Bus": emulator.connection_string})


def _send(emulator: RunningEmulator, *messages: ServiceBusMessage) -> None:
    with (
        ServiceBusClient.from_connection_string(emulator.connection_string) as client,
        client.get_queue_sender("inbound") as sender,
    ):
        sender.send_messages(list(messages))


def _record(blobs: BlobServiceClient, message_id: str) -> dict[str, Any] | None:
    try:
        return dict(
            json.loads(blobs.get_blob_client("sb-results", f"{message_id}.json").download_blob().readall())
        )
    except ResourceNotFoundError:
        return None


def _dead_lettered(emulator: RunningEmulator, message_id: str) -> list[Any]:
    with (
        ServiceBusClient.from_connection_string(emulator.connection_string) as client,
        client.get_queue_receiver("inbound", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as receiver,
    ):
        return [m for m in receiver.peek_messages(max_message_count=50) if m.message_id == message_id]


def test_every_service_bus_message_property_reaches_the_function(
    servicebus_app: RunningHost, emulator: RunningEmulator, blobs: BlobServiceClient
) -> None:
    message_id = uuid.uuid4().hex
    _send(
        emulator,
        ServiceBusMessage(
            b'{"n": 1}',
            message_id=message_id,
            correlation_id="corr-1",
            content_type="application/json",
            subject="greeting",
            reply_to="replies",
            to="someone",
            time_to_live=timedelta(minutes=5),
            application_properties={"tenant": "t1", "attempt": 7},
        ),
    )
    record = eventually(lambda: _record(blobs, message_id))
    assert record["body"] == '{"n": 1}'
    assert (record["message_id"], record["correlation_id"]) == (message_id, "corr-1")
    assert (record["content_type"], record["subject"], record["label"]) == (
        "application/json",
        "greeting",
        "greeting",
    )
    assert (record["reply_to"], record["to"], record["time_to_live"]) == ("replies", "someone", 300.0)
    assert record["delivery_count"] == 1
    assert isinstance(record["sequence_number"], int)
    assert record["application_properties"] == {"tenant": "t1", "attempt": 7} == record["user_properties"]
    enqueued = datetime.fromisoformat(record["enqueued_time_utc"])
    assert enqueued < datetime.fromisoformat(record["locked_until"])
    assert datetime.fromisoformat(record["expires_at_utc"]) - enqueued == timedelta(minutes=5)
    assert uuid.UUID(record["lock_token"])


def test_a_message_sent_without_ttl_carries_the_queues_default_ttl_and_expiry(
    servicebus_app: RunningHost, emulator: RunningEmulator, blobs: BlobServiceClient
) -> None:
    message_id = uuid.uuid4().hex
    _send(emulator, ServiceBusMessage("plain", message_id=message_id))
    record = eventually(lambda: _record(blobs, message_id))
    # The queue keeps the emulator's default DefaultMessageTimeToLive, 14 days, as Service Bus's.
    assert record["time_to_live"] == timedelta(days=14).total_seconds()
    enqueued = datetime.fromisoformat(record["enqueued_time_utc"])
    assert datetime.fromisoformat(record["expires_at_utc"]) - enqueued == timedelta(days=14)


def test_messages_run_in_parallel_up_to_max_concurrent_calls(
    servicebus_app: RunningHost, emulator: RunningEmulator, blobs: BlobServiceClient
) -> None:
    ids = [uuid.uuid4().hex for _ in range(6)]
    _send(emulator, *(ServiceBusMessage("sleep:1", message_id=i) for i in ids))
    records = eventually(lambda: all(_record(blobs, i) for i in ids) and [_record(blobs, i) for i in ids])
    spans = [
        (datetime.fromisoformat(r["started"]), datetime.fromisoformat(r["finished"])) for r in records if r
    ]
    overlap = max(sum(1 for s, f in spans if s <= start < f) for start, _ in spans)
    assert overlap == 3  # maxConcurrentCalls in the app's host.json


def test_a_function_running_longer_than_the_lock_keeps_its_message(
    servicebus_app: RunningHost, emulator: RunningEmulator, blobs: BlobServiceClient
) -> None:
    message_id = uuid.uuid4().hex
    _send(emulator, ServiceBusMessage(f"sleep:{LOCK_SECONDS * 2}", message_id=message_id))
    record = eventually(lambda: _record(blobs, message_id), timeout=30)
    assert record["delivery_count"] == 1
    executions = [
        line for line in servicebus_app.log().splitlines() if "Executing 'Functions.on_message'" in line
    ]
    assert len(executions) == 1


def test_a_message_that_keeps_failing_is_dead_lettered_after_max_deliveries(
    servicebus_app: RunningHost, emulator: RunningEmulator
) -> None:
    message_id = uuid.uuid4().hex
    _send(emulator, ServiceBusMessage("fail", message_id=message_id))

    assert len(eventually(lambda: _dead_lettered(emulator, message_id), timeout=30)) == 1
    failures = [line for line in servicebus_app.log().splitlines() if "(Failed, Id=" in line]
    assert len(failures) == MAX_DELIVERIES


def test_a_message_whose_function_kills_the_worker_is_dead_lettered_and_later_messages_run(
    servicebus_app: RunningHost, emulator: RunningEmulator, blobs: BlobServiceClient
) -> None:
    crashing, healthy = uuid.uuid4().hex, uuid.uuid4().hex
    _send(emulator, ServiceBusMessage("crash", message_id=crashing))
    assert len(eventually(lambda: _dead_lettered(emulator, crashing), timeout=60)) == 1
    # Each delivery ended the worker: abandoned, so the delivery count rose to MaxDeliveryCount.
    assert servicebus_app.log().count("Language worker process 0 exited (exit code 1)") == MAX_DELIVERIES
    _send(emulator, ServiceBusMessage("after the crashes", message_id=healthy))
    assert eventually(lambda: _record(blobs, healthy), timeout=30)["body"] == "after the crashes"


def test_a_service_bus_output_binding_sends_to_the_queue(
    servicebus_app: RunningHost, blobs: BlobServiceClient
) -> None:
    text = f"sent-{uuid.uuid4().hex}"
    assert httpx.post(f"{servicebus_app.base_url}/api/send", content=text).status_code == 202

    def received() -> list[dict[str, Any]]:
        container = blobs.get_container_client("sb-results")
        if not container.exists():
            return []
        records = [_record(blobs, b.name.removesuffix(".json")) for b in container.list_blobs()]
        return [r for r in records if r and r["body"] == text]

    assert len(eventually(received)) == 1
