"""The bulk reader of plain sheet XML reads exactly what calamine reads, and hands anything else to it.

``shared.adapters.sheet_cells`` is a speed trick: these tests pin every frame it builds to the frame
calamine builds from the same workbook (the reader is made to decline, so ``read_sheets`` falls
back to calamine), and check it reads the exporters' forms in bulk rather than declining them.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.inputs import EXCEL_DATES, INLINE_STRINGS, LONG_TEXT, FormsShape, forms_rows
from bench.xlsx import Cell, write_xlsx
from samples.workbooks import google_forms_export, ms_forms_export, template_workbook, xlsx
from shared.adapters import sheet_cells
from shared.adapters.workbook_reader import read_sheets
from shared.bank import Bank, load_bank
from shared.errors import WorkbookRejected
from shared.settings import ParseLimits

ROOT = Path(__file__).resolve().parents[2]
LIMITS = ParseLimits()
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
# Style 1: built-in date-time 22; style 2: a custom date format; style 3: a custom number format.
STYLES = (
    f'<styleSheet xmlns="{MAIN}"><numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy hh:mm"/>'
    '<numFmt numFmtId="165" formatCode="0.000"/></numFmts><cellXfs count="4"><xf numFmtId="0"/>'
    '<xf numFmtId="22"/><xf numFmtId="164"/><xf numFmtId="165"/></cellXfs></styleSheet>'
)


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


@pytest.fixture
def declined(monkeypatch: pytest.MonkeyPatch) -> Callable[[bytes], object]:
    """Read a workbook as calamine alone reads it: the bulk reader declines every sheet."""

    def decline(*_: object) -> sheet_cells.PlainSheet:
        raise sheet_cells.NotPlain("declined for the comparison")

    def read(data: bytes) -> object:
        with monkeypatch.context() as patched:
            patched.setattr(sheet_cells, "read_sheet", decline)
            return outcome(data)

    return read


def outcome(data: bytes) -> object:
    """The frames and problems read, or what was raised: what the two readers must agree on."""
    try:
        sheets, problems = read_sheets(data, LIMITS)
    except WorkbookRejected as rejected:
        return ("rejected", rejected.message)
    except Exception as err:  # the parser maps each to one rejection; which one escapes must agree
        return ("raised", type(err).__name__)
    return {name: _contents(frame) for name, frame in sheets.items()}, problems


def _contents(frame: pd.DataFrame) -> tuple[object, ...]:
    cells = [pa.array(frame[column].array).to_pylist() for column in frame.columns]
    return list(frame.index), list(frame.columns), [str(dtype) for dtype in frame.dtypes], cells


class _Declined(AssertionError):
    """The bulk reader declined a workbook it should read."""


def read_in_bulk(data: bytes, monkeypatch: pytest.MonkeyPatch) -> object:
    """Read a workbook, the bulk reader's declining surfacing as an error instead of a quiet fallback."""
    reads = {name: getattr(sheet_cells, name) for name in ("read_sheet", "shared_strings", "mini_values")}

    def strict(name: str) -> Callable[..., object]:
        def call(*args: object) -> object:
            try:
                return reads[name](*args)
            except sheet_cells.NotPlain as err:
                raise _Declined(f"{name}: {err}") from err

        return call

    with monkeypatch.context() as patched:
        for name in reads:
            patched.setattr(sheet_cells, name, strict(name))
        return outcome(data)


def workbook(sheet: str | bytes, strings: str | None = None, *, date1904: bool = False) -> bytes:
    """A one-sheet workbook around this sheetData content (and shared-strings items, if any)."""
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
        + ('<workbookPr date1904="1"/>' if date1904 else "")
        + '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
        f'Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/styles.xml": STYLES,
    }
    cells = sheet if isinstance(sheet, bytes) else sheet.encode()
    sheet_xml = f'<worksheet xmlns="{MAIN}"><sheetData>'.encode() + cells + b"</sheetData></worksheet>"
    if strings is not None:
        parts["xl/sharedStrings.xml"] = f'<sst xmlns="{MAIN}">{strings}</sst>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return out.getvalue()


def forms_export(tmp_path: Path, bank: Bank, shape: FormsShape) -> bytes:
    path = tmp_path / f"{shape.name}.xlsx"
    write_xlsx(path, "Form1", forms_rows(bank, 25, shape=shape), inline_strings=shape.inline_strings)
    return path.read_bytes()


# ---------------------------------------------------------------- the exporters' forms, in bulk


@pytest.mark.parametrize("shape", [EXCEL_DATES, LONG_TEXT, INLINE_STRINGS], ids=lambda shape: shape.name)
def test_forms_exports_of_every_shape_are_read_in_bulk_as_calamine_reads_them(
    tmp_path: Path,
    bank: Bank,
    shape: FormsShape,
    declined: Callable[[bytes], object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = forms_export(tmp_path, bank, shape)
    assert read_in_bulk(data, monkeypatch) == declined(data)


@pytest.mark.parametrize("sample", sorted(p.name for p in (ROOT / "samples").glob("*.xlsx")))
def test_the_samples_openpyxl_and_excel_wrote_are_read_in_bulk_as_calamine_reads_them(
    sample: str, declined: Callable[[bytes], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (ROOT / "samples" / sample).read_bytes()
    assert read_in_bulk(data, monkeypatch) == declined(data)


def test_templates_and_forms_exports_built_here_are_read_as_calamine_reads_them(
    bank: Bank, declined: Callable[[bytes], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{"email": "a@x.com", "name": "Ada", "answers": {"py-decorator-wraps": "C"}}]
    for data in (
        template_workbook(bank, {"py-decorator-wraps": "B"}, {"identity": 3}),
        ms_forms_export(bank, rows, points=True),
        google_forms_export(bank, rows),
    ):
        assert read_in_bulk(data, monkeypatch) == declined(data)


# ---------------------------------------------------------------- cell by cell


CELLS = {
    "shared strings, spaces kept and trimmed": (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="s"><v>2</v></c></row>',
        '<si><t xml:space="preserve">  kept  </t></si><si><t>  trimmed \n</t></si><si/>',
    ),
    "entities, line ends and Excel escapes": (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>R&amp;D &lt;b&gt; &quot;q&quot; &apos;a&apos;</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t xml:space="preserve">a\r\nb\rc_x000D_d_x005F_x000D_</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>_x00+A_ _x00zz_ _x0041_</t></is></c></row>',
        None,
    ),
    "character references": (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&#65;&#x42;</t></is></c></row>',
        None,
    ),
    "an unknown entity": ('<row r="1"><c r="A1" t="inlineStr"><is><t>&nbsp;</t></is></c></row>', None),
    "numbers of every form": (
        '<row r="1">'
        + "".join(
            f'<c r="{column}1"{attributes}><v>{text}</v></c>'
            for column, attributes, text in [
                ("A", "", "1"),
                ("B", "", "-0"),
                ("C", "", "2.50"),
                ("D", ' t="n"', "0.30000000000000004"),
                ("E", "", "1e5"),
                ("F", "", "01"),
                ("G", "", " 7 "),
                ("H", "", "abc"),
                ("I", "", "123456789012345678"),
                ("J", "", "0.0009765625"),
                ("K", "", "4194304.5"),
                ("L", ' s="3"', "2.5"),
                ("M", "", "-999999.123456789"),
            ]
        )
        + "</row>",
        None,
    ),
    "dates, booleans, errors, formula strings": (
        '<row r="2"><c r="A2" s="1"><v>46083.333761574075</v></c><c r="B2" s="2"><v>46083.5</v></c>'
        '<c r="C2" t="b"><v>1</v></c><c r="D2" t="e"><v>#N/A</v></c><c r="E2" t="str"><v>x</v></c>'
        '<c r="F2" t="d"><v>2026-03-02T08:00:00</v></c><c r="G2" t="str"><v></v></c></row>',
        None,
    ),
    "cells without a value": (
        '<row r="3"><c r="A3" s="1"/><c r="B3"><v></v></c><c r="C3" t="s"><v></v></c>'
        '<c r="D3" t="inlineStr"><v>9</v></c><c r="E3" t="inlineStr"><is></is></c>'
        '<c r="F3" t="inlineStr"><is><t></t></is></c><c r="G3"><v>5</v></c></row>'
        '<row r="4"/><row r="6" spans="1:7" ht="15" customHeight="1"><c r="B6"><v>6</v></c></row>',
        None,
    ),
    "a sheet starting below and right of A1": (
        '<row r="7"><c r="D7"><v>1</v></c></row><row r="9"><c r="F9"><v>2</v></c></row>',
        None,
    ),
    "two cells at one place, rows out of order": (
        '<row r="5"><c r="A5"><v>1</v></c><c r="A5"><v>2</v></c></row>'
        '<row r="2"><c r="B2"><v>3</v></c></row>',
        None,
    ),
    "a number where calamine expects one": ('<row r="1"><c r="A1" t="n"><v>abc</v></c></row>', None),
    "a shared string past the table": (
        '<row r="1"><c r="A1" t="s"><v>5</v></c></row>',
        "<si><t>only</t></si>",
    ),
    "a shared-string index with a leading zero": (
        '<row r="1"><c r="A1" t="s"><v>00</v></c></row>',
        "<si><t>x</t></si>",
    ),
    "rich text (left to calamine)": (
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
        "<si><r><rPr><b/></rPr><t>bold</t></r><r><t> plain</t></r></si>",
    ),
    "a formula (left to calamine)": ('<row r="1"><c r="A1"><f>1+1</f><v>2</v></c></row>', None),
    "a comment (left to calamine)": ('<row r="1"><!-- x --><c r="A1"><v>2</v></c></row>', None),
    "a prefixed cell (left to calamine)": (
        '<row r="1"><x:c xmlns:x="' + MAIN + '" r="A1"><x:v>2</x:v></x:c></row>',
        None,
    ),
    "pretty-printed XML": (
        '\n  <row r="1">\n    <c r="A1" t="inlineStr">\n      <is><t>x</t></is>\n    </c>\n  </row>\n',
        None,
    ),
    "a cell with another attribute": ('<row r="1"><c r="A1" cm="1"><v>2</v></c></row>', None),
}


@pytest.mark.parametrize("case", list(CELLS))
def test_each_kind_of_cell_reads_as_calamine_reads_it(case: str, declined: Callable[[bytes], object]) -> None:
    sheet, strings = CELLS[case]
    data = workbook(sheet, strings)
    assert outcome(data) == declined(data)


def test_text_that_is_not_utf8_is_rejected_alike(declined: Callable[[bytes], object]) -> None:
    data = workbook(b'<row r="1"><c r="A1" t="inlineStr"><is><t>caf\xe9</t></is></c></row>')
    assert outcome(data) == declined(data)


def test_the_1904_date_system_reads_as_calamine_reads_it(declined: Callable[[bytes], object]) -> None:
    data = workbook('<row r="1"><c r="A1" s="1"><v>1000.25</v></c></row>', date1904=True)
    assert outcome(data) == declined(data)


def test_xml_outside_the_plain_form_is_declined() -> None:
    for sheet in ('<row r="1"><c r="A1"><f>1+1</f><v>2</v></c></row>', '<row><c r="A1"><v>2</v></c></row>'):
        xml = f'<worksheet xmlns="{MAIN}"><sheetData>{sheet}</sheetData></worksheet>'.encode()
        with pytest.raises(sheet_cells.NotPlain):
            sheet_cells.read_sheet(xml, 0, LIMITS.max_cells)


# ---------------------------------------------------------------- any values


_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=24) | st.sampled_from(
    ["  padded  ", "R&D <b>", "line\r\nend", "_x000D_", "a_x005F_x0041_b", "\t", "anonymous"]
)
_VALUES = st.one_of(
    st.none(),
    _TEXT,
    st.integers(-(10**17), 10**17),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 1, 1)),
)
_ROWS = st.lists(st.lists(_VALUES, max_size=7), min_size=1, max_size=8)


def _only_xml_text(rows: list[list[Cell]]) -> list[list[Cell]]:
    # XML cannot carry most control characters; exporters drop or escape them before writing.
    def clean(value: Cell) -> Cell:
        if isinstance(value, str):
            return "".join(c for c in value if c in "\t\n\r" or ord(c) >= 0x20)
        return value

    return [[clean(value) for value in row] for row in rows]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=_ROWS)
def test_any_values_written_with_inline_strings_read_as_calamine_reads_them(
    rows: list[list[Cell]], declined: Callable[[bytes], object]
) -> None:
    data = xlsx({"Sheet1": _only_xml_text(rows)})
    assert outcome(data) == declined(data)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=_ROWS, inline=st.booleans())
def test_any_values_written_with_shared_strings_read_as_calamine_reads_them(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[Cell]],
    inline: bool,
    declined: Callable[[bytes], object],
) -> None:
    path = tmp_path_factory.mktemp("any") / "any.xlsx"
    cells = [[value for value in row if not isinstance(value, bool)] for row in _only_xml_text(rows)]
    write_xlsx(path, "S", [["header"], *cells], inline_strings=inline)
    data = path.read_bytes()
    assert outcome(data) == declined(data)


def test_frames_keep_calamines_types_and_labels(tmp_path: Path, bank: Bank) -> None:
    sheets, _ = read_sheets(forms_export(tmp_path, bank, EXCEL_DATES), LIMITS)
    frame = sheets["Form1"]
    assert list(frame.index[:2]) == [1, 2]
    assert list(frame.columns[:3]) == ["A", "B", "C"]
    assert {str(dtype) for dtype in frame.dtypes} == {"string[pyarrow]"}
    assert isinstance(frame.dtypes.iloc[0], pd.ArrowDtype)
    assert frame.loc[2, "B"] == "2026-03-02 08:00:37"  # a date cell, as calamine prints it


# ---------------------------------------------------------------- hostile sheets


def test_a_part_denser_in_tags_than_plain_xml_is_left_to_calamine() -> None:
    xml = f'<worksheet xmlns="{MAIN}"><sheetData>'.encode() + b"<" * 10_000 + b"</sheetData></worksheet>"
    with pytest.raises(sheet_cells.NotPlain, match="denser in tags"):
        sheet_cells.read_sheet(xml, 0, LIMITS.max_cells)


def test_one_cell_repeated_past_the_cell_limit_is_refused_though_its_range_is_one_cell(
    declined: Callable[[bytes], object],
) -> None:
    repeated = '<row r="1">' + '<c r="A1"><v>1</v></c>' * 2_000 + "</row>"
    data = workbook(repeated)
    with pytest.raises(WorkbookRejected, match=r"has 2,000 cell elements, over the limit of 1,000 cells"):
        read_sheets(data, ParseLimits(max_cells=1_000))
    assert outcome(data) == declined(data)  # within the default limits both read the last one


def test_texts_needing_decoding_one_by_one_past_a_bound_are_left_to_calamine(
    declined: Callable[[bytes], object],
) -> None:
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>R&amp;D {n}</t></is></c></row>'
        for n in range(1, 10_003)
    )
    xml = f'<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData></worksheet>'.encode()
    with pytest.raises(sheet_cells.NotPlain, match="too many texts"):
        sheet_cells.read_sheet(xml, 0, LIMITS.max_cells)
    data = workbook(rows)
    assert outcome(data) == declined(data)
