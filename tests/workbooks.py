"""Build test workbooks in code: a filled-in template, a Microsoft Forms and a Google Forms export.

Answers are given per item id: a choice key ("B") or a list of keys (["A", "C"]) for choice
items, text for short and open answers. A choice value that is not a key of the item is
written as it is, so tests can write unrecognised answers. Keep these signatures stable:
the grading, pipeline and benchmark tests build their inputs with them.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from shared.adapters.excel import build_template
from shared.answer_sheet import (
    CANDIDATE_FIELDS,
    HEADER_ANSWER,
    HEADER_CONFIDENCE,
    HEADER_ITEM_ID,
    HEADER_TOPIC_ID,
    SHEET_CANDIDATE,
)
from shared.bank import Bank, Item, ItemKind
from shared.submission import Candidate

AnswerValue = str | list[str]

DEFAULT_CANDIDATE = Candidate(
    name="Ada Lovelace",
    email="ada@example.com",
    target_role="Azure Python Technical Architect",
    date="2026-11-20",
)
MS_FORMS_HEADERS = {
    "id": "ID",
    "start": "Start time",
    "completion": "Completion time",
    "email": "Email",
    "name": "Name",
    "total": "Total points",
    "feedback": "Quiz feedback",
}
_BASE_TIME = datetime(2026, 11, 20, 9, 0, 0)


def template_workbook(
    bank: Bank,
    answers: Mapping[str, AnswerValue],
    confidence: Mapping[str, int],
    candidate: Candidate | Mapping[str, str] | None = None,
) -> bytes:
    """The ReadyCheck template filled in by one candidate, as .xlsx bytes."""
    from openpyxl import load_workbook

    who = _candidate(candidate)
    workbook = load_workbook(io.BytesIO(build_template(bank)))
    sheet = workbook[SHEET_CANDIDATE]
    labels = dict(CANDIDATE_FIELDS)
    for row in range(2, sheet.max_row + 1):
        for attr, label in labels.items():
            if sheet.cell(row=row, column=1).value == label:
                sheet.cell(row=row, column=2, value=getattr(who, attr) or None)
    remaining = dict(answers)
    for ws in workbook.worksheets:
        header = [cell.value for cell in ws[1]]
        if HEADER_ITEM_ID in header and HEADER_ANSWER in header:
            answer_col = header.index(HEADER_ANSWER) + 1
            for row in range(2, ws.max_row + 1):
                item_id = ws.cell(row=row, column=1).value
                if item_id in remaining:
                    ws.cell(row=row, column=answer_col, value=_template_answer(remaining.pop(item_id)))
        if HEADER_TOPIC_ID in header and HEADER_CONFIDENCE in header:
            rating_col = header.index(HEADER_CONFIDENCE) + 1
            for row in range(2, ws.max_row + 1):
                topic_id = ws.cell(row=row, column=1).value
                if topic_id in confidence:
                    ws.cell(row=row, column=rating_col, value=confidence[str(topic_id)])
    if remaining:
        raise KeyError(f"items not in the template: {sorted(remaining)}")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def ms_forms_export(
    bank: Bank,
    rows: Sequence[Mapping[str, object]],
    *,
    items: Sequence[str] | None = None,
    points: bool = True,
    headers: Mapping[str, str] | None = None,
    sheet_name: str = "Sheet1",
) -> bytes:
    """A Microsoft Forms quiz "Open in Excel" export: one response per row.

    Each row may hold ``email``, ``name``, ``id``, ``completion`` (datetime),
    ``answers`` ({item id: value}) and ``confidence`` ({topic id: 1-5}, written as
    "Confidence: <topic name>" columns for topics that any row rates). ``items`` picks the
    question columns (default: every item); ``points`` adds Total points, Quiz feedback and
    "Points - <question>" / "Feedback - <question>" columns, the Feedback one first for every
    other question as real exports do; ``headers`` overrides the metadata labels (localised).
    """
    labels = {**MS_FORMS_HEADERS, **(headers or {})}
    questions = _questions(bank, items)
    topics = _rated_topics(bank, rows)
    header: list[str] = [labels["id"], labels["start"], labels["completion"], labels["email"], labels["name"]]
    if points:
        header += [labels["total"], labels["feedback"]]
    for index, item in enumerate(questions):
        header.append(item.prompt)
        if points:
            extra = [f"Points - {item.prompt}", f"Feedback - {item.prompt}"]
            header += extra[::-1] if index % 2 else extra
    header += [f"Confidence: {bank.topic(t).name}" for t in topics]
    table: list[list[object]] = [header]
    for number, row in enumerate(rows, start=1):
        done = row.get("completion") or _BASE_TIME + timedelta(minutes=number)
        assert isinstance(done, datetime)
        line: list[object] = [
            row.get("id", number),
            done - timedelta(minutes=20),
            done,
            row.get("email", ""),
            row.get("name", ""),
        ]
        if points:
            line += [0, None]
        answers = _answers(row)
        for index, item in enumerate(questions):
            line.append(_forms_answer(item, answers.get(item.id), ";", trailing=True))
            if points:
                line += [None, 0] if index % 2 else [0, None]
        ratings = _ratings(row)
        line += [ratings.get(t) for t in topics]
        table.append(line)
    return _xlsx({sheet_name: table})


def google_forms_export(
    bank: Bank,
    rows: Sequence[Mapping[str, object]],
    *,
    items: Sequence[str] | None = None,
    score: bool = True,
    sheet_name: str = "Form Responses 1",
) -> bytes:
    """A Google Forms linked-sheet export: Timestamp, Email Address, Score, one column per question.

    Rows as for :func:`ms_forms_export` (``timestamp`` instead of ``completion``); multiple
    picks are joined with ", " as Google Forms does.
    """
    questions = _questions(bank, items)
    topics = _rated_topics(bank, rows)
    header: list[str] = ["Timestamp", "Email Address"] + (["Score"] if score else [])
    header += [item.prompt for item in questions]
    header += [f"Confidence: {bank.topic(t).name}" for t in topics]
    table: list[list[object]] = [header]
    for number, row in enumerate(rows, start=1):
        line: list[object] = [
            row.get("timestamp") or _BASE_TIME + timedelta(minutes=number),
            row.get("email", ""),
        ]
        if score:
            line.append(f"0 / {len(questions)}")
        answers = _answers(row)
        line += [_forms_answer(item, answers.get(item.id), ", ") for item in questions]
        ratings = _ratings(row)
        line += [ratings.get(t) for t in topics]
        table.append(line)
    return _xlsx({sheet_name: table})


def xlsx(sheets: Mapping[str, Sequence[Sequence[object]]]) -> bytes:
    """A plain workbook with these sheets and rows (values as given; None leaves a cell empty)."""
    return _xlsx(sheets)


def _xlsx(sheets: Mapping[str, Sequence[Sequence[object]]]) -> bytes:
    from openpyxl import Workbook

    # write_only streams rows, which keeps building large exports fast.
    workbook = Workbook(write_only=True)
    for name, table in sheets.items():
        ws = workbook.create_sheet(name)
        for line in table:
            ws.append(list(line))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _candidate(candidate: Candidate | Mapping[str, str] | None) -> Candidate:
    if candidate is None:
        return DEFAULT_CANDIDATE
    if isinstance(candidate, Candidate):
        return candidate
    return DEFAULT_CANDIDATE.model_copy(update=dict(candidate))


def _template_answer(value: AnswerValue) -> str:
    return ", ".join(value) if isinstance(value, list) else value


def _questions(bank: Bank, items: Sequence[str] | None) -> list[Item]:
    return [bank.item(i) for i in items] if items is not None else list(bank.items)


def _answers(row: Mapping[str, object]) -> Mapping[str, AnswerValue]:
    answers = row.get("answers", {})
    assert isinstance(answers, Mapping)
    return answers


def _ratings(row: Mapping[str, object]) -> Mapping[str, int]:
    ratings = row.get("confidence", {})
    assert isinstance(ratings, Mapping)
    return ratings


def _rated_topics(bank: Bank, rows: Sequence[Mapping[str, object]]) -> list[str]:
    rated = {t for row in rows for t in _ratings(row)}
    return [t.id for t in bank.topics if t.id in rated]


def _forms_answer(
    item: Item, value: AnswerValue | None, joiner: str, *, trailing: bool = False
) -> str | None:
    """What a form stores: option texts for choice keys, the text itself otherwise."""
    if value is None:
        return None
    if item.kind not in (ItemKind.SINGLE_CHOICE, ItemKind.MULTIPLE_CHOICE):
        return _template_answer(value)
    texts = {c.key: c.text for c in item.choices}
    keys = value if isinstance(value, list) else [value]
    if not all(k in texts for k in keys):
        return _template_answer(value)
    joined = joiner.join(texts[k] for k in keys)
    return f"{joined}{joiner}" if trailing and item.kind is ItemKind.MULTIPLE_CHOICE else joined
