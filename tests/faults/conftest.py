"""The fault-injection tier: the whole local stack with services we may kill, stop and restart.

Azurite keeps its data on disk and the Service Bus emulator is durable, so either can go down and
come back on the same ports with what it held. The queue's lock is 10 s instead of a minute, so work
locked by a killed host comes back within a test's patience; everything else is the project's config.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from devstack.azurite import AzuritePorts, start_azurite
from devstack.processes import ManagedProcess, free_port
from tests.e2e.conftest import FUNCTION_KEY, MASTER_KEY, Stack, eventually
from tests.fixtures.functions_host import RunningHost
from tests.fixtures.servicebus import PROJECT_CONFIG, RunningEmulator, StartEmulator

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
# How long a fault's aftermath may take to settle: lock expiry, redeliveries and the host's retries.
SETTLE_SECONDS = 120.0


@dataclass
class Azurite:
    """Azurite on fixed ports with its data on disk: stop and start keep both."""

    ports: AzuritePorts
    data_dir: Path
    process: ManagedProcess | None = None

    def start(self) -> None:
        """Start (again) on the same ports and data."""
        self.process = start_azurite(ROOT, self.data_dir, self.ports)

    def stop(self) -> None:
        """SIGTERM: Azurite saves its data and exits."""
        if self.process is not None:
            self.process.stop()
            self.process = None


@dataclass
class FaultStack:
    """The app on the local host plus handles on every process a fault can hit."""

    stack: Stack
    azurite: Azurite
    emulator: RunningEmulator

    @property
    def host(self) -> RunningHost:
        """The Functions host."""
        return self.stack.host

    def post_upload(self, data: bytes, filename: str) -> httpx.Response:
        """``POST /api/uploads`` with the function key."""
        return self.stack.http.post(
            "/api/uploads",
            params={"filename": filename},
            content=data,
            headers={"x-functions-key": FUNCTION_KEY},
        )

    def admin_post(self, path: str) -> httpx.Response:
        """POST an admin route with the master key."""
        return self.stack.http.post(path, headers={"x-functions-key": MASTER_KEY})

    def blob_upload(self, data: bytes, name: str) -> str:
        """Put a workbook straight into storage; its upload id once the ingest recorded it."""
        written = self.stack.blobs.get_blob_client("answer-sheets", name).upload_blob(data, overwrite=True)

        def found() -> str | None:
            # Only the writer of a blob knows its ETag, which proves the right to its upload's ids.
            response = self.stack.get("/api/uploads", params={"blob": name, "etag": written["etag"]})
            return str(response.json()["upload_id"]) if response.status_code == 200 else None

        return eventually(found, timeout=SETTLE_SECONDS)

    def rows(self, partition: str) -> list[dict[str, Any]]:
        """Every row of one partition of the state table."""
        table = self.stack.tables.get_table_client(self.stack.table_name)
        return list(table.query_entities("PartitionKey eq @pk", parameters={"pk": partition}))

    def assert_settled(self, upload_ids: list[str], timeout: float = SETTLE_SECONDS) -> list[dict[str, Any]]:
        """Every upload finished; each submission graded with its report or visibly failed; nothing stuck."""
        statuses = [self.stack.wait_finished(u, timeout=timeout) for u in upload_ids]
        reports = {b.name for b in self.stack.blobs.get_container_client("reports").list_blobs()}
        ids = {s["submission_id"] for status in statuses for s in status["submissions"]}

        def markers_cleared() -> bool:
            # The final status is published before the in-flight marker is dropped: a moment apart.
            return not ids & {r["RowKey"] for r in self.rows("inflight")}

        eventually(markers_cleared, timeout=timeout)
        ingesting = {r["RowKey"] for r in self.rows("ingesting")}
        for upload_id, status in zip(upload_ids, statuses, strict=True):
            assert status["status"] in ("graded", "partially_graded"), status
            assert upload_id not in ingesting
            assert status["submissions"], status
            for submission in status["submissions"]:
                sid = submission["submission_id"]
                if submission["status"] == "graded":
                    assert f"{sid}.docx" in reports, submission
                    report = self.stack.get(f"/api/submissions/{sid}/report")
                    assert report.status_code == 200, report.text
                else:
                    assert submission["status"] == "failed", submission
                    assert submission["reason"], submission
                    assert f"{sid}.docx" not in reports, submission
        return statuses


def graded_count(statuses: list[dict[str, Any]]) -> int:
    """How many submissions of these uploads were graded."""
    return sum(s["status"] == "graded" for status in statuses for s in status["submissions"])


def submission_states(stack: Stack, upload_id: str) -> list[str]:
    """The statuses of an upload's submissions right now (empty before the fan-out)."""
    return [s["status"] for s in stack.upload_status(upload_id)["submissions"]]


@pytest.fixture(scope="package")
def faults(start_emulator: StartEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    """One stack for the whole tier; each test leaves every service running again."""
    config = json.loads(PROJECT_CONFIG.read_text(encoding="utf-8"))
    [queue] = config["UserConfig"]["Namespaces"][0]["Queues"]
    emulator = start_emulator({queue["Name"]: {**queue["Properties"], "LockDuration": "PT10S"}}, durable=True)
    folder = tmp_path_factory.mktemp("faults")
    azurite = Azurite(
        AzuritePorts(blob=free_port(), queue=free_port(), table=free_port()), folder / "azurite"
    )
    azurite.start()
    connection = azurite.ports.connection_string()
    prefix = "faults" + uuid.uuid4().hex[:10]
    settings = {
        "AzureWebJobsStorage": connection,
        "READYCHECK_STORAGE": connection,
        "READYCHECK_SERVICEBUS": emulator.connection_string,
        "READYCHECK_TABLE_PREFIX": prefix,
        "READYCHECK_SWEEP_SCHEDULE": "*/5 * * * * *",
        "FUNCTIONS_HOST_FUNCTION_KEYS": FUNCTION_KEY,
        "FUNCTIONS_HOST_MASTER_KEY": MASTER_KEY,
        "FUNCTIONS_HOST_BLOB_POLL_SECONDS": "0.2",
        "FUNCTIONS_HOST_LISTENER_RETRY_SECONDS": "0.5",
    }
    blobs = BlobServiceClient.from_connection_string(connection)
    for container in ("answer-sheets", "reports", "digests"):
        blobs.create_container(container)
    host = RunningHost(ROOT, settings, folder / "host.log")
    host.start()
    try:
        with httpx.Client(base_url=host.base_url, timeout=60) as http:
            tables = TableServiceClient.from_connection_string(connection)
            yield FaultStack(Stack(host, blobs, tables, prefix, http), azurite, emulator)
    finally:
        host.stop()
        azurite.stop()
