"""One reviewer decision (the PUT handler) on Azurite with the real engine: latency and round trips.

Run: ``PATH=$PWD/node_modules/.bin:$PATH .venv/bin/python -m bench.review_decision``. Not part of
``python -m bench``: a one-off measure of the review route (docs/api.md), kept so its numbers can be rerun.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from devstack.azurite import AzuritePorts, start_azurite
from devstack.processes import free_port
from samples.workbooks import template_workbook
from shared.access import EVERYONE
from shared.adapters.blob_store import AzureBlobStore
from shared.adapters.clients import SystemClock
from shared.adapters.core_engine import CoreEngine
from shared.adapters.tables import AzureTableStore
from shared.bank import load_bank
from shared.grading_flow import GradingWork, handle_grading_message
from shared.ingest import ingest_blob
from shared.ports import OutgoingMessage, Services
from shared.review_api import decide_item
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ROUTED_ANSWER = "I would probably go with Azure Functions for this"
DECISIONS = 20


class Counting:
    """Counts the calls made to a store (each one is a round trip)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return method(*args, **kwargs)

        return counted


class InlineQueue:
    """The grading queue as a list: this measure grades each message itself, in this process."""

    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    def send(self, messages: Sequence[OutgoingMessage]) -> None:
        """Queue the messages."""
        self.messages.extend(messages)

    def take(self) -> list[OutgoingMessage]:
        """Every queued message, removing them."""
        taken, self.messages = self.messages, []
        return taken


def _graded(services: Services, queue: InlineQueue) -> str:
    bank = load_bank()
    data = template_workbook(bank, {"map-lambda": ROUTED_ANSWER}, {}, {"name": "M", "email": "m@example.com"})
    settings = services.settings
    services.blobs.write(settings.answer_sheets_container, "m.xlsx", data, "application/octet-stream")
    ingest_blob(services, "m.xlsx")
    sid = ""
    while messages := queue.take():
        for message in messages:
            work = GradingWork.from_json(message.body)
            sid = work.submission_id
            handle_grading_message(services, work, {})
    return sid


def main() -> None:
    """Grade one routed answer, then time alternating decisions on it."""
    ports = AzuritePorts(blob=free_port(), queue=free_port(), table=free_port())
    process = start_azurite(ROOT, Path(tempfile.mkdtemp()), ports, in_memory=True)
    try:
        # The Service Bus connection is never used: grading messages stay in the InlineQueue.
        settings = Settings.from_env(
            {
                "READYCHECK_STORAGE": ports.connection_string(),
                "READYCHECK_SERVICEBUS": "Endpoint=sb://localhost",
            }
        )
        table_service = TableServiceClient.from_connection_string(ports.connection_string())
        table_service.create_table("measure")
        blob_service = BlobServiceClient.from_connection_string(ports.connection_string())
        for container in (settings.answer_sheets_container, settings.reports_container):
            blob_service.create_container(container)
        tables = Counting(AzureTableStore(table_service.get_table_client("measure")))
        blobs = Counting(AzureBlobStore(blob_service))
        queue = InlineQueue()
        services = Services(tables, blobs, queue, CoreEngine(settings), SystemClock(), settings)
        sid = _graded(services, queue)
        times, etag, trips = [], '"v0"', (0, 0)
        for n in range(DECISIONS + 1):
            body = json.dumps({"points": float(n % 2), "reason": f"round {n}"}).encode()
            started, table_calls, blob_calls = time.perf_counter(), tables.calls, blobs.calls
            result = decide_item(services, sid, "map-lambda", etag, body, EVERYONE)
            times.append(time.perf_counter() - started)
            trips = (tables.calls - table_calls, blobs.calls - blob_calls)
            assert result.status == 200, result.body
            etag = result.headers["ETag"]
        timed = times[1:]  # the first decision pays for imports and loading the bank
        print(
            f"decisions: {len(timed)}, median {statistics.median(timed) * 1000:.0f} ms, "
            f"max {max(timed) * 1000:.0f} ms; per decision: {trips[0]} table calls, {trips[1]} blob writes"
        )
    finally:
        process.stop()


if __name__ == "__main__":
    main()
