"""A burst of Service Bus messages on the local host: no message is locked and left unrenewed (no stall)."""

from __future__ import annotations

import concurrent.futures
import json
import uuid
from collections.abc import Callable

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.servicebus import ServiceBusClient, ServiceBusMessage
from azure.storage.blob import BlobServiceClient

from tests.fixtures.functions_host import RunningHost
from tests.fixtures.servicebus import RunningEmulator, StartEmulator
from tests.integration.functions_host.conftest import APPS
from tests.polling import eventually

pytestmark = pytest.mark.integration

LOCK_SECONDS = 4
# Each invocation outlasts the lock, so a message locked but not yet handed to the function would expire.
WORK_SECONDS = LOCK_SECONDS + 1
MESSAGES = 50


@pytest.fixture
def burst_host(
    start_emulator: StartEmulator,
    functions_host: Callable[..., RunningHost],
    storage_settings: dict[str, str],
) -> tuple[RunningHost, RunningEmulator]:
    emulator = start_emulator({"burst": {"LockDuration": f"PT{LOCK_SECONDS}S", "MaxDeliveryCount": 10}})
    settings = storage_settings | {
        "Bus": emulator.connection_string,
        # maxConcurrentCalls is 16 in the app's host.json: give the worker the threads to match.
        "PYTHON_THREADPOOL_THREAD_COUNT": "16",
    }
    return functions_host(APPS / "burst_app", settings), emulator


def _send_one(emulator: RunningEmulator, message_id: str) -> None:
    with (
        ServiceBusClient.from_connection_string(emulator.connection_string) as client,
        client.get_queue_sender("burst") as sender,
    ):
        sender.send_messages(ServiceBusMessage(str(WORK_SECONDS), message_id=message_id))


def _delivery_count(blobs: BlobServiceClient, message_id: str) -> int | None:
    try:
        blob = blobs.get_blob_client("burst-results", f"{message_id}.json").download_blob().readall()
    except ResourceNotFoundError:
        return None
    return int(json.loads(blob)["delivery_count"])


def test_fifty_concurrent_messages_are_each_delivered_once_although_work_outlasts_the_lock(
    burst_host: tuple[RunningHost, RunningEmulator], blobs: BlobServiceClient
) -> None:
    host, emulator = burst_host
    ids = [uuid.uuid4().hex for _ in range(MESSAGES)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda i: _send_one(emulator, i), ids))

    def counts() -> list[int | None] | None:
        found = [_delivery_count(blobs, i) for i in ids]
        return found if all(c is not None for c in found) else None

    found = eventually(counts, timeout=60, interval=1)
    # A message the listener locked but did not hand on would expire and come back with a count of 2.
    assert found == [1] * MESSAGES
    executions = [line for line in host.log().splitlines() if "Executing 'Functions.on_burst'" in line]
    assert len(executions) == MESSAGES
