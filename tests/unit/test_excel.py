"""Workbook bytes to submissions: the three formats, round trips, limits and hostile files."""

from __future__ import annotations

import io
import random
import re
import zipfile
from collections.abc import Callable
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from samples.workbooks import google_forms_export, ms_forms_export, template_workbook, xlsx
from shared.adapters.workbook_parser import parse_workbook
from shared.bank import Bank, load_bank
from shared.errors import WorkbookRejected
from shared.settings import ParseLimits
from shared.submission import ParseResult, SheetFormat

LIMITS = ParseLimits()
ANSWERS: dict[str, str | list[str]] = {
    "py-decorator-wraps": "B",
    "pd-memory": ["A", "B", "D"],
    "map-iam": "Microsoft Entra ID",
    "iq-django-vs-fastapi": "FastAPI is ASGI and async-native; Django ships an ORM and admin.",
}
CONFIDENCE = {"identity": 4, "serverless": 2}


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


@pytest.fixture(scope="module")
def filled(bank: Bank) -> bytes:
    return template_workbook(bank, ANSWERS, CONFIDENCE)


def answers_of(result: ParseResult) -> dict[str, tuple[str, ...] | str]:
    (submission,) = result.submissions
    return {a.item_id: a.choices or a.text for a in submission.answers}


EXPECTED = {
    "py-decorator-wraps": ("B",),
    "pd-memory": ("A", "B", "D"),
    "map-iam": "Microsoft Entra ID",
    "iq-django-vs-fastapi": ANSWERS["iq-django-vs-fastapi"],
}


def edited(data: bytes, edit: Callable[[Workbook], None]) -> bytes:
    workbook = load_workbook(io.BytesIO(data))
    edit(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rejection(data: bytes, bank: Bank, limits: ParseLimits = LIMITS) -> WorkbookRejected:
    with pytest.raises(WorkbookRejected) as err:
        parse_workbook(data, bank, limits)
    return err.value


# ---------------------------------------------------------------- the three formats


def test_filled_template_yields_its_answers_and_ratings(bank: Bank, filled: bytes) -> None:
    result = parse_workbook(filled, bank, LIMITS)
    assert result.source_format is SheetFormat.TEMPLATE
    assert answers_of(result) == EXPECTED
    assert result.submissions[0].confidence == (("identity", 4), ("serverless", 2))
    assert result.submissions[0].candidate.email == "ada@example.com"
    assert result.problems == ()


def test_ms_forms_export_yields_one_submission_per_response(bank: Bank) -> None:
    rows = [
        {"email": "a@x.com", "name": "A", "answers": ANSWERS, "confidence": CONFIDENCE},
        {"email": "b@x.com", "name": "B", "answers": {"py-decorator-wraps": "C"}},
    ]
    result = parse_workbook(ms_forms_export(bank, rows, items=list(ANSWERS)), bank, LIMITS)
    assert result.source_format is SheetFormat.MS_FORMS
    assert [s.candidate.email for s in result.submissions] == ["a@x.com", "b@x.com"]
    assert {a.item_id: a.choices or a.text for a in result.submissions[0].answers} == EXPECTED
    assert result.submissions[0].confidence == (("identity", 4), ("serverless", 2))
    assert result.submissions[1].answer_for("pd-memory") is None
    assert result.problems == ()


def test_google_forms_export_yields_one_submission_per_response(bank: Bank) -> None:
    rows = [{"email": "g@x.com", "answers": ANSWERS}]
    result = parse_workbook(google_forms_export(bank, rows, items=list(ANSWERS)), bank, LIMITS)
    assert result.source_format is SheetFormat.GOOGLE_FORMS
    assert answers_of(result) == EXPECTED
    assert result.submissions[0].candidate.date == "2026-11-20"


def test_submission_keys_are_deterministic_per_file_and_candidate(bank: Bank, filled: bytes) -> None:
    again = parse_workbook(filled, bank, LIMITS).submissions[0].submission_key
    assert parse_workbook(filled, bank, LIMITS).submissions[0].submission_key == again
    other = template_workbook(bank, {"py-decorator-wraps": "A"}, {})
    assert parse_workbook(other, bank, LIMITS).submissions[0].submission_key != again


# ---------------------------------------------------------------- round trips


def _insert_blank_rows(workbook: Workbook) -> None:
    for sheet in workbook.worksheets:
        sheet.insert_rows(2, amount=2)
        sheet.insert_rows(sheet.max_row, amount=1)


def _sort_rows_descending(workbook: Workbook) -> None:
    for name in ("Quiz", "Service Mapping", "Scenarios", "Self-Assessment"):
        sheet = workbook[name]
        rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
        rows.sort(key=lambda r: str(r[0]), reverse=True)
        for r, values in enumerate(rows, start=2):
            for c, value in enumerate(values, start=1):
                # cell(..., value=None) would keep the old value, so assign explicitly.
                sheet.cell(row=r, column=c).value = value


def _text_everywhere(workbook: Workbook) -> None:
    """Trailing spaces, numbers stored as text and the date as text, as Sheets and Calc leave them."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, (int, str)) and cell.value != "":
                    cell.value = f"{cell.value}  "
    workbook["Candidate"]["B5"] = "2026-11-20"


def _date_as_serial_and_real_date(workbook: Workbook) -> None:
    workbook["Candidate"]["B5"] = 46346
    workbook["Instructions"]["B1"] = datetime(2026, 11, 20, 9, 30)


def _reorder_sheets_and_add_one(workbook: Workbook) -> None:
    workbook.move_sheet("Scenarios", offset=-4)
    workbook.move_sheet("Candidate", offset=4)
    notes = workbook.create_sheet("My notes", 0)
    notes["A1"] = "things to revise"


def _hide_sheets_and_merge_cells(workbook: Workbook) -> None:
    workbook["Self-Assessment"].sheet_state = "hidden"
    workbook["Instructions"].merge_cells("A1:C2")
    workbook["Scenarios"].merge_cells("B2:C2")


@pytest.mark.parametrize(
    "edit",
    [
        _insert_blank_rows,
        _sort_rows_descending,
        _text_everywhere,
        _date_as_serial_and_real_date,
        _reorder_sheets_and_add_one,
        _hide_sheets_and_merge_cells,
    ],
)
def test_template_round_trips_keep_every_answer(
    bank: Bank, filled: bytes, edit: Callable[[Workbook], None]
) -> None:
    result = parse_workbook(edited(filled, edit), bank, LIMITS)
    assert answers_of(result) == EXPECTED
    assert result.submissions[0].confidence == (("identity", 4), ("serverless", 2))
    assert result.submissions[0].candidate.date == "2026-11-20"
    assert result.problems == ()


def test_answer_locations_follow_rows_moved_by_a_round_trip(bank: Bank, filled: bytes) -> None:
    result = parse_workbook(edited(filled, _insert_blank_rows), bank, LIMITS)
    answer = result.submissions[0].answer_for("py-decorator-wraps")
    assert answer is not None
    assert (answer.sheet, answer.row, answer.column) == ("Quiz", 4, "E")


def test_a_sheet_that_starts_below_and_right_of_a1_reports_true_cell_positions(bank: Bank) -> None:
    data = xlsx(
        {"Form": [[], [], [None, "Timestamp", "Email Address", "Colour?"], [None, "", "g@x.com", "red"]]}
    )
    problem = rejection(data, bank).problems[0]
    assert (problem.row, problem.column) == (3, "D")


def test_formula_cells_are_never_evaluated_and_are_reported_where_they_are(bank: Bank, filled: bytes) -> None:
    def formula(workbook: Workbook) -> None:
        workbook["Quiz"]["E3"] = '=CONCATENATE("A","")'

    result = parse_workbook(edited(filled, formula), bank, LIMITS)
    formula_problems = [p for p in result.problems if "formula" in p.message]
    assert [(p.sheet, p.row, p.column) for p in formula_problems] == [("Quiz", 3, "E")]
    item_in_row_3 = load_workbook(io.BytesIO(filled))["Quiz"]["A3"].value
    assert result.submissions[0].answer_for(str(item_in_row_3)) is None


def test_localised_ms_forms_export_with_extra_sheet_and_hidden_sheet_parses(bank: Bank) -> None:
    headers = {
        "start": "Startzeit",
        "completion": "Fertigstellungszeit",
        "email": "E-Mail",
        "total": "Gesamtpunktzahl",
    }
    data = ms_forms_export(
        bank, [{"email": "k@x.de", "answers": ANSWERS}], items=list(ANSWERS), headers=headers
    )

    def add_sheets(workbook: Workbook) -> None:
        workbook.create_sheet("Summary")["A1"] = "counts"
        workbook.create_sheet("Hidden")["A1"] = "x"
        workbook["Hidden"].sheet_state = "hidden"

    assert answers_of(parse_workbook(edited(data, add_sheets), bank, LIMITS)) == EXPECTED


# ---------------------------------------------------------------- bad files


def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def _replace_part(data: bytes, name: str, content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    entries[name] = content
    return _zip(entries)


def _chart_only_workbook() -> bytes:
    from openpyxl.chart import BarChart, Reference

    workbook = Workbook()
    data_sheet = workbook.active
    assert isinstance(data_sheet, Worksheet)
    chart = BarChart()
    chart.add_data(Reference(data_sheet, min_col=1, min_row=1, max_row=3))
    workbook.create_chartsheet("Chart").add_chart(chart)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty (0 bytes): expected an Excel workbook (.xlsx)"),
        (random.Random(7).randbytes(5000), "the file is not a workbook: expected an Excel workbook (.xlsx)"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000),
            "legacy .xls workbook or a password-protected file",
        ),
        (b"Email,Name\na@x.com,Ada\n", "text file (CSV or similar), not a workbook"),
        (_zip({"hello.txt": b"hi"}), "the zip archive holds no Excel workbook (no xl/workbook.xml)"),
        (b"PK\x03\x04" + bytes(100), "damaged zip archive"),
        (_chart_only_workbook(), "no worksheet with data (only empty sheets or charts)"),
    ],
    ids=[
        "empty",
        "random-bytes",
        "legacy-xls",
        "csv-renamed",
        "zip-without-workbook",
        "broken-zip",
        "charts-only",
    ],
)
def test_bad_files_are_rejected_with_a_message_saying_what_was_expected(
    bank: Bank, data: bytes, expected: str
) -> None:
    assert expected in rejection(data, bank).message


def test_a_workbook_in_no_known_format_is_rejected(bank: Bank) -> None:
    message = rejection(xlsx({"Data": [["a", "b"], [1, 2]]}), bank).message
    assert "no known answer-sheet format" in message


def test_the_source_name_prefixes_a_rejection(bank: Bank) -> None:
    with pytest.raises(WorkbookRejected, match=r"^uploads/ada\.xlsx: the file is empty"):
        parse_workbook(b"", bank, LIMITS, source_name="uploads/ada.xlsx")


def test_an_xml_bomb_is_refused_before_any_xml_parser_runs(bank: Bank, filled: bytes) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&lol2;</workbook>'
    )
    message = rejection(_replace_part(filled, "xl/workbook.xml", bomb), bank).message
    assert "xl/workbook.xml declares a DTD or entities" in message


def test_a_zip_bomb_part_is_refused_by_its_compression_ratio(bank: Bank, filled: bytes) -> None:
    message = rejection(_replace_part(filled, "xl/media/padding.xml", bytes(30 * 1024 * 1024)), bank).message
    assert "xl/media/padding.xml is compressed" in message
    assert "READYCHECK_MAX_COMPRESSION_RATIO" in message


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        (
            ParseLimits(max_upload_bytes=1000),
            "over the limit of 1,000 bytes (setting READYCHECK_MAX_UPLOAD_BYTES)",
        ),
        (
            ParseLimits(max_uncompressed_bytes=10_000),
            "over the limit of 10,000 (setting READYCHECK_MAX_UNCOMPRESSED_BYTES)",
        ),
        (ParseLimits(max_zip_entries=3), "over the limit of 3 (setting READYCHECK_MAX_ZIP_ENTRIES)"),
        (ParseLimits(max_rows=20), "rows, over the limit of 20 (setting READYCHECK_MAX_ROWS)"),
        (ParseLimits(max_columns=4), "columns, over the limit of 4 (setting READYCHECK_MAX_COLUMNS)"),
    ],
    ids=["upload-bytes", "uncompressed-bytes", "zip-entries", "rows", "columns"],
)
def test_exceeding_a_limit_is_a_clear_rejection(
    bank: Bank, filled: bytes, limits: ParseLimits, expected: str
) -> None:
    assert expected in rejection(filled, bank, limits).message


def _with_extra_row(row_xml: str) -> bytes:
    """A few-hundred-byte export with one extra row element appended to its sheet."""
    data = xlsx({"S": [["Timestamp", "Email Address"], ["2026-11-20", "a@x.com"]]})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    grown = sheet.replace(b"</sheetData>", row_xml.encode() + b"</sheetData>")
    return _replace_part(data, "xl/worksheets/sheet1.xml", grown)


@pytest.mark.parametrize(
    ("row_xml", "expected"),
    [
        (
            '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
            "has 1,048,576 rows, over the limit of 100,000",
        ),
        ("<row r='9'><c r = 'XFD9'><v>1</v></c></row>", "has 16,384 columns, over the limit of 500"),
        (
            '<row r="100000"><c r="SF100000"><v>1</v></c></row>',
            "spans 100,000 rows by 500 columns (50,000,000 cells), over the limit of 5,000,000 cells",
        ),
        ("<row><c><v>1</v></c></row>" * 3 + '<row r="1048576"><c/></row>', "has 1,048,576 rows"),
        ('<row><c r="xfd1048576"><v>1</v></c></row>', "malformed cell or row reference"),
        ('<row><c r="A1" r="XFD1048576"><v>1</v></c></row>', "malformed cell or row reference"),
        ('<row r="01048576"><c><v>1</v></c></row>', "malformed cell or row reference"),
    ],
    ids=[
        "far-row",
        "far-column-single-quotes",
        "too-many-cells",
        "unreferenced-cells",
        "lowercase",
        "twice",
        "zero",
    ],
)
def test_a_far_away_cell_is_rejected_before_the_reader_allocates_its_range(
    bank: Bank, row_xml: str, expected: str
) -> None:
    data = _with_extra_row(row_xml)
    assert len(data) < 3000
    assert expected in rejection(data, bank).message


def test_the_cell_limit_is_a_setting() -> None:
    assert ParseLimits.from_env({"READYCHECK_MAX_CELLS": "1000"}).max_cells == 1000


def test_cells_without_references_are_placed_like_the_reader_places_them(bank: Bank) -> None:
    data = google_forms_export(bank, [{"email": "g@x.com", "answers": ANSWERS}], items=list(ANSWERS))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    unreferenced = re.sub(rb' r="[A-Z]+\d+"', b"", sheet)
    assert b'<c r="' not in unreferenced
    result = parse_workbook(_replace_part(data, "xl/worksheets/sheet1.xml", unreferenced), bank, LIMITS)
    assert answers_of(result) == EXPECTED


@pytest.fixture(scope="module")
def big_export(bank: Bank) -> bytes:
    items = ["py-decorator-wraps", "pd-memory", "map-iam"]
    rows = [
        {"email": f"c{n}@x.com", "name": f"C{n}", "answers": {"py-decorator-wraps": "B", "map-iam": "AAD"}}
        for n in range(50_000)
    ]
    return ms_forms_export(bank, rows, items=items, points=False)


def test_a_fifty_thousand_row_export_parses_within_default_limits(bank: Bank, big_export: bytes) -> None:
    result = parse_workbook(big_export, bank, LIMITS)
    assert len(result.submissions) == 50_000
    assert result.submissions[-1].candidate.email == "c49999@x.com"
    assert result.submissions[-1].answer_for("map-iam") is not None


def test_a_fifty_thousand_row_export_over_the_row_limit_is_rejected(bank: Bank, big_export: bytes) -> None:
    message = rejection(big_export, bank, ParseLimits(max_rows=10_000)).message
    assert "has 50,001 rows, over the limit of 10,000" in message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_corrupted_workbook_bytes_never_raise_anything_but_a_rejection(data: st.DataObject) -> None:
    bank = load_bank()
    original = bytearray(_small_template())
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(original) - 1))
        original[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(original)))
    try:
        parse_workbook(bytes(original[:cut]), bank, LIMITS)
    except WorkbookRejected as rejected:
        assert rejected.message  # noqa: PT017 - the property is about which exception type escapes


_HEADERS = st.sampled_from(
    [
        "ID",
        "Start time",
        "Completion time",
        "Email",
        "Name",
        "Timestamp",
        "Email Address",
        "Item ID",
        "Your answer",
    ]
)
_VALUES = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(["B", "A; C;", "anonymous", "a@x.com", "7", "py-decorator-wraps"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_HEADERS, min_size=1, max_size=6),
    st.lists(st.lists(_VALUES, max_size=6), max_size=6),
    st.sampled_from(["Sheet1", "Candidate", "Quiz"]),
)
def test_random_cell_values_in_a_real_workbook_never_raise_anything_but_a_rejection(
    header: list[str], rows: list[list[object]], sheet: str
) -> None:
    data = xlsx({sheet: [header, *rows]})
    try:
        parse_workbook(data, load_bank(), LIMITS)
    except WorkbookRejected as rejected:
        # A well-formed workbook is always read; only its content may be rejected.
        assert "could not be read" not in rejected.message  # noqa: PT017


_SMALL: list[bytes] = []


def _small_template() -> bytes:
    if not _SMALL:
        _SMALL.append(template_workbook(load_bank(), {"py-decorator-wraps": "B"}, {"identity": 3}))
    return _SMALL[0]
