"""A worker that dies mid-invocation fails that invocation only; the host restarts it and serves on."""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import json
import uuid
from collections.abc import Callable

import httpx
import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from tests.fixtures.functions_host import RunningHost
from tests.integration.functions_host.conftest import APPS, create_containers
from tests.polling import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
def crash_app(
    functions_host: Callable[..., RunningHost], storage_settings: dict[str, str], blobs: BlobServiceClient
) -> RunningHost:
    create_containers(blobs, "crashbox")
    return functions_host(APPS / "crash_app", storage_settings)


def _done(blobs: BlobServiceClient, name: str) -> bytes | None:
    try:
        return bytes(blobs.get_blob_client("crashbox-done", name).download_blob().readall())
    except ResourceNotFoundError:
        return None


def _failed_runs(host: RunningHost, function: str, marker: str) -> int:
    lines = host.log().splitlines()
    ids = [
        line.split("Id=")[1].rstrip(")")
        for line in lines
        if f"Executing 'Functions.{function}'" in line and marker in line
    ]
    return sum(1 for line in lines if "(Failed, Id=" in line and any(i in line for i in ids))


def _poisoned_blobs(queues: QueueServiceClient, name: str) -> list[dict[str, str]]:
    try:
        peeked = queues.get_queue_client("webjobs-blobtrigger-poison").peek_messages(max_messages=32)
    except ResourceNotFoundError:
        return []
    bodies = [json.loads(base64.b64decode(m.content)) for m in peeked]
    return [b for b in bodies if b["BlobName"] == name]


def test_a_blob_whose_function_aborts_the_worker_is_poisoned_after_five_attempts(
    crash_app: RunningHost, blobs: BlobServiceClient, queues: QueueServiceClient
) -> None:
    name = f"abort-{uuid.uuid4().hex[:8]}.txt"
    blobs.get_blob_client("crashbox", name).upload_blob(b"boom")
    message = eventually(lambda: _poisoned_blobs(queues, name), timeout=90)[0]
    assert message["FunctionId"] == "Host.Functions.on_crash_blob"
    assert _failed_runs(crash_app, "on_crash_blob", f"(crashbox/{name})") == 5
    assert "Language worker process 0 exited (signal SIGABRT)" in crash_app.log()
    assert _done(blobs, name) is None


def test_the_host_keeps_processing_other_blobs_after_a_worker_exits(
    crash_app: RunningHost, blobs: BlobServiceClient
) -> None:
    crashing = f"exit-{uuid.uuid4().hex[:8]}.txt"
    healthy = f"fine-{uuid.uuid4().hex[:8]}.txt"
    blobs.get_blob_client("crashbox", crashing).upload_blob(b"boom")
    eventually(lambda: _failed_runs(crash_app, "on_crash_blob", f"(crashbox/{crashing})") >= 1, timeout=30)
    blobs.get_blob_client("crashbox", healthy).upload_blob(b"healthy")
    assert eventually(lambda: _done(blobs, healthy), timeout=60) == b"healthy"
    assert "exited (exit code 3)" in crash_app.log()


def test_a_queue_message_that_kills_the_worker_goes_to_poison_after_max_dequeue_count(
    crash_app: RunningHost, queues: QueueServiceClient
) -> None:
    queue = queues.get_queue_client("crash-queue")
    poison = queues.get_queue_client("crash-queue-poison")
    for client in (queue, poison):
        with contextlib.suppress(ResourceExistsError):
            client.create_queue()
    text = f"exit-{uuid.uuid4().hex[:8]}"
    queue.send_message(base64.b64encode(text.encode()).decode())

    def poisoned() -> list[str]:
        return [
            base64.b64decode(m.content).decode()
            for m in poison.peek_messages(max_messages=32)
            if base64.b64decode(m.content).decode() == text
        ]

    assert eventually(poisoned, timeout=90) == [text]
    # host.json sets maxDequeueCount 3: three attempts, each ending the worker.
    assert _failed_runs(crash_app, "on_crash_message", "crash-queue") == 3


def test_an_http_request_whose_worker_dies_gets_500_and_the_next_request_is_served(
    crash_app: RunningHost,
) -> None:
    died = httpx.get(f"{crash_app.base_url}/api/end/exit", timeout=30)
    assert died.status_code == 500
    after = httpx.get(f"{crash_app.base_url}/api/end/none", timeout=30)
    assert after.status_code == 200
    assert after.text.startswith("worker ")


def test_a_timed_out_synchronous_function_fails_and_its_worker_is_replaced(crash_app: RunningHost) -> None:
    first_pid = httpx.get(f"{crash_app.base_url}/api/end/none", timeout=30).text
    timed_out = httpx.get(f"{crash_app.base_url}/api/sleep/30", timeout=30)
    assert timed_out.status_code == 500
    assert "Timeout value of 0:00:03 was exceeded" in crash_app.log()
    second_pid = httpx.get(f"{crash_app.base_url}/api/end/none", timeout=30).text
    assert second_pid != first_pid


def test_with_two_worker_processes_concurrent_invocations_run_in_both(
    functions_host: Callable[..., RunningHost], storage_settings: dict[str, str]
) -> None:
    host = functions_host(APPS / "crash_app", storage_settings | {"FUNCTIONS_WORKER_PROCESS_COUNT": "2"})
    status = f"{host.base_url}/admin/host/status"
    eventually(lambda: httpx.get(status, timeout=5).json()["workers"] == {"count": 2, "ready": 2}, timeout=30)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: httpx.get(f"{host.base_url}/api/sleep/1", timeout=30), range(2)))
    assert [a.status_code for a in answers] == [200, 200]
    assert len({a.text for a in answers}) == 2
