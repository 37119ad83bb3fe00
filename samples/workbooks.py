"""Build workbooks in code: a filled-in template, a Microsoft Forms and a Google Forms export.

Answers are given per item id: a choice key ("B") or a list of keys (["A", "C"]) for choice
items, text for short and open answers. A choice value that is not a key of the item is
written as it is, so tests can write unrecognised answers. Keep these signatures stable:
the samples (samples/build.py), the benchmarks (bench/) and the tests build their inputs with them.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from shared.adapters.template_writer import build_template
from shared.adapters.workbook_reader import column_letter
from shared.answer_sheets.layout import (
    CANDIDATE_FIELDS,
    HEADER_ANSWER,
    HEADER_CONFIDENCE,
    HEADER_ITEM_ID,
    HEADER_TOPIC_ID,
    SHEET_CANDIDATE,
)
from shared.bank import Bank, Item, ItemKind
from shared.submission import Candidate

if TYPE_CHECKING:
    from openpyxl import Workbook

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
# Every zip entry and document date is this fixed time, so the same workbook always has the same bytes
# (samples/ is committed: a rebuild that changes nothing must show no git diff).
_ZIP_TIME = (2026, 11, 20, 9, 0, 0)


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
                if isinstance(item_id, str) and item_id in remaining:
                    ws.cell(row=row, column=answer_col, value=_template_answer(remaining.pop(item_id)))
        if HEADER_TOPIC_ID in header and HEADER_CONFIDENCE in header:
            rating_col = header.index(HEADER_CONFIDENCE) + 1
            for row in range(2, ws.max_row + 1):
                topic_id = ws.cell(row=row, column=1).value
                if topic_id in confidence:
                    ws.cell(row=row, column=rating_col, value=confidence[str(topic_id)])
    if remaining:
        raise KeyError(f"items not in the template: {sorted(remaining)}")
    return _reproducible(workbook)


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
    table: list[Sequence[object]] = [header]
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
    table: list[Sequence[object]] = [header]
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


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "{sheets}</Types>"
)
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
# Style 1 is the built-in date-time format 22, as exports store response times.
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_EXCEL_EPOCH = datetime(1899, 12, 30)


def _xlsx(sheets: Mapping[str, Sequence[Sequence[object]]]) -> bytes:
    """Write the workbook XML directly: as an export service would, and fast for 50,000 rows."""
    names = list(sheets)
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet_list = "".join(
        f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
        for n, name in enumerate(names, start=1)
    )
    workbook = f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>{sheet_list}</sheets></workbook>'
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="{rel}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, len(names) + 1)
    )
    rels += f'<Relationship Id="rId{len(names) + 1}" Type="{rel}/styles" Target="styles.xml"/>'
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_SHEET_TYPE}"/>'
        for n in range(1, len(names) + 1)
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(_entry("[Content_Types].xml"), _CONTENT_TYPES.format(sheets=overrides))
        archive.writestr(_entry("_rels/.rels"), _ROOT_RELS)
        archive.writestr(_entry("xl/workbook.xml"), workbook)
        archive.writestr(
            _entry("xl/_rels/workbook.xml.rels"), f'<Relationships xmlns="{package}">{rels}</Relationships>'
        )
        archive.writestr(_entry("xl/styles.xml"), _STYLES)
        for n, name in enumerate(names, start=1):
            archive.writestr(_entry(f"xl/worksheets/sheet{n}.xml"), _sheet_xml(main, sheets[name]))
    return out.getvalue()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _reproducible(workbook: Workbook) -> bytes:
    """Save as openpyxl does, minus its save-time stamps (document dates, zip entry times)."""
    from openpyxl.writer.excel import ExcelWriter

    # save_workbook would set "modified" to now; ExcelWriter writes the properties as they are.
    workbook.properties.created = workbook.properties.modified = _BASE_TIME
    saved = io.BytesIO()
    with zipfile.ZipFile(saved, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).write_data()
    out = io.BytesIO()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(_entry(info.filename), source.read(info))
    return out.getvalue()


def _sheet_xml(namespace: str, table: Sequence[Sequence[object]]) -> str:
    letters = [column_letter(n) for n in range(1, max((len(r) for r in table), default=0) + 1)]
    rows = []
    for r, line in enumerate(table, start=1):
        cells = "".join(
            _cell_xml(f"{letters[c]}{r}", value) for c, value in enumerate(line) if value is not None
        )
        rows.append(f'<row r="{r}">{cells}</row>')
    return f'<worksheet xmlns="{namespace}"><sheetData>{"".join(rows)}</sheetData></worksheet>'


def _cell_xml(ref: str, value: object) -> str:
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        serial = (value - _EXCEL_EPOCH).total_seconds() / 86400
        return f'<c r="{ref}" s="1"><v>{serial}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


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
