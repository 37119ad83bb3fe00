"""Queue and timer triggers on the local host, and the admin endpoint that runs a function now."""

from __future__ import annotations

import base64
import contextlib
import json
import uuid

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from tests.fixtures.functions_host import RunningHost
from tests.integration.functions_host.conftest import create_containers
from tests.polling import eventually

pytestmark = pytest.mark.integration


def _send(queues: QueueServiceClient, queue: str, text: str) -> str:
    client = queues.get_queue_client(queue)
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()
    return str(client.send_message(base64.b64encode(text.encode()).decode()).id)


def _bodies(queues: QueueServiceClient, queue: str) -> list[str]:
    try:
        peeked = queues.get_queue_client(queue).peek_messages(max_messages=32)
    except ResourceNotFoundError:
        return []
    return [base64.b64decode(m.content).decode() for m in peeked]


def test_a_queue_message_runs_the_function_and_its_queue_output(
    shared_storage_app: RunningHost, queues: QueueServiceClient
) -> None:
    item = f"item-{uuid.uuid4().hex[:8]}"
    _send(queues, "work", item)
    done = eventually(lambda: [json.loads(b) for b in _bodies(queues, "work-done") if item in b])
    assert done == [{"item": item, "dequeue_count": 1}]


def test_a_queue_message_that_keeps_failing_moves_to_the_poison_queue(
    shared_storage_app: RunningHost, queues: QueueServiceClient
) -> None:
    item = f"fail-{uuid.uuid4().hex[:8]}"
    message_id = _send(queues, "work", item)
    assert eventually(lambda: [b for b in _bodies(queues, "work-poison") if b == item]) == [item]
    # maxDequeueCount in the app's host.json is 3.
    assert f"Message {message_id} on 'work' failed 3 times" in shared_storage_app.log()


def test_the_admin_endpoint_runs_a_timer_function_now(
    shared_storage_app: RunningHost, blobs: BlobServiceClient
) -> None:
    container = blobs.get_container_client("timer-runs")
    create_containers(blobs, "timer-runs")
    before = {b.name for b in container.list_blobs()}
    assert shared_storage_app.admin("nightly").status_code == 202
    new = eventually(lambda: [b.name for b in container.list_blobs() if b.name not in before])
    assert len(new) == 1
    assert json.loads(container.get_blob_client(new[0]).download_blob().readall()) == {"past_due": False}


def test_the_admin_endpoint_refuses_unknown_functions(shared_storage_app: RunningHost) -> None:
    assert shared_storage_app.admin("no_such_function").status_code == 404
