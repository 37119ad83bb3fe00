"""End to end on the local stack: both upload paths, every format, reports, digests, failures."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from docx import Document

from tests.e2e.conftest import FUNCTION_KEY, MASTER_KEY, Stack, eventually

pytestmark = pytest.mark.e2e
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def _post_upload(stack: Stack, data: bytes, filename: str) -> dict[str, Any]:
    response = stack.http.post(
        "/api/uploads", params={"filename": filename}, content=data, headers={"x-functions-key": FUNCTION_KEY}
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["Location"] == body["status_url"]
    return body


def test_a_single_candidate_uploaded_over_http_gets_a_report_naming_them(stack: Stack) -> None:
    accepted = _post_upload(stack, (SAMPLES / "candidate-amara-okafor.xlsx").read_bytes(), "amara.xlsx")
    status = stack.wait_finished(accepted["upload_id"])
    assert status["status"] == "graded"
    assert status["source_format"] == "template"
    [submission] = status["submissions"]
    assert submission["scores"]["verdict"] == "Ready"
    report = stack.get(submission["report_url"])
    assert report.status_code == 200
    assert report.headers["content-type"].startswith(DOCX)
    assert report.headers["content-disposition"].startswith("attachment; filename=")
    assert "Amara Okafor" in _docx_text(report.content)
    again = stack.get(submission["report_url"], headers={"If-None-Match": report.headers["etag"]})
    assert again.status_code == 304
    detail = stack.get(f"/api/submissions/{submission['submission_id']}").json()
    assert detail["status"] == "graded"
    assert detail["scores"] == submission["scores"]


def test_a_forms_cohort_put_straight_into_storage_grades_every_respondent(stack: Stack) -> None:
    name = f"direct/{datetime.now(UTC):%H%M%S%f}/ms-forms-cohort.xlsx"
    written = stack.blobs.get_blob_client("answer-sheets", name).upload_blob(
        (SAMPLES / "ms-forms-cohort.xlsx").read_bytes()
    )

    def found() -> dict[str, Any] | None:
        response = stack.get("/api/uploads", params={"blob": name, "etag": written["etag"]})
        return response.json() if response.status_code == 200 else None

    upload_id = eventually(found)["upload_id"]
    # The name alone is guessable: without the blob's ETag a key holder learns nothing.
    assert stack.get("/api/uploads", params={"blob": name}).status_code == 404
    status = stack.wait_finished(upload_id, timeout=120)
    assert status["status"] == "graded"
    assert status["source_format"] == "ms_forms"
    assert len(status["submissions"]) >= 2
    for submission in status["submissions"]:
        report = stack.get(submission["report_url"])
        assert report.status_code == 200
        assert report.content.startswith(b"PK")


def test_a_google_forms_export_is_graded(stack: Stack) -> None:
    from samples.workbooks import google_forms_export
    from shared.bank import load_bank

    bank = load_bank()
    first = bank.items[0]
    rows = [
        {
            "email": "gf@example.com",
            "name": "Gia Forms",
            "answers": {first.id: first.answer[0] if first.answer else "x"},
        }
    ]
    accepted = _post_upload(stack, google_forms_export(bank, rows), "google.xlsx")
    status = stack.wait_finished(accepted["upload_id"])
    assert status["status"] == "graded"
    assert status["source_format"] == "google_forms"


def _empty_workbook() -> bytes:
    from openpyxl import Workbook

    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


def _bomb() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<a>" + " " * 50_000_000 + "</a>")
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [b"PK\x03\x04 this is not really a zip", _empty_workbook(), _bomb()],
    ids=["not-a-zip", "empty-workbook", "zip-bomb"],
)
def test_a_bad_file_ends_rejected_with_its_problems_and_the_app_keeps_serving(
    stack: Stack, data: bytes
) -> None:
    accepted = _post_upload(stack, data, "bad.xlsx")
    status = stack.wait_finished(accepted["upload_id"])
    assert status["status"] == "rejected"
    assert status["message"]
    assert status["problems"]
    assert status["submissions"] == []
    assert stack.get("/api/health").status_code == 200


def test_data_routes_need_the_function_key(stack: Stack) -> None:
    anonymous = stack.http.get(f"/api/uploads/{'0' * 32}")
    wrong = stack.http.get(f"/api/uploads/{'0' * 32}", headers={"x-functions-key": "wrong"})
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert stack.get(f"/api/uploads/{'0' * 32}").status_code == 404


def test_health_template_and_openapi_are_anonymous(stack: Stack) -> None:
    health = stack.http.get("/api/health")
    assert health.status_code == 200
    assert health.json()["checks"] == {"storage": "ok", "servicebus": "ok"}
    template = stack.http.get("/api/template")
    assert template.status_code == 200
    assert template.content.startswith(b"PK")
    assert "/api/uploads" in stack.http.get("/api/openapi.json").json()["paths"]


def test_unknown_ids_are_404_problem_details(stack: Stack) -> None:
    for path in (f"/api/submissions/{'0' * 32}", f"/api/submissions/{'0' * 32}/report", "/api/uploads/nope"):
        response = stack.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")


def test_traversal_in_ids_and_names_reaches_nothing(stack: Stack) -> None:
    for path in (
        "/api/submissions/..%2F..%2Fhost.json/report",
        "/api/uploads/..%2F..%2Flocal.settings.sample.json",
        "/api/digests/..%2F..%2Fhost.json",
    ):
        response = stack.get(path)
        assert response.status_code in (400, 404), path
        assert b"READYCHECK" not in response.content
        assert b"extensionBundle" not in response.content
    found = stack.get("/api/uploads", params={"blob": "../../host.json"})
    assert found.status_code == 404


def test_the_admin_digest_of_today_counts_todays_uploads(stack: Stack) -> None:
    accepted = _post_upload(stack, (SAMPLES / "candidate-ben-carter.xlsx").read_bytes(), "ben.xlsx")
    stack.wait_finished(accepted["upload_id"])
    today = datetime.now(UTC).date().isoformat()
    assert (
        stack.http.post(f"/api/digests/{today}", headers={"x-functions-key": FUNCTION_KEY}).status_code == 401
    )
    built = stack.http.post(f"/api/digests/{today}", headers={"x-functions-key": MASTER_KEY})
    assert built.status_code == 201, built.text
    digest = stack.get(f"/api/digests/{today}")
    assert digest.status_code == 200
    text = _docx_text(digest.content)
    assert f"ReadyCheck daily digest: {today}" in text
    assert "Who most needs help" in text
    rebuilt = stack.http.post(f"/api/digests/{today}", headers={"x-functions-key": MASTER_KEY})
    assert rebuilt.status_code == 201
    assert stack.get(f"/api/digests/{today}").content == stack.get(f"/api/digests/{today}").content


def test_an_empty_day_has_a_short_digest(stack: Stack) -> None:
    built = stack.http.post("/api/digests/2001-01-01", headers={"x-functions-key": MASTER_KEY})
    assert built.status_code == 201
    text = _docx_text(stack.get("/api/digests/2001-01-01").content)
    assert "No answer sheets arrived on this day." in text


def test_a_section_that_always_fails_is_dead_lettered_and_its_submission_fails(stack: Stack) -> None:
    from azure.servicebus import ServiceBusClient, ServiceBusMessage

    accepted = _post_upload(stack, (SAMPLES / "candidate-chen-wei.xlsx").read_bytes(), "chen.xlsx")
    upload_id = accepted["upload_id"]
    [submission] = stack.wait_finished(upload_id)["submissions"]
    submission_id = submission["submission_id"]
    # Make the stored answers unreadable and the submission grading again: every delivery fails.
    table = stack.tables.get_table_client(stack.table_name)
    entity = table.get_entity(f"sub|{submission_id}", "submission")
    entity.update({"status": "grading", "payload0": "not json"})
    entity.update({k: False for k in entity if k.startswith("done_")})
    table.upsert_entity(entity)
    table.delete_entity(f"sub|{submission_id}", "result|quiz")
    connection = stack.host.settings["READYCHECK_SERVICEBUS"]
    body = json.dumps({"upload_id": upload_id, "submission_id": submission_id, "section": "quiz"})
    with (
        ServiceBusClient.from_connection_string(connection) as client,
        client.get_queue_sender("grading") as sender,
    ):
        sender.send_messages(ServiceBusMessage(body, message_id=f"poison-{submission_id}"))

    def failed() -> dict[str, Any] | None:
        detail = stack.get(f"/api/submissions/{submission_id}").json()
        return detail if detail["status"] == "failed" else None

    detail = eventually(failed, timeout=90)
    assert "quiz" in detail["reason"]
    report = stack.get(f"/api/submissions/{submission_id}/report")
    assert report.status_code == 422
    assert stack.upload_status(upload_id)["status"] == "partially_graded"


def test_reports_are_served_only_with_the_key(stack: Stack) -> None:
    accepted = _post_upload(stack, (SAMPLES / "candidate-ben-carter.xlsx").read_bytes(), "ben2.xlsx")
    [submission] = stack.wait_finished(accepted["upload_id"])["submissions"]
    assert httpx.get(stack.host.base_url + submission["report_url"]).status_code == 401
