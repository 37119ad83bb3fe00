"""The whole local stack for end-to-end tests: Azurite, the Service Bus emulator and the local host."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from devstack.azurite import AzuritePorts
from tests import polling
from tests.fixtures.functions_host import RunningHost
from tests.fixtures.servicebus import RunningEmulator

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_KEY = "e2e-function-key"
MASTER_KEY = "e2e-master-key"
T = TypeVar("T")


def eventually(
    probe: Callable[[], T | Literal[False] | None], timeout: float = 60.0, interval: float = 0.2
) -> T:
    """Poll with the end-to-end tier's longer default timeout (the whole pipeline runs)."""
    return polling.eventually(probe, timeout, interval)


@dataclass
class Stack:
    """The running app and clients to drive it."""

    host: RunningHost
    blobs: BlobServiceClient
    tables: TableServiceClient
    table_name: str
    http: httpx.Client

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET with the function key."""
        return self.http.get(
            path, headers={"x-functions-key": FUNCTION_KEY, **kwargs.pop("headers", {})}, **kwargs
        )

    def upload_status(self, upload_id: str) -> dict[str, Any]:
        """The upload's status document."""
        response = self.get(f"/api/uploads/{upload_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_finished(self, upload_id: str, timeout: float = 90.0) -> dict[str, Any]:
        """Poll the upload until it is no longer received or grading."""

        def finished() -> dict[str, Any] | None:
            status = self.upload_status(upload_id)
            return status if status["status"] not in ("received", "grading") else None

        return eventually(finished, timeout=timeout)


@pytest.fixture(scope="module")
def stack(
    azurite: AzuritePorts,
    servicebus_emulator: RunningEmulator,
    storage_connection_string: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """ReadyCheck on the local host, with its own tables so modules do not see each other's data."""
    prefix = "e2e" + uuid.uuid4().hex[:10]
    settings = {
        "AzureWebJobsStorage": storage_connection_string,
        "READYCHECK_STORAGE": storage_connection_string,
        "READYCHECK_SERVICEBUS": servicebus_emulator.connection_string,
        "READYCHECK_TABLE_PREFIX": prefix,
        "FUNCTIONS_HOST_FUNCTION_KEYS": FUNCTION_KEY,
        "FUNCTIONS_HOST_MASTER_KEY": MASTER_KEY,
        "FUNCTIONS_HOST_BLOB_POLL_SECONDS": "0.2",
        "FUNCTIONS_HOST_LISTENER_RETRY_SECONDS": "0.5",
    }
    blobs = BlobServiceClient.from_connection_string(storage_connection_string)
    for container in ("answer-sheets", "reports", "digests"):
        if not blobs.get_container_client(container).exists():
            blobs.create_container(container)
    host = RunningHost(ROOT, settings, tmp_path_factory.mktemp("host") / "host.log")
    host.start()
    try:
        with httpx.Client(base_url=host.base_url, timeout=30) as http:
            yield Stack(
                host,
                blobs,
                TableServiceClient.from_connection_string(storage_connection_string),
                prefix,
                http,
            )
    finally:
        host.stop()
