"""A host restart in the middle of work loses nothing and processes nothing completed twice."""

from __future__ import annotations

import uuid

import pytest
from azure.storage.blob import BlobServiceClient

from tests.fixtures.functions_host import RunningHost
from tests.polling import eventually

pytestmark = pytest.mark.integration


def _processed(blobs: BlobServiceClient, batch: str) -> list[str]:
    return [
        b.name.rsplit("-", 5)[0]
        for b in blobs.get_container_client("processed").list_blobs(name_starts_with=f"slow-{batch}")
    ]


def test_a_restart_mid_work_processes_every_blob_exactly_once(
    storage_app: RunningHost, blobs: BlobServiceClient
) -> None:
    batch = uuid.uuid4().hex[:8]
    before = [f"slow-{batch}-{i}" for i in range(6)]
    for stem in before:
        blobs.get_blob_client("inbox", f"{stem}.txt").upload_blob(b"x")
    eventually(lambda: blobs.get_container_client("processed").exists() and _processed(blobs, batch))
    assert storage_app.stop() == 0
    during = [f"slow-{batch}-down-{i}" for i in range(2)]
    for stem in during:
        blobs.get_blob_client("inbox", f"{stem}.txt").upload_blob(b"y")
    storage_app.start()
    expected = sorted(before + during)
    assert (
        sorted(
            eventually(lambda: len(_processed(blobs, batch)) >= len(expected) and _processed(blobs, batch))
        )
        == expected
    )
    assert "Stopping the host" in storage_app.log()
