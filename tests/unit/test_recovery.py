"""Ingests that cannot finish end ``failed`` with a located reason, and an admin can run them again."""

from __future__ import annotations

import json

import pytest

from shared.api_handlers import upload_status
from shared.errors import InvalidMessage, TransientServiceError
from shared.ingest import ingest_blob, upload_id_for
from shared.records import INGESTING_PARTITION, UPLOAD_ROW, upload_partition
from shared.recovery import fail_poisoned_blob, reingest_request, sweep_stalled_ingests
from tests.fakes import World, drain


def _poison(world: World, blob_name: str) -> str:
    etag = world.blobs.info(world.settings.answer_sheets_container, blob_name).etag
    return json.dumps(
        {
            "Type": "BlobTrigger",
            "ContainerName": world.settings.answer_sheets_container,
            "BlobName": blob_name,
            "ETag": etag,
        }
    )


def _status(world: World, upload_id: str) -> dict[str, object]:
    from shared.access import EVERYONE

    body: dict[str, object] = json.loads(upload_status(world.services, upload_id, EVERYONE).body)
    return body


def _outage_during_ingest(world: World, blob_name: str) -> str:
    """Ingest once with Service Bus down; the host would retry, then poison the blob."""
    world.stage(blob_name, "Ada Lovelace", "Alan Turing")
    world.sender.fail_next = TransientServiceError("Service Bus queue grading: connection refused")
    with pytest.raises(TransientServiceError):
        ingest_blob(world.services, blob_name)
    etag = world.blobs.info(world.settings.answer_sheets_container, blob_name).etag
    return upload_id_for(blob_name, etag)


def test_a_poisoned_blob_fails_its_upload_naming_the_blob_the_error_and_the_way_back() -> None:
    world = World()
    upload_id = _outage_during_ingest(world, "sheet.xlsx")
    assert _status(world, upload_id)["status"] == "received"
    assert fail_poisoned_blob(world.services, _poison(world, "sheet.xlsx")) == upload_id
    status = _status(world, upload_id)
    assert status["status"] == "failed"
    message = str(status["message"])
    assert "answer-sheets/sheet.xlsx" in message
    assert "connection refused" in message
    assert f"/api/uploads/{upload_id}/reingest" in message
    assert world.tables.query_partition(INGESTING_PARTITION) == []


def test_a_poisoned_blob_of_a_finished_upload_changes_nothing() -> None:
    world = World()
    world.stage("sheet.xlsx", "Ada Lovelace")
    upload_id = ingest_blob(world.services, "sheet.xlsx")
    assert upload_id is not None
    drain(world)
    fail_poisoned_blob(world.services, _poison(world, "sheet.xlsx"))
    assert _status(world, upload_id)["status"] == "graded"


def test_a_malformed_poison_message_is_invalid() -> None:
    with pytest.raises(InvalidMessage):
        fail_poisoned_blob(World().services, b"not json")


def test_the_sweeper_fails_an_ingest_stalled_past_the_limit_and_leaves_recent_ones() -> None:
    world = World()
    upload_id = _outage_during_ingest(world, "sheet.xlsx")
    assert sweep_stalled_ingests(world.services) == 0
    world.clock.advance(minutes=world.settings.stuck_grading_minutes + 1)
    assert sweep_stalled_ingests(world.services) == 1
    assert _status(world, upload_id)["status"] == "failed"
    assert "did not finish within 30 minutes" in str(_status(world, upload_id)["message"])
    assert sweep_stalled_ingests(world.services) == 0


def test_a_finished_ingest_leaves_nothing_for_the_sweeper() -> None:
    world = World()
    world.stage("sheet.xlsx", "Ada Lovelace")
    ingest_blob(world.services, "sheet.xlsx")
    assert world.tables.query_partition(INGESTING_PARTITION) == []


def test_a_reingest_after_the_outage_grades_every_submission_once() -> None:
    world = World()
    upload_id = _outage_during_ingest(world, "sheet.xlsx")
    fail_poisoned_blob(world.services, _poison(world, "sheet.xlsx"))
    result = reingest_request(world.services, upload_id)
    assert result.status == 200, result.body
    assert json.loads(result.body)["status"] == "grading"
    drain(world)
    status = _status(world, upload_id)
    assert status["status"] == "graded"
    assert status["message"] == ""
    assert len(status["submissions"]) == 2  # type: ignore[arg-type]
    reports = [n for (c, n) in world.blobs.writes if c == world.settings.reports_container]
    assert len(reports) == len(set(reports)) == 2


def test_only_a_failed_or_stalled_upload_can_be_reingested() -> None:
    world = World()
    world.stage("sheet.xlsx", "Ada Lovelace")
    upload_id = ingest_blob(world.services, "sheet.xlsx")
    assert upload_id is not None
    assert reingest_request(world.services, upload_id).status == 409
    assert reingest_request(world.services, "0" * 32).status == 404
    assert reingest_request(world.services, "../etc").status == 404


def test_a_reingest_during_the_outage_raises_and_leaves_the_upload_watched() -> None:
    world = World()
    upload_id = _outage_during_ingest(world, "sheet.xlsx")
    fail_poisoned_blob(world.services, _poison(world, "sheet.xlsx"))
    world.sender.fail_next = TransientServiceError("still down")
    with pytest.raises(TransientServiceError):
        reingest_request(world.services, upload_id)
    upload = world.tables.get(upload_partition(upload_id), UPLOAD_ROW)
    assert upload.properties["status"] == "received"
    assert [r.row_key for r in world.tables.query_partition(INGESTING_PARTITION)] == [upload_id]
