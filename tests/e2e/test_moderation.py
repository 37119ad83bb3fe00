"""Human moderation end to end: a routed answer, the queue, an override that regenerates the report."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from docx import Document

from samples.workbooks import template_workbook
from shared.bank import Bank, Item, ItemKind, load_bank
from tests.e2e.conftest import FUNCTION_KEY, MASTER_KEY, Stack
from tests.plans import plan_for

pytestmark = pytest.mark.e2e
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
REVIEW_NOTICE = "A reviewer will look again"


def _docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def _phrasings(bank: Bank) -> list[tuple[Item, str]]:
    """Answers likely to be routed to a person: names wrapped in words, then the cohort's thin answers."""
    from shared.adapters.workbook_parser import parse_workbook
    from shared.settings import ParseLimits

    items = {i.id: i for i in bank.items}
    wrapped = [
        (item, f"I would probably go with {name} for this, depending on the team")
        for item in bank.items
        if item.kind is ItemKind.SHORT_ANSWER
        for name in (*item.answer, *item.aliases)[:1]
    ]
    cohort = parse_workbook(
        (SAMPLES / "ms-forms-cohort.xlsx").read_bytes(), bank, ParseLimits.from_env({}), source_name="cohort"
    )
    thin = [(items[a.item_id], a.text) for s in cohort.submissions for a in s.answers if a.text.strip()]
    return wrapped + thin


def _routed_answer(bank: Bank) -> tuple[Item, str]:
    """An item and an answer the current grader routes to review (so the test follows the grader)."""
    from shared.grading import grade_section
    from shared.submission import Answer, Candidate, SheetFormat, Submission

    for item, text in _phrasings(bank):
        probe = Submission(
            submission_key="probe",
            candidate=Candidate(name="Probe", email="probe@example.com"),
            source_format=SheetFormat.TEMPLATE,
            answers=(Answer(item_id=item.id, text=text),),
        )
        graded = grade_section(probe, item.section, plan_for(bank))
        if next(r for r in graded.items if r.item_id == item.id).needs_review:
            return item, text
    pytest.fail("no answer among the phrasings is routed to review by the current grader")


def _put(stack: Stack, url: str, etag: str | None, points: float, reason: str) -> httpx.Response:
    headers = {"x-functions-key": FUNCTION_KEY, "content-type": "application/json"}
    if etag is not None:
        headers["If-Match"] = etag
    return stack.http.put(url, headers=headers, content=json.dumps({"points": points, "reason": reason}))


def _graded_with_routed_answer(stack: Stack) -> tuple[dict[str, Any], Item]:
    bank = load_bank()
    item, text = _routed_answer(bank)
    email = f"rhea.{uuid.uuid4().hex[:8]}@example.com"
    workbook = template_workbook(bank, {item.id: text}, {}, {"name": "Rhea Routed", "email": email})
    accepted = stack.http.post(
        "/api/uploads",
        params={"filename": "rhea.xlsx"},
        content=workbook,
        headers={"x-functions-key": FUNCTION_KEY},
    )
    assert accepted.status_code == 202, accepted.text
    status = stack.wait_finished(accepted.json()["upload_id"])
    assert status["status"] == "graded"
    [submission] = status["submissions"]
    return {**submission, "upload_id": status["upload_id"]}, item


def test_a_reviewer_override_regenerates_the_report_and_ends_the_provisional_verdict(stack: Stack) -> None:
    submission, item = _graded_with_routed_answer(stack)
    sid = submission["submission_id"]
    assert submission["scores"]["provisional"] is True
    before = stack.get(submission["report_url"])
    assert REVIEW_NOTICE in _docx_text(before.content)

    queue = stack.get("/api/reviews", params={"upload": submission["upload_id"]})
    assert queue.status_code == 200, queue.text
    [entry] = [r for r in queue.json()["reviews"] if r["item_id"] == item.id]
    assert entry["state"] == "awaiting"

    # Whatever the grader gave, the reviewer gives the other end of the scale: a real override.
    points = entry["max_points"] if entry["graded_points"] < entry["max_points"] else 0.0
    missing = _put(stack, entry["url"], None, points, "read again by a person")
    assert missing.status_code == 428
    decided = _put(stack, entry["url"], entry["etag"], points, "read again by a person")
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"] == "overridden"
    stale = _put(stack, entry["url"], entry["etag"], points / 2, "a second opinion from a stale page")
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")

    detail = stack.get(f"/api/submissions/{sid}").json()
    assert detail["scores"]["provisional"] is False
    assert detail["scores"]["percent"] != submission["scores"]["percent"]
    after = stack.get(submission["report_url"])
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert REVIEW_NOTICE not in _docx_text(after.content)
    assert "A reviewer" in _docx_text(after.content)
    reports = [b.name for b in stack.blobs.get_container_client("reports").list_blobs(name_starts_with=sid)]
    assert reports == [f"{sid}.docx"]

    exported = stack.get("/api/reviews/export")
    assert exported.status_code == 200
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [(x["item_id"], x["grade"]) for x in lines if x["submission_id"] == sid] == [(item.id, points)]

    today = datetime.now(UTC).date().isoformat()
    built = stack.http.post(f"/api/digests/{today}", headers={"x-functions-key": MASTER_KEY})
    assert built.status_code == 201, built.text
    digest = _docx_text(stack.get(f"/api/digests/{today}").content)
    assert "Items overridden by reviewers" in digest


def test_the_review_routes_need_the_function_key(stack: Stack) -> None:
    assert stack.http.get("/api/reviews").status_code == 401
    assert stack.http.get("/api/reviews/export").status_code == 401
    assert stack.http.put(f"/api/submissions/{'0' * 32}/items/x", content=b"{}").status_code == 401
