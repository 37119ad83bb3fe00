"""Fixtures for the local host's tests: the storage test app running against the session's Azurite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from tests.fixtures.functions_host import RunningHost

APPS = Path(__file__).parent / "apps"


@pytest.fixture(scope="module")
def storage_settings(storage_connection_string: str) -> dict[str, str]:
    """Settings pointing the test apps' connections at the session's Azurite, with fast polling."""
    return {
        "AzureWebJobsStorage": storage_connection_string,
        "Storage": storage_connection_string,
        "FUNCTIONS_HOST_BLOB_POLL_SECONDS": "0.2",
        "FUNCTIONS_HOST_LISTENER_RETRY_SECONDS": "0.5",
    }


@pytest.fixture(scope="module")
def blobs(storage_connection_string: str) -> BlobServiceClient:
    """A blob service client on the session's Azurite."""
    return BlobServiceClient.from_connection_string(storage_connection_string)


@pytest.fixture(scope="module")
def queues(storage_connection_string: str) -> QueueServiceClient:
    """A queue service client on the session's Azurite."""
    return QueueServiceClient.from_connection_string(storage_connection_string)


def create_containers(blobs: BlobServiceClient, *names: str) -> None:
    """Create containers that do not exist yet."""
    for name in names:
        if not blobs.get_container_client(name).exists():
            blobs.create_container(name)


@pytest.fixture
def storage_app(
    functions_host: Callable[..., RunningHost], storage_settings: dict[str, str], blobs: BlobServiceClient
) -> RunningHost:
    """The storage test app on a fresh host (its log holds only this test's work)."""
    create_containers(blobs, "inbox", "events")
    return functions_host(APPS / "storage_app", storage_settings)


@pytest.fixture(scope="module")
def shared_storage_app(
    module_functions_host: Callable[..., RunningHost],
    storage_settings: dict[str, str],
    blobs: BlobServiceClient,
) -> RunningHost:
    """The storage test app on one host for a module's tests that do not read the host's log."""
    create_containers(blobs, "inbox", "events")
    return module_functions_host(APPS / "storage_app", storage_settings)
