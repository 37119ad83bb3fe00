"""The offline grader's files, messages and exit codes on good and bad workbooks."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import docx
import pytest

from readycheck_cli.offline_grader import LIST_LIMIT, grade_workbook, offline_settings
from samples.workbooks import ms_forms_export, template_workbook
from shared.adapters.core_engine import CoreEngine
from shared.attempts import Attempt
from shared.bank import Bank, load_bank
from shared.errors import GradingError
from shared.ports import FinishedSubmission
from shared.settings import Settings
from shared.submission import Submission

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


def run(path: Path, out: Path, list_limit: int = LIST_LIMIT) -> tuple[int, str]:
    stream = io.StringIO()
    status = grade_workbook(path, out, stream, offline_settings({}), list_limit=list_limit)
    return status, stream.getvalue()


def test_a_clean_workbook_exits_zero_with_a_report_and_summary(bank: Bank, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.xlsx"
    sheet.write_bytes(template_workbook(bank, {"map-lambda": "Azure Functions"}, {"serverless": 3}))
    status, said = run(sheet, tmp_path / "out")
    assert status == 0, said
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    (candidate,) = summary["candidates"]
    assert candidate["email"] == "ada@example.com"
    assert candidate["verdict"] == "Not yet"
    assert set(candidate["areas"]) == {"python", "azure", "architecture"}
    assert candidate["problems"] == []
    report = docx.Document(tmp_path / "out" / candidate["report"])
    assert "Ada Lovelace" in [p.text for p in report.paragraphs]
    assert "Ada Lovelace: " in said
    assert "summary.json" in said


def test_submission_problems_exit_one_and_are_listed(bank: Bank, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.xlsx"
    sheet.write_bytes(template_workbook(bank, {"map-lambda": "Functions"}, {"serverless": 9}))
    status, said = run(sheet, tmp_path / "out")
    assert status == 1
    assert "problem (ada@example.com): sheet 'Self-Assessment'" in said
    assert said.count("outside 1-5") == 1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    assert summary["candidates"][0]["problems"] == [
        "sheet 'Self-Assessment', row 14, column 'D': "
        "confidence for topic serverless is 9, outside 1-5; ignored"
    ]


def test_a_file_that_is_not_a_workbook_exits_two_with_a_plain_message(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.xlsx"
    bogus.write_text("just some text, not a spreadsheet")
    status, said = run(bogus, tmp_path / "out")
    assert status == 2
    assert said.startswith(f"error: {bogus} was rejected: ")
    assert not (tmp_path / "out" / "summary.json").exists()


def test_a_missing_file_exits_two(tmp_path: Path) -> None:
    status, said = run(tmp_path / "absent.xlsx", tmp_path / "out")
    assert status == 2
    assert "cannot read" in said


def test_large_cohorts_show_progress_and_counts_instead_of_names(bank: Bank, tmp_path: Path) -> None:
    rows = [
        {"email": f"p{n}@example.com", "name": f"Person {n}", "answers": {"map-s3": "Blob Storage"}}
        for n in range(4)
    ]
    export = tmp_path / "forms.xlsx"
    export.write_bytes(ms_forms_export(bank, rows))
    status, said = run(export, tmp_path / "out", list_limit=2)
    assert status == 0, said
    assert "graded 4 of 4" in said
    assert "4 Not yet" in said
    assert "Person 1:" not in said
    assert len(list((tmp_path / "out").glob("*.docx"))) == 4


def test_the_command_line_never_shows_a_traceback(tmp_path: Path) -> None:
    bogus = tmp_path / "bad.xlsx"
    bogus.write_bytes(b"PK\x03\x04 broken zip")
    done = subprocess.run(
        [sys.executable, "-m", "readycheck_cli", "grade", str(bogus), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "rejected" in done.stderr


def test_the_summary_carries_every_items_result_with_its_evidence(bank: Bank, tmp_path: Path) -> None:
    swapped = "Django is the async-native ASGI one while FastAPI is the WSGI one."
    explained = "Django is batteries-included: its ORM, admin site and migrations save weeks."
    sheet = tmp_path / "sheet.xlsx"
    sheet.write_bytes(template_workbook(bank, {"iq-django-vs-fastapi": f"{explained} {swapped}"}, {}))
    status, said = run(sheet, tmp_path / "out")
    assert status == 0, said
    (candidate,) = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))["candidates"]
    items = {i["item_id"]: i for i in candidate["items"]}
    assert set(items) == {item.id for item in bank.items}
    django = items["iq-django-vs-fastapi"]
    assert django["max_points"] == bank.item("iq-django-vs-fastapi").points
    assert [m["quote"] for m in django["misstatements"]] == ["Django is the async-native ASGI one"]
    assert any("batteries-included" in c["quote"] for c in django["credited"])
    assert {"needs_review", "review_reason", "status", "points"} <= set(django)


class EngineThatCannotFinish(CoreEngine):
    """The app's engine, except that rendering fails for one candidate."""

    def __init__(self, settings: Settings, email: str) -> None:
        super().__init__(settings)
        self._email = email

    def finish(
        self, submission: Submission, section_results: Sequence[str], history: Sequence[Attempt] = ()
    ) -> FinishedSubmission:
        if submission.candidate.email == self._email:
            raise GradingError("the report could not be rendered")
        return super().finish(submission, section_results, history)


def test_a_candidate_that_cannot_be_graded_is_listed_and_the_others_still_get_reports(
    bank: Bank, tmp_path: Path
) -> None:
    rows = [
        {"email": f"p{n}@example.com", "name": f"Person {n}", "answers": {"map-s3": "Blob Storage"}}
        for n in range(3)
    ]
    export = tmp_path / "forms.xlsx"
    export.write_bytes(ms_forms_export(bank, rows))
    settings = offline_settings({})
    engine = EngineThatCannotFinish(settings, "p1@example.com")
    stream = io.StringIO()
    status = grade_workbook(export, tmp_path / "out", stream, settings, engine=engine)
    assert status == 1
    said = stream.getvalue()
    assert "problem (p1@example.com): not graded: the report could not be rendered" in said
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    graded = {c["email"]: "verdict" in c for c in summary["candidates"]}
    assert graded == {"p0@example.com": True, "p1@example.com": False, "p2@example.com": True}
    assert len(list((tmp_path / "out").glob("*.docx"))) == 2
