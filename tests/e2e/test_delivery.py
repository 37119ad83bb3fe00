"""At-least-once and concurrency on the local stack: duplicates change nothing, races render once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage

from samples.workbooks import template_workbook
from shared.bank import ItemKind, load_bank
from tests.e2e.conftest import FUNCTION_KEY, MASTER_KEY, Stack, eventually

pytestmark = pytest.mark.e2e
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _blob_upload(stack: Stack, data: bytes, name: str) -> tuple[str, dict[str, Any]]:
    written = stack.blobs.get_blob_client("answer-sheets", name).upload_blob(data, overwrite=True)

    def found() -> dict[str, Any] | None:
        response = stack.get("/api/uploads", params={"blob": name, "etag": written["etag"]})
        return response.json() if response.status_code == 200 else None

    upload_id = str(eventually(found)["upload_id"])
    return upload_id, stack.wait_finished(upload_id)


def _graded_sample(stack: Stack, sample: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Upload one single-candidate sample over HTTP; its accepted body and its graded submission."""
    accepted = stack.http.post(
        "/api/uploads",
        params={"filename": sample},
        content=(SAMPLES / sample).read_bytes(),
        headers={"x-functions-key": FUNCTION_KEY},
    ).json()
    [submission] = stack.wait_finished(accepted["upload_id"])["submissions"]
    return accepted, submission


def _rewind_scenarios(stack: Stack, submission_id: str) -> None:
    """Put a graded submission back to grading with its scenarios section not done."""
    table = stack.tables.get_table_client(stack.table_name)
    entity = table.get_entity(f"sub|{submission_id}", "submission")
    entity.update({"status": "grading", "done_scenarios": False, "completed_by": ""})
    table.upsert_entity(entity)


def _report_etag(stack: Stack, submission_id: str) -> str:
    props = stack.blobs.get_blob_client("reports", f"{submission_id}.docx").get_blob_properties()
    return str(props.etag)


def _executions(stack: Stack, function: str) -> int:
    return stack.host.log().count(f"Executed 'Functions.{function}' (Succeeded")


def _send(stack: Stack, body: dict[str, str], message_id: str) -> None:
    connection = stack.host.settings["READYCHECK_SERVICEBUS"]
    with (
        ServiceBusClient.from_connection_string(connection) as client,
        client.get_queue_sender("grading") as sender,
    ):
        sender.send_messages(ServiceBusMessage(json.dumps(body), message_id=message_id))


def test_the_same_blob_event_twice_grades_once(stack: Stack) -> None:
    name = f"twice/{datetime.now(UTC):%H%M%S%f}/ben.xlsx"
    upload_id, status = _blob_upload(stack, (SAMPLES / "candidate-ben-carter.xlsx").read_bytes(), name)
    [submission] = status["submissions"]
    etag = _report_etag(stack, submission["submission_id"])
    before = _executions(stack, "ingest_workbook")
    # Past the host's blob receipt, as when a second host (or a lost receipt) sees the event again.
    response = stack.http.post(
        "/admin/functions/ingest_workbook",
        json={"input": f"answer-sheets/{name}"},
        headers={"x-functions-key": MASTER_KEY},
    )
    assert response.status_code == 202, response.text
    eventually(lambda: _executions(stack, "ingest_workbook") > before)
    again = stack.upload_status(upload_id)
    assert again["submissions"] == status["submissions"]
    assert _report_etag(stack, submission["submission_id"]) == etag


def test_a_duplicated_grading_message_changes_nothing(stack: Stack) -> None:
    accepted, submission = _graded_sample(stack, "candidate-amara-okafor.xlsx")
    sid = submission["submission_id"]
    etag = _report_etag(stack, sid)
    body = {"upload_id": accepted["upload_id"], "submission_id": sid, "section": "scenarios"}
    before = _executions(stack, "grade_section")
    _send(stack, body, f"duplicate-{sid}")
    eventually(lambda: _executions(stack, "grade_section") > before)
    assert _report_etag(stack, sid) == etag
    assert stack.get(f"/api/submissions/{sid}").json()["scores"] == submission["scores"]


def test_a_grader_killed_after_storing_its_result_is_finished_by_redelivery(stack: Stack) -> None:
    accepted, submission = _graded_sample(stack, "candidate-chen-wei.xlsx")
    sid = submission["submission_id"]
    # The state a grader leaves when killed between upserting its result and recording progress.
    _rewind_scenarios(stack, sid)
    _send(
        stack,
        {"upload_id": accepted["upload_id"], "submission_id": sid, "section": "scenarios"},
        f"redelivered-{sid}",
    )

    def graded() -> dict[str, Any] | None:
        detail = stack.get(f"/api/submissions/{sid}").json()
        return detail if detail["status"] == "graded" else None

    detail = eventually(graded)
    assert detail["scores"] == submission["scores"]
    reports = [b.name for b in stack.blobs.get_container_client("reports").list_blobs(name_starts_with=sid)]
    assert reports == [f"{sid}.docx"]


def test_fifty_workbooks_uploaded_at_once_are_each_graded_exactly_once(stack: Stack) -> None:
    bank = load_bank()
    choice = [i for i in bank.items if i.kind is ItemKind.SINGLE_CHOICE]
    workbooks = [
        template_workbook(
            bank,
            {i.id: i.answer[0] for i in choice[: 1 + n % len(choice)]},
            {},
            candidate={"name": f"Load Candidate {n}", "email": f"load{n}@example.com"},
        )
        for n in range(50)
    ]

    def post(data: bytes) -> str:
        response = stack.http.post(
            "/api/uploads",
            params={"filename": "load.xlsx"},
            content=data,
            headers={"x-functions-key": FUNCTION_KEY},
        )
        assert response.status_code == 202
        return str(response.json()["upload_id"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        upload_ids = list(pool.map(post, workbooks))
    statuses = [stack.wait_finished(u, timeout=240) for u in upload_ids]
    assert [s["status"] for s in statuses] == ["graded"] * 50
    submission_ids = {s["submissions"][0]["submission_id"] for s in statuses}
    assert len(submission_ids) == 50
    log = stack.host.log()
    assert sum(log.count(f"submission graded submission_id={sid}") for sid in submission_ids) == 50


def test_a_submission_stuck_in_grading_is_recovered_by_the_sweeper(stack: Stack) -> None:
    accepted, submission = _graded_sample(stack, "candidate-ben-carter.xlsx")
    sid = submission["submission_id"]
    # A section message lost for good an hour ago: no result, not in progress, still in flight.
    _rewind_scenarios(stack, sid)
    table = stack.tables.get_table_client(stack.table_name)
    table.delete_entity(f"sub|{sid}", "result|scenarios")
    table.upsert_entity(
        {
            "PartitionKey": "inflight",
            "RowKey": sid,
            "upload_id": accepted["upload_id"],
            "since": "2000-01-01T00:00:00+00:00",
            "resends": 0,
        }
    )
    response = stack.http.post(
        "/admin/functions/sweep_stuck_work", json={"input": ""}, headers={"x-functions-key": MASTER_KEY}
    )
    assert response.status_code == 202

    def graded() -> dict[str, Any] | None:
        detail = stack.get(f"/api/submissions/{sid}").json()
        return detail if detail["status"] == "graded" else None

    assert eventually(graded)["scores"] == submission["scores"]
    assert "scenarios" in eventually(graded)["sections_done"]
