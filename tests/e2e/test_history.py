"""End to end on the local stack: a candidate who practises and uploads again sees their progress."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from docx import Document

from samples.workbooks import AnswerValue, template_workbook
from shared.bank import ItemKind, load_bank
from shared.records import candidate_id_for
from shared.submission import Candidate
from tests.e2e.conftest import FUNCTION_KEY, Stack

pytestmark = pytest.mark.e2e


def _sheet(email: str, correct: int) -> bytes:
    """A template answered by one candidate: the first ``correct`` choice items right, the rest blank."""
    bank = load_bank()
    choice = [i for i in bank.items if i.kind in (ItemKind.SINGLE_CHOICE, ItemKind.MULTIPLE_CHOICE)]
    answers: dict[str, AnswerValue] = {i.id: list(i.answer) for i in choice[:correct]}
    return template_workbook(
        bank, answers, {}, Candidate(name="Pat Practice", email=email, date="2026-11-20")
    )


def _graded(stack: Stack, data: bytes, name: str) -> dict[str, Any]:
    response = stack.http.post(
        "/api/uploads", params={"filename": name}, content=data, headers={"x-functions-key": FUNCTION_KEY}
    )
    assert response.status_code == 202, response.text
    status = stack.wait_finished(response.json()["upload_id"])
    assert status["status"] == "graded", status
    [submission] = status["submissions"]
    return dict(submission)


def test_a_second_improved_upload_by_the_same_candidate_gets_a_report_with_the_trend(stack: Stack) -> None:
    email = f"pat.{datetime.now(UTC):%H%M%S%f}@example.com"
    first = _graded(stack, _sheet(email, 3), "pat-monday.xlsx")
    second = _graded(stack, _sheet(email, 40), "pat-tuesday.xlsx")
    assert second["scores"]["percent"] > first["scores"]["percent"]

    report = Document(io.BytesIO(stack.get(second["report_url"]).content))
    text = [p.text for p in report.paragraphs]
    assert "Since your last attempt" in text
    assert any(t.startswith("Improved: ") for t in text)
    trend = next(t for t in report.tables if t.rows[0].cells[0].text == "Attempt")
    assert len(trend.rows) == 3
    first_report = Document(io.BytesIO(stack.get(first["report_url"]).content))
    assert "Since your last attempt" not in [p.text for p in first_report.paragraphs]

    history = stack.get(f"/api/candidates/{candidate_id_for(email)}/history")
    assert history.status_code == 200
    attempts = history.json()["attempts"]
    assert [a["submission_id"] for a in attempts] == [first["submission_id"], second["submission_id"]]
    assert [a["report_url"] for a in attempts] == [first["report_url"], second["report_url"]]
