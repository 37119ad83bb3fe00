"""Blob triggers on the local host: once per version, retries, poison, Event Grid webhook and watcher."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable

import httpx
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from tests.fixtures.functions_host import RunningHost
from tests.integration.functions_host.conftest import APPS
from tests.polling import eventually

pytestmark = pytest.mark.integration


def _outputs(blobs: BlobServiceClient, stem: str) -> list[bytes]:
    container = blobs.get_container_client("processed")
    if not container.exists():
        return []
    names = [b.name for b in container.list_blobs(name_starts_with=f"{stem}-")]
    return [container.get_blob_client(n).download_blob().readall() for n in names]


def _runs(host: RunningHost, blob_path: str, outcome: str) -> int:
    ids = [
        line.split("Id=")[1].rstrip(")")
        for line in host.log().splitlines()
        if "Executing 'Functions.on_text_blob'" in line and f"({blob_path})" in line
    ]
    return sum(
        1 for line in host.log().splitlines() if f"({outcome}, Id=" in line and any(i in line for i in ids)
    )


def test_a_blob_that_fails_twice_is_processed_once_when_it_succeeds(
    storage_app: RunningHost, blobs: BlobServiceClient
) -> None:
    stem = f"flaky-{uuid.uuid4().hex[:8]}"
    blobs.get_blob_client("inbox", f"{stem}.txt").upload_blob(b"content")
    assert eventually(lambda: _outputs(blobs, stem)) == [b"content"]
    assert _runs(storage_app, f"inbox/{stem}.txt", "Failed") == 2
    assert _runs(storage_app, f"inbox/{stem}.txt", "Succeeded") == 1


def test_a_blob_that_always_fails_is_poisoned_after_five_tries(
    storage_app: RunningHost, blobs: BlobServiceClient, queues: QueueServiceClient
) -> None:
    stem = f"fail-{uuid.uuid4().hex[:8]}"
    blobs.get_blob_client("inbox", f"{stem}.txt").upload_blob(b"bad")
    poison = queues.get_queue_client("webjobs-blobtrigger-poison")

    def poisoned() -> list[dict[str, str]]:
        try:
            peeked = poison.peek_messages(max_messages=32)
        except ResourceNotFoundError:
            return []
        bodies = [json.loads(base64.b64decode(m.content)) for m in peeked]
        return [b for b in bodies if b["BlobName"] == f"{stem}.txt"]

    message = eventually(poisoned)[0]
    assert message["ContainerName"] == "inbox"
    assert message["FunctionId"] == "Host.Functions.on_text_blob"
    assert _runs(storage_app, f"inbox/{stem}.txt", "Failed") == 5
    assert _outputs(blobs, stem) == []


def test_an_overwritten_blob_is_processed_again_for_its_new_etag(
    storage_app: RunningHost, blobs: BlobServiceClient
) -> None:
    stem = f"doc-{uuid.uuid4().hex[:8]}"
    blob = blobs.get_blob_client("inbox", f"{stem}.txt")
    blob.upload_blob(b"first")
    eventually(lambda: _outputs(blobs, stem))
    blob.upload_blob(b"second", overwrite=True)
    assert sorted(eventually(lambda: len(_outputs(blobs, stem)) == 2 and _outputs(blobs, stem))) == [
        b"first",
        b"second",
    ]


def test_blobs_not_matching_the_path_pattern_are_ignored(
    storage_app: RunningHost, blobs: BlobServiceClient
) -> None:
    stem = f"other-{uuid.uuid4().hex[:8]}"
    blobs.get_blob_client("inbox", f"{stem}.csv").upload_blob(b"x")
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    blobs.get_blob_client("inbox", f"{marker}.txt").upload_blob(b"y")
    eventually(lambda: _outputs(blobs, marker))
    assert f"inbox/{stem}.csv" not in storage_app.log()


@pytest.fixture
def webhook_only_app(
    functions_host: Callable[..., RunningHost], storage_settings: dict[str, str], blobs: BlobServiceClient
) -> RunningHost:
    if not blobs.get_container_client("events").exists():
        blobs.create_container("events")
    return functions_host(
        APPS / "storage_app", storage_settings | {"FUNCTIONS_HOST_EVENTGRID_WATCHER": "false"}
    )


def test_the_blob_webhook_answers_the_event_grid_validation_handshake(webhook_only_app: RunningHost) -> None:
    event = [
        {
            "id": "1",
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "subject": "",
            "data": {"validationCode": "code-123"},
            "eventTime": "2026-01-01T00:00:00Z",
            "dataVersion": "1",
        }
    ]
    response = httpx.post(
        f"{webhook_only_app.base_url}/runtime/webhooks/blobs",
        params={"functionName": "Host.Functions.on_event_blob"},
        headers={"aeg-event-type": "SubscriptionValidation"},
        json=event,
    )
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "code-123"}


def test_a_blob_created_event_posted_to_the_webhook_runs_the_function(
    webhook_only_app: RunningHost, blobs: BlobServiceClient
) -> None:
    name = f"{uuid.uuid4().hex[:8]}.bin"
    blob = blobs.get_blob_client("events", name)
    etag = blob.upload_blob(b"event body")["etag"]
    event = [
        {
            "id": str(uuid.uuid4()),
            "topic": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/dev",
            "subject": f"/blobServices/default/containers/events/blobs/{name}",
            "eventType": "Microsoft.Storage.BlobCreated",
            "eventTime": "2026-01-01T00:00:00Z",
            "data": {"api": "PutBlob", "url": blob.url, "eTag": etag, "blobType": "BlockBlob"},
            "dataVersion": "",
            "metadataVersion": "1",
        }
    ]
    response = httpx.post(
        f"{webhook_only_app.base_url}/runtime/webhooks/blobs",
        params={"functionName": "Host.Functions.on_event_blob"},
        headers={"aeg-event-type": "Notification"},
        json=event,
        timeout=30,
    )
    assert response.status_code == 202
    assert blobs.get_blob_client("event-copies", name).download_blob().readall() == b"event body"


def test_the_watcher_feeds_event_grid_triggers_because_azurite_raises_no_events(
    storage_app: RunningHost, blobs: BlobServiceClient
) -> None:
    name = f"{uuid.uuid4().hex[:8]}.bin"
    blobs.get_blob_client("events", name).upload_blob(b"watched")
    copy = blobs.get_blob_client("event-copies", name)
    eventually(copy.exists)
    assert copy.download_blob().readall() == b"watched"
    assert f"Reason='EventGrid(events/{name})'" in storage_app.log()
