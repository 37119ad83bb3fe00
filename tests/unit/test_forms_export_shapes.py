"""Forms exports parse alike whatever their shape: shared or inline strings, date cells or text times."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bench.inputs import EXCEL_DATES, INLINE_STRINGS, LONG_TEXT, FormsShape, forms_rows
from bench.xlsx import write_xlsx
from samples.workbooks import ms_forms_export
from shared.adapters.workbook_parser import parse_workbook
from shared.bank import Bank, load_bank
from shared.settings import ParseLimits
from shared.submission import Answer, ParseResult, Submission

RESPONDENTS = 30


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


def export(tmp_path: Path, bank: Bank, shape: FormsShape) -> ParseResult:
    path = tmp_path / f"{shape.name}.xlsx"
    write_xlsx(path, "Form1", forms_rows(bank, RESPONDENTS, shape=shape), inline_strings=shape.inline_strings)
    return parse_workbook(path.read_bytes(), bank, ParseLimits())


def cells(answer: Answer) -> tuple[object, ...]:
    return (answer.item_id, answer.choices, answer.text, answer.sheet, answer.row, answer.column)


def test_inline_strings_parse_like_shared_strings(tmp_path: Path, bank: Bank) -> None:
    shared, inline = export(tmp_path, bank, EXCEL_DATES), export(tmp_path, bank, INLINE_STRINGS)
    assert len(shared.submissions) == len(inline.submissions) == RESPONDENTS
    for one, other in zip(shared.submissions, inline.submissions, strict=True):
        assert one.candidate == other.candidate
        assert [cells(a) for a in one.answers] == [cells(a) for a in other.answers]
        assert one.confidence == other.confidence
    assert shared.problems == inline.problems


def test_text_timestamps_give_the_same_days_as_date_cells(tmp_path: Path, bank: Bank) -> None:
    dated, texted = export(tmp_path, bank, EXCEL_DATES), export(tmp_path, bank, LONG_TEXT)
    assert [s.candidate for s in dated.submissions] == [s.candidate for s in texted.submissions]
    assert dated.submissions[0].candidate.date == "2026-03-02"


def test_long_open_answers_are_kept_whole(tmp_path: Path, bank: Bank) -> None:
    result = export(tmp_path, bank, LONG_TEXT)
    open_texts = [a.text for s in result.submissions for a in s.answers if not a.choices]
    assert max(len(text.split()) for text in open_texts) >= 80


def test_submissions_built_from_columns_equal_validated_ones(tmp_path: Path, bank: Bank) -> None:
    result = export(tmp_path, bank, EXCEL_DATES)
    taken = list(result.submissions)
    assert taken == list(result.submissions)
    assert list(result.submissions[2:5]) == taken[2:5]
    for submission in taken:
        assert Submission.model_validate(submission.model_dump()) == submission


def test_blank_points_and_feedback_columns_log_nothing(
    bank: Bank, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    rows = [{"email": "a@x.com", "answers": {"py-decorator-wraps": "C"}}]
    with caplog.at_level(logging.DEBUG):
        result = parse_workbook(ms_forms_export(bank, rows, points=True), bank, ParseLimits())
    assert len(result.submissions) == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []
    assert not [r for r in caplog.records if r.name.startswith("fastexcel")]
    assert capfd.readouterr().err == ""
