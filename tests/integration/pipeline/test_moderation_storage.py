"""Moderation's table writes on Azurite: review rows, the queue, the decision log, the ETag race."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from shared.access import Viewer
from shared.adapters.blob_store import AzureBlobStore
from shared.adapters.tables import AzureTableStore
from shared.bank import Section
from shared.grading_flow import GradingWork, handle_grading_message, report_blob_name
from shared.ingest import ingest_blob
from shared.ports import Services
from shared.records import (
    REVIEW_QUEUE_PARTITION,
    day_partition,
    decision_row,
    load_submission,
    queue_row,
    review_row,
    submission_partition,
)
from shared.review_api import decide_item
from shared.submission import ParseResult, SheetFormat
from tests.fakes import SETTINGS, FakeClock, FakeEngine, FakeSender, fake_item_id, submission_for

pytestmark = pytest.mark.integration
MAPPING = fake_item_id(Section.SERVICE_MAPPING)


def _reviewer(number: int) -> Viewer:
    return Viewer(unrestricted=False, reviewer=True, emails=frozenset({f"reviewer{number}@example.com"}))


@pytest.fixture
def services(storage_connection_string: str) -> Iterator[Services]:
    table_service = TableServiceClient.from_connection_string(storage_connection_string)
    name = "m" + uuid.uuid4().hex[:12]
    table_service.create_table(name)
    blob_service = BlobServiceClient.from_connection_string(storage_connection_string)
    for container in (SETTINGS.answer_sheets_container, SETTINGS.reports_container):
        if not blob_service.get_container_client(container).exists():
            blob_service.create_container(container)
    engine = FakeEngine(review_sections={Section.SERVICE_MAPPING})
    yield Services(
        AzureTableStore(table_service.get_table_client(name)),
        AzureBlobStore(blob_service),
        FakeSender(),
        engine,
        FakeClock(),
        SETTINGS,
    )
    table_service.delete_table(name)


def _graded(services: Services) -> str:
    """Ingest and grade one candidate whose service-mapping item is routed; its submission id."""
    assert isinstance(services.engine, FakeEngine)
    assert isinstance(services.sender, FakeSender)
    name = f"moderation/{uuid.uuid4().hex}.xlsx"
    content = b"PK\x03\x04" + name.encode()
    submission = submission_for("Ada Lovelace", name)
    services.engine.parsed[content] = ParseResult(
        source_format=SheetFormat.TEMPLATE, submissions=(submission,)
    )
    services.blobs.write(SETTINGS.answer_sheets_container, name, content, "application/octet-stream")
    assert ingest_blob(services, name) is not None
    submission_id = ""
    while messages := services.sender.take():
        for message in messages:
            work = GradingWork.from_json(message.body)
            submission_id = work.submission_id
            handle_grading_message(services, work, {})
    return submission_id


def _put(services: Services, sid: str, points: float, reviewer: int, etag: str = '"v0"') -> int:
    body = json.dumps({"points": points, "reason": f"reviewer {reviewer} read it again"}).encode()
    return decide_item(services, sid, MAPPING, etag, body, _reviewer(reviewer)).status


def test_an_override_writes_the_review_the_queue_copy_the_log_and_a_new_report(services: Services) -> None:
    sid = _graded(services)
    tables = services.tables
    assert tables.get(REVIEW_QUEUE_PARTITION, queue_row(sid, MAPPING)).properties["state"] == "awaiting"
    assert _put(services, sid, 6, reviewer=1) == 200
    review = tables.get(submission_partition(sid), review_row(MAPPING)).properties
    assert (review["state"], review["points"], review["previous_points"]) == ("reviewed", 6.0, 0.0)
    assert review["version"] == 1
    queued = tables.get(REVIEW_QUEUE_PARTITION, queue_row(sid, MAPPING)).properties
    assert (queued["state"], queued["reviewed_by"]) == ("reviewed", "reviewer1@example.com")
    day = services.clock.now().date().isoformat()
    logged = tables.get(day_partition(day), decision_row(sid, MAPPING, 1)).properties
    assert (logged["old_points"], logged["points"], logged["decision"]) == (0.0, 6.0, "overridden")
    record = load_submission(tables, sid)
    assert record.scores is not None
    assert (record.scores["percent"], record.scores["provisional"]) == (6.0, False)
    report = services.blobs.read(SETTINGS.reports_container, report_blob_name(sid))
    assert report == b"report for Ada Lovelace: 6 points"


def test_a_repeated_override_leaves_every_row_as_it_was(services: Services) -> None:
    sid = _graded(services)
    assert _put(services, sid, 3, reviewer=1) == 200
    partition = services.tables.query_partition(submission_partition(sid))
    assert _put(services, sid, 3, reviewer=1, etag='"v0"') == 200
    assert services.tables.query_partition(submission_partition(sid)) == partition


def test_of_overrides_racing_from_one_etag_on_azurite_exactly_one_wins(services: Services) -> None:
    sid = _graded(services)
    barrier = threading.Barrier(4)
    statuses: list[int] = []
    lock = threading.Lock()

    def decide(reviewer: int) -> None:
        barrier.wait()
        status = _put(services, sid, reviewer, reviewer=reviewer)
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 412, 412, 412]
    review = services.tables.get(submission_partition(sid), review_row(MAPPING)).properties
    winner = int(str(review["reviewed_by"]).removeprefix("reviewer").split("@")[0])
    assert review["points"] == float(winner)
    report = services.blobs.read(SETTINGS.reports_container, report_blob_name(sid))
    assert report == f"report for Ada Lovelace: {winner} points".encode()
