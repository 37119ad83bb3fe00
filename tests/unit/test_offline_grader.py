"""The offline grader's files, messages and exit codes on good and bad workbooks."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import docx
import pytest

from shared.bank import Bank, load_bank
from shared.offline_grader import grade_workbook
from tests.workbooks import ms_forms_export, template_workbook

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


def run(path: Path, out: Path, **kwargs: int) -> tuple[int, str]:
    stream = io.StringIO()
    status = grade_workbook(path, out, stream, **kwargs)
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
        [sys.executable, "-m", "shared", "grade", str(bogus), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "rejected" in done.stderr
