"""Excel bytes in and out: safe reading of uploaded workbooks, and the blank answer-sheet template.

Reading checks the container before any XML parser sees it (size, zip entries, declared
uncompressed size, compression ratio, DTDs), reads every worksheet with fastexcel (calamine)
as text and hands DataFrames to the core rules in :mod:`shared.answer_sheet`. Formulas are
never evaluated: calamine returns the value the spreadsheet application cached, and every
formula cell is reported as a located problem.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.answer_sheet import (
    CANDIDATE_FIELDS,
    HEADER_ANSWER,
    HEADER_CONFIDENCE,
    HEADER_ITEM_ID,
    HEADER_TOPIC_ID,
    SHEET_CANDIDATE,
    SHEET_INSTRUCTIONS,
    SHEET_QUIZ,
    SHEET_SCENARIOS,
    SHEET_SELF_ASSESSMENT,
    SHEET_SERVICE_MAPPING,
    choice_label,
    parse_sheets,
)
from shared.bank import Bank, Item, ItemKind, Section
from shared.errors import Problem, WorkbookRejected
from shared.settings import ParseLimits
from shared.submission import ParseResult

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from openpyxl.worksheet.worksheet import Worksheet
    from pandas import DataFrame

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
# Small parts compress well legitimately; the ratio limit guards the big ones.
_RATIO_CHECK_FROM_BYTES = 1024 * 1024
_MAX_FORMULA_PROBLEMS = 20
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)
# A cell element that is not self-closing; group 1 = column letters, group 2 = row number.
_CELL_PREFIX = rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]{1,3})(\d+)\"[^>]*(?<!/)>"
# Up to the cell's end, never into the next cell.
_INSIDE_CELL = rb"(?:(?!</(?:\w+:)?c>|<(?:\w+:)?c\b).){0,4000}?"
# A cell that holds a value (<v> or inline <is>), i.e. one calamine counts as data.
_VALUED_CELL = re.compile(_CELL_PREFIX + _INSIDE_CELL + rb"<(?:\w+:)?(?:v|is)\b", re.S)
_VALUED_CELL_IN_A = re.compile(
    _CELL_PREFIX.replace(b"[A-Z]{1,3}", b"A") + _INSIDE_CELL + rb"<(?:\w+:)?(?:v|is)\b", re.S
)
_CONTAINER_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,  # an unsupported compression method
    RuntimeError,  # an encrypted zip entry
    ValueError,
    KeyError,
    SyntaxError,  # xml.etree's ParseError
)
# Cell and row references as calamine reads them (either quote, spaces around "="). Anything but
# a plain reference is refused, so what is measured here is what calamine will allocate.
_REF_ATTR = rb"\sr\s*=\s*[\"']"
_CELL_TAG = re.compile(rb"<(?:\w+:)?c\b[^>]*>")
_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?" + _REF_ATTR + rb"([A-Z]{1,3})([1-9][0-9]{0,6})[\"']")
_ROW_REF = re.compile(rb"<(?:\w+:)?row\b[^>]*?" + _REF_ATTR + rb"([1-9][0-9]{0,6})[\"']")
_ODD_REF = re.compile(
    rb"<(?:\w+:)?c\b[^>]*?" + _REF_ATTR + rb"(?![A-Z]{1,3}[1-9][0-9]{0,6}[\"'])"
    rb"|<(?:\w+:)?row\b[^>]*?" + _REF_ATTR + rb"(?![1-9][0-9]{0,6}[\"'])"
    rb"|<(?:\w+:)?(?:c|row)\b[^>]*?" + _REF_ATTR + rb"[^>]*?" + _REF_ATTR
)
_ROW_OR_CELL = re.compile(rb"<(?:\w+:)?(row|c)\b([^>]*)>")
_ROW_NUMBER = re.compile(_REF_ATTR + rb"([1-9][0-9]{0,6})[\"']")
_CELL_NUMBER = re.compile(_REF_ATTR + rb"([A-Z]{1,3})([1-9][0-9]{0,6})[\"']")
_ANY_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is)\b")
_PREFIXED_TAG = re.compile(rb"<\w+:")
# A cell or row tag that does not open with one plain double-quoted reference.
_IRREGULAR_TAG = re.compile(rb'<c\b(?! r="[A-Z]{1,3}[1-9][0-9]{0,6}")|<row\b(?! r="[1-9][0-9]{0,6}")')


def _without_prefixes(pattern: re.Pattern[bytes]) -> re.Pattern[bytes]:
    """The pattern for XML whose tags carry no namespace prefix: same matches, about twice as fast.

    Without the optional prefix group the pattern starts with a literal (``<c``, ``<row``), which
    the regex engine scans for directly instead of trying every ``<``.
    """
    return re.compile(pattern.pattern.replace(rb"<(?:\w+:)?", rb"<"), pattern.flags)


# Excel and the exporters write worksheet tags without prefixes; the general patterns above are
# used when any tag has one.
_UNPREFIXED = {rx: _without_prefixes(rx) for rx in (_ODD_REF, _CELL_REF, _CELL_TAG, _ROW_REF)}
_FORMULA_CELL = re.compile(_CELL_PREFIX + rb"\s*<(?:\w+:)?f\b")


def parse_workbook(data: bytes, bank: Bank, limits: ParseLimits, *, source_name: str = "") -> ParseResult:
    """Parse an uploaded workbook into submissions and located problems, or raise WorkbookRejected."""
    import fastexcel

    label = f"{source_name}: " if source_name else ""
    # What a damaged or hostile container can make zipfile, zlib, XML parsing and calamine raise.
    unreadable: tuple[type[Exception], ...] = (*_CONTAINER_ERRORS, fastexcel.FastExcelError)
    try:
        # The sheets' XML is freed once they are read, before their rows become submissions.
        sheets, problems = _read_sheets(data, _open_container(data, limits), limits)
        result = parse_sheets(sheets, bank, content_digest=hashlib.sha256(data).hexdigest())
    except WorkbookRejected as rejected:
        raise WorkbookRejected(f"{label}{rejected.message}", rejected.problems) from rejected
    except unreadable as err:
        raise WorkbookRejected(
            f"{label}the file could not be read as an .xlsx workbook ({type(err).__name__}): "
            "open it in a spreadsheet application and save it again as .xlsx"
        ) from err
    if not problems:
        return result
    return result.model_copy(update={"problems": (*problems, *result.problems)})


# ---------------------------------------------------------------- the container


@dataclass(frozen=True, slots=True)
class _SheetPart:
    """A worksheet listed in workbook.xml and the zip entry holding its cells."""

    name: str
    path: str
    is_chart: bool
    xml: bytes | None  # None when the path names no entry of the zip


def _open_container(data: bytes, limits: ParseLimits) -> list[_SheetPart]:
    """Check the file is a safe, size-limited xlsx zip and list its sheets."""
    expected = "expected an Excel workbook (.xlsx)"
    if not data:
        raise WorkbookRejected(f"the file is empty (0 bytes): {expected}")
    if len(data) > limits.max_upload_bytes:
        raise WorkbookRejected(
            f"the file is {len(data):,} bytes, over the limit of {limits.max_upload_bytes:,} bytes "
            "(setting READYCHECK_MAX_UPLOAD_BYTES)"
        )
    if data.startswith(_OLE_MAGIC):
        raise WorkbookRejected(
            "this is a legacy .xls workbook or a password-protected file: open it in Excel and "
            f"save it as 'Excel Workbook (.xlsx)' without a password; {expected}"
        )
    if not data.startswith(_ZIP_MAGIC):
        if _looks_like_text(data):
            raise WorkbookRejected(
                f"this is a text file (CSV or similar), not a workbook, even if named .xlsx: {expected}; "
                "open it in a spreadsheet application and save it as .xlsx"
            )
        raise WorkbookRejected(f"the file is not a workbook: {expected}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise WorkbookRejected(f"the file is a damaged zip archive: {expected}") from err
    with archive:
        infos = archive.infolist()
        _check_sizes(infos, limits)
        names = {info.filename for info in infos}
        if "xl/workbook.xml" not in names:
            raise WorkbookRejected(
                f"the zip archive holds no Excel workbook (no xl/workbook.xml): {expected}"
            )
        # Each part is inflated once: the sheets checked here are the ones measured and read later.
        inflated = {
            info.filename: _without_dtd(archive, info)
            for info in infos
            if info.filename.endswith((".xml", ".rels", ".vml"))
        }
        return _sheet_parts(archive, names, inflated)


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in sample


def _check_sizes(infos: list[zipfile.ZipInfo], limits: ParseLimits) -> None:
    """Zip-bomb guards, applied to the sizes the archive declares before anything is inflated."""
    if len(infos) > limits.max_zip_entries:
        raise WorkbookRejected(
            f"the workbook has {len(infos):,} zip entries, over the limit of {limits.max_zip_entries:,} "
            "(setting READYCHECK_MAX_ZIP_ENTRIES)"
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise WorkbookRejected(
            f"the workbook unpacks to {total:,} bytes, over the limit of {limits.max_uncompressed_bytes:,} "
            "(setting READYCHECK_MAX_UNCOMPRESSED_BYTES)"
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= _RATIO_CHECK_FROM_BYTES and ratio > limits.max_compression_ratio:
            raise WorkbookRejected(
                f"the workbook part {info.filename} is compressed {ratio:,.0f}:1, over the limit of "
                f"{limits.max_compression_ratio}:1 (setting READYCHECK_MAX_COMPRESSION_RATIO); "
                "this looks like a zip bomb"
            )


def _without_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A part's bytes, rejecting DTDs and entity declarations (XML bombs, external entities) first."""
    # zipfile never inflates past the declared size, which _check_sizes bounded.
    xml = archive.read(info)
    if _DTD.search(xml):
        raise WorkbookRejected(
            f"the workbook part {info.filename} declares a DTD or entities, which workbooks never "
            "need; refused as a possible XML bomb"
        )
    return xml


def _sheet_parts(archive: zipfile.ZipFile, names: set[str], inflated: dict[str, bytes]) -> list[_SheetPart]:
    """Sheets in workbook order, with their zip paths and XML, listed with defusedxml."""
    from defusedxml import ElementTree

    workbook = ElementTree.fromstring(inflated["xl/workbook.xml"])
    targets: dict[str, str] = {}
    if "xl/_rels/workbook.xml.rels" in names:
        rels = ElementTree.fromstring(inflated["xl/_rels/workbook.xml.rels"])
        for rel in rels.iter(f"{{{_PKG_REL_NS}}}Relationship"):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[rel.get("Id", "")] = path
    parts = []
    for sheet in workbook.iter(f"{{{_MAIN_NS}}}sheet"):
        path = targets.get(sheet.get(f"{{{_REL_NS}}}id", ""), "")
        xml = inflated.get(path)
        if xml is None and path in names:
            xml = archive.read(path)
        parts.append(
            _SheetPart(name=sheet.get("name", ""), path=path, is_chart="chartsheets/" in path, xml=xml)
        )
    return parts


# ---------------------------------------------------------------- sheets to DataFrames


def _read_sheets(
    data: bytes, parts: list[_SheetPart], limits: ParseLimits
) -> tuple[dict[str, DataFrame], list[Problem]]:
    """Every worksheet as text cells indexed by sheet row number, columns named by letter."""
    import fastexcel

    reader = fastexcel.read_excel(data)
    by_name = {part.name: part for part in parts}
    problems: list[Problem] = []
    sheets: dict[str, DataFrame] = {}
    for name in reader.sheet_names:
        part = by_name.get(name)
        if part is None or part.is_chart or part.xml is None or not _ANY_VALUE.search(part.xml):
            continue
        _check_extent(name, part.xml, limits)
        sheet = reader.load_sheet(name, header_row=None, dtypes="string")
        first_row, first_col = _data_origin(part.xml)
        sheets[name] = _frame(sheet.to_pandas(), first_row, first_col)
        problems.extend(_formula_problems(name, part.xml))
    if not sheets:
        raise WorkbookRejected(
            "the workbook has no worksheet with data (only empty sheets or charts): expected answers in "
            "the ReadyCheck template, a Microsoft Forms export or a Google Forms export"
        )
    return sheets, problems


def _check_extent(name: str, xml: bytes, limits: ParseLimits) -> None:
    """Check the range calamine will allocate against the limits, before it allocates it.

    Calamine allocates a sheet's whole used range at once: one cell at XFD1048576 in a file of a
    few hundred bytes would abort the process, so the range is measured on the XML first, counting
    every cell element (styled empty ones too, which can only make the estimate larger).
    """
    span = _plain_span(xml) or _span_of_any_form(name, xml)
    if span is None:
        return
    first_row, last_row, first_col, last_col = span
    height = last_row - first_row + 1
    width = last_col - first_col + 1
    if height > limits.max_rows:
        raise WorkbookRejected(
            f"sheet {name!r} has {height:,} rows, over the limit of {limits.max_rows:,} "
            "(setting READYCHECK_MAX_ROWS)"
        )
    if width > limits.max_columns:
        raise WorkbookRejected(
            f"sheet {name!r} has {width:,} columns, over the limit of {limits.max_columns:,} "
            "(setting READYCHECK_MAX_COLUMNS)"
        )
    if height * width > limits.max_cells:
        raise WorkbookRejected(
            f"sheet {name!r} spans {height:,} rows by {width:,} columns ({height * width:,} cells), over the "
            f"limit of {limits.max_cells:,} cells (setting READYCHECK_MAX_CELLS)"
        )


def _plain_span(xml: bytes) -> tuple[int, int, int, int] | None:
    """First and last row, first and last column, when each cell and row tag opens with a plain reference.

    That is how Excel and the exporters write sheets, and it is measured in one vectorised pass
    instead of a Python object per cell. Any other form gives None, for :func:`_span_of_any_form`.
    """
    if _PREFIXED_TAG.search(xml) or _IRREGULAR_TAG.search(xml):
        return None
    import numpy as np

    sheet = np.frombuffer(xml, np.uint8)
    # Outside reference attributes "r" is rare in sheet XML (strings live in another part); one at
    # either end cannot be an attribute, and leaving it out keeps the neighbours below in range.
    letter_r = np.flatnonzero(sheet[1:-1] == ord("r")) + 1
    after = sheet[letter_r + 1]
    # Every spelling of an r attribute (``\sr\s*=``), so a second one in a tag is noticed.
    attributes = letter_r[_is_space(sheet[letter_r - 1]) & ((after == ord("=")) | _is_space(after))]
    cells = attributes[_text_at(sheet, attributes - 3, b'<c r="')]
    rows = attributes[_text_at(sheet, attributes - 5, b'<row r="')]
    if not len(cells) or len(cells) + len(rows) != len(attributes):
        return None
    columns, cell_rows = _reference_numbers(sheet, cells + 3)
    row_numbers = np.concatenate((cell_rows, _reference_numbers(sheet, rows + 3)[1]))
    return int(row_numbers.min()), int(row_numbers.max()), int(columns.min()), int(columns.max())


def _is_space(values: NDArray[np.uint8]) -> NDArray[np.bool_]:
    r"""Where the bytes are whitespace as ``\s`` matches it in a bytes pattern."""
    import numpy as np

    return np.isin(values, np.frombuffer(b" \t\n\r\x0b\x0c", np.uint8))


def _text_at(sheet: NDArray[np.uint8], positions: NDArray[np.intp], text: bytes) -> NDArray[np.bool_]:
    """Where ``text`` starts at each position."""
    import numpy as np

    found = (positions >= 0) & (positions + len(text) <= len(sheet))
    starts = np.clip(positions, 0, len(sheet) - len(text))
    for offset, byte in enumerate(text):
        found &= sheet[starts + offset] == byte
    return found


def _reference_numbers(
    sheet: NDArray[np.uint8], starts: NDArray[np.intp]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Column and row numbers of plain references (up to 3 letters, up to 7 digits, a quote)."""
    import numpy as np

    columns = np.zeros(len(starts), dtype=np.int64)
    rows = np.zeros(len(starts), dtype=np.int64)
    reading = np.ones(len(starts), dtype=bool)
    for offset in range(10):
        byte = sheet[np.minimum(starts + offset, len(sheet) - 1)].astype(np.int64)
        letter = reading & (byte >= ord("A")) & (byte <= ord("Z"))
        digit = reading & (byte >= ord("0")) & (byte <= ord("9"))
        columns = np.where(letter, columns * 26 + byte - ord("A") + 1, columns)
        rows = np.where(digit, rows * 10 + byte - ord("0"), rows)
        reading &= letter | digit
    return columns, rows


def _span_of_any_form(name: str, xml: bytes) -> tuple[int, int, int, int] | None:
    """The span measured with regular expressions, for prefixed tags, unreferenced cells or odd references."""
    odd_ref, cell_ref, cell_tag, row_ref = _ODD_REF, _CELL_REF, _CELL_TAG, _ROW_REF
    if not _PREFIXED_TAG.search(xml):
        odd_ref, cell_ref, cell_tag, row_ref = (
            _UNPREFIXED[rx] for rx in (odd_ref, cell_ref, cell_tag, row_ref)
        )
    odd = odd_ref.search(xml)
    if odd:
        raise WorkbookRejected(
            f"sheet {name!r} has a malformed cell or row reference near {odd.group(0)[:60]!r}: "
            "open it in a spreadsheet application and save it again as .xlsx"
        )
    refs = cell_ref.findall(xml)
    if len(refs) == len(cell_tag.findall(xml)):
        # Distinct texts first: a 50,000-row sheet has only a handful of column letters.
        letters, digits = (set(part) for part in zip(*refs, strict=True)) if refs else (set(), set())
        rows = {int(number) for number in digits | set(row_ref.findall(xml))}
        columns = {_column_number(text.decode()) for text in letters}
    else:
        rows, columns = _walk_positions(xml)
    if not rows or not columns:
        return None
    return min(rows), max(rows), min(columns), max(columns)


def _data_origin(xml: bytes) -> tuple[int, int]:
    """The first row and column (1-based) calamine starts a sheet at: its first valued cells."""
    first = _VALUED_CELL.search(xml)
    if first is None:  # cells without references
        rows, columns = _walk_positions(xml)
        return min(rows, default=1), min(columns, default=1)
    first_row = int(first.group(2))
    if _VALUED_CELL_IN_A.search(xml):
        return first_row, 1
    first_col = min((_column_number(m.group(1).decode()) for m in _VALUED_CELL.finditer(xml)), default=1)
    return first_row, first_col


def _walk_positions(xml: bytes) -> tuple[set[int], set[int]]:
    """Rows and columns of the cells of a sheet whose cells omit ``r``, placed as calamine does."""
    rows: set[int] = set()
    columns: set[int] = set()
    row = column = 0
    for tag, attributes in _ROW_OR_CELL.findall(xml):
        if tag == b"row":
            number = _ROW_NUMBER.search(b" " + attributes)
            row, column = (int(number.group(1)) if number else row + 1), 0
            continue
        ref = _CELL_NUMBER.search(b" " + attributes)
        if ref:
            column, row = _column_number(ref.group(1).decode()), int(ref.group(2))
        else:
            column += 1
        rows.add(row)
        columns.add(column)
    return rows, columns


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (ord(letter) - ord("A") + 1)
    return number


def column_letter(number: int) -> str:
    """The spreadsheet letter of a 1-based column number (1 -> A, 28 -> AB)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _frame(raw: DataFrame, first_row: int, first_col: int) -> DataFrame:
    """Relabel fastexcel's frame: index = sheet row numbers, columns = letters."""
    import pandas as pd

    # fastexcel's frame is new and owned here: relabel it in place rather than copy every cell.
    raw.columns = pd.Index([column_letter(first_col + i) for i in range(len(raw.columns))])
    raw.index = pd.RangeIndex(first_row, first_row + len(raw))
    return raw


def _formula_problems(sheet: str, xml: bytes) -> Iterator[Problem]:
    """One located problem per formula cell (the first few), saying the cached value was used."""
    if b"<f" not in xml and b":f" not in xml:
        return
    for count, match in enumerate(_FORMULA_CELL.finditer(xml)):
        if count == _MAX_FORMULA_PROBLEMS:
            yield Problem(sheet, None, None, "more formula cells follow; each was read as its saved value")
            return
        yield Problem(
            sheet,
            int(match.group(2)),
            match.group(1).decode(),
            "the cell holds a formula; it was not evaluated, its saved value (if any) was read",
        )


# ---------------------------------------------------------------- the template


_WRAP_WIDTHS = {"id": 26, "topic": 28, "question": 70, "choices": 60, "answer": 40, "long_answer": 90}


def build_template(bank: Bank) -> bytes:
    """The blank answer-sheet workbook for this bank, as .xlsx bytes."""
    from openpyxl import Workbook

    workbook = Workbook()
    instructions = workbook.active
    assert instructions is not None  # a new Workbook always has one sheet
    instructions.title = SHEET_INSTRUCTIONS
    _instructions(instructions, bank)
    _candidate(workbook.create_sheet(SHEET_CANDIDATE), bank)
    _self_assessment(workbook.create_sheet(SHEET_SELF_ASSESSMENT), bank)
    _item_sheet(workbook.create_sheet(SHEET_QUIZ), bank.items_in(Section.QUIZ), choices=True)
    _item_sheet(workbook.create_sheet(SHEET_SERVICE_MAPPING), bank.items_in(Section.SERVICE_MAPPING))
    _item_sheet(workbook.create_sheet(SHEET_SCENARIOS), bank.items_in(Section.SCENARIOS), long=True)
    workbook.properties.title = f"{bank.role} readiness answer sheet"
    workbook.properties.subject = f"{bank.id} {bank.version}"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _put(sheet: Worksheet, row: int, column: int, value: str | int | float, **style: object) -> None:
    """Write a cell; text is always stored as text, so bank text can never become a formula."""
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    for name, setting in style.items():
        setattr(cell, name, setting)


def _header(sheet: Worksheet, labels: list[str], widths: list[int]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    fill = PatternFill("solid", fgColor="1F4E78")
    for column, (label, width) in enumerate(zip(labels, widths, strict=True), start=1):
        _put(sheet, 1, column, label, font=Font(bold=True, color="FFFFFF"), fill=fill)
        sheet.cell(row=1, column=column).alignment = Alignment(vertical="center", wrap_text=True)
        sheet.column_dimensions[column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    # Printed or exported to PDF: landscape, one page wide, the header repeated on every page.
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    if sheet.sheet_properties.pageSetUpPr is not None:
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"


def _protect(sheet: Worksheet) -> None:
    """Lock question text; answers stay editable. No password: protection guides, it does not secure."""
    sheet.protection.sheet = True
    sheet.protection.formatCells = False
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    sheet.protection.sort = False
    sheet.protection.autoFilter = False


def _answer_cell(sheet: Worksheet, row: int, column: int, *, tall: bool = False) -> None:
    from openpyxl.styles import Alignment, PatternFill, Protection

    cell = sheet.cell(row=row, column=column)
    cell.protection = Protection(locked=False)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    cell.fill = PatternFill("solid", fgColor="FFF2CC")
    if tall:
        sheet.row_dimensions[row].height = 150


def _fit_row(sheet: Worksheet, row: int, texts: list[tuple[str, int]]) -> None:
    """Size a row for its wrapped text: Excel and LibreOffice do not grow rows that openpyxl wrote."""
    lines = max(
        sum(max(1, math.ceil(len(line) / max(width - 2, 1))) for line in text.split("\n"))
        for text, width in texts
    )
    sheet.row_dimensions[row].height = 15 * lines + 3


def _instructions(sheet: Worksheet, bank: Bank) -> None:
    from openpyxl.styles import Alignment, Font

    lines = [
        f"Question bank {bank.id}, version {bank.version}.",
        "",
        f"1. Fill in your name and email on the '{SHEET_CANDIDATE}' sheet (the email identifies you).",
        f"2. '{SHEET_SELF_ASSESSMENT}': rate your confidence in each topic from 1 (new to me) to 5 (expert).",
        f"3. '{SHEET_QUIZ}': pick the letter of the best option; where it says 'choose all that "
        "apply', type every letter that applies, e.g. A, C.",
        f"4. '{SHEET_SERVICE_MAPPING}': name the Azure service that corresponds to the AWS service.",
        f"5. '{SHEET_SCENARIOS}': answer in your own words, as you would in the interview.",
        "",
        f"Answer only in the yellow '{HEADER_ANSWER}' cells. Leave the '{HEADER_ITEM_ID}' and "
        f"'{HEADER_TOPIC_ID}' columns as they are: rows are matched by these ids, so sorting or "
        "moving rows is fine.",
        "Save as .xlsx (Excel, LibreOffice Calc, or Google Sheets via File > Download > Microsoft "
        "Excel) and upload it.",
    ]
    sheet.column_dimensions["A"].width = 120
    _put(sheet, 1, 1, f"{bank.role}: readiness answer sheet", font=Font(bold=True, size=14))
    for row, text in enumerate(lines, start=2):
        if text:
            _put(sheet, row, 1, text, alignment=Alignment(wrap_text=True, vertical="top"))
    _protect(sheet)


def _candidate(sheet: Worksheet, bank: Bank) -> None:
    from openpyxl.styles import Font

    _header(sheet, ["Field", "Value"], [18, 50])
    hints = {"email": "", "target_role": bank.role, "date": ""}
    for row, (attr, label) in enumerate(CANDIDATE_FIELDS, start=2):
        _put(sheet, row, 1, label, font=Font(bold=True))
        if hints.get(attr):
            _put(sheet, row, 2, hints[attr])
        _answer_cell(sheet, row, 2)
    _put(sheet, len(CANDIDATE_FIELDS) + 3, 1, "Date as YYYY-MM-DD; your email is how results find you.")
    _protect(sheet)


def _self_assessment(sheet: Worksheet, bank: Bank) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    _header(sheet, [HEADER_TOPIC_ID, "Topic", "Priority", HEADER_CONFIDENCE], [26, 70, 12, 18])
    ratings = DataValidation(
        type="whole",
        operator="between",
        formula1="1",
        formula2="5",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Confidence",
        error="Enter a whole number from 1 (new to me) to 5 (expert).",
        showInputMessage=True,
        promptTitle="Confidence",
        prompt="1 = new to me ... 5 = expert",
    )
    sheet.add_data_validation(ratings)
    for row, topic in enumerate(bank.topics, start=2):
        _put(sheet, row, 1, topic.id)
        _put(sheet, row, 2, topic.name)
        _put(sheet, row, 3, topic.priority.value)
        _answer_cell(sheet, row, 4)
        ratings.add(f"D{row}")
    _protect(sheet)


def _item_sheet(
    sheet: Worksheet, items: tuple[Item, ...], *, choices: bool = False, long: bool = False
) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.worksheet.datavalidation import DataValidation

    labels = [HEADER_ITEM_ID, "Topic", "Question"]
    widths = [_WRAP_WIDTHS["id"], _WRAP_WIDTHS["topic"], _WRAP_WIDTHS["question"]]
    if choices:
        labels.append("Options")
        widths.append(_WRAP_WIDTHS["choices"])
    labels.append(HEADER_ANSWER)
    widths.append(_WRAP_WIDTHS["long_answer" if long else "answer"])
    _header(sheet, labels, widths)
    answer_column = len(labels)
    lists: dict[str, DataValidation] = {}
    wrap = Alignment(wrap_text=True, vertical="top")
    for row, item in enumerate(items, start=2):
        _put(sheet, row, 1, item.id, alignment=wrap)
        _put(sheet, row, 2, item.topic, alignment=wrap)
        _put(sheet, row, 3, item.prompt, alignment=wrap)
        wrapped = [(item.prompt, widths[2])]
        if choices:
            options = "\n".join(choice_label(c.key, c.text) for c in item.choices)
            _put(sheet, row, 4, options, alignment=wrap)
            wrapped.append((options, widths[3]))
        _answer_cell(sheet, row, answer_column, tall=long)
        if not long:
            _fit_row(sheet, row, wrapped)
        cell = f"{column_letter(answer_column)}{row}"
        if item.kind is ItemKind.SINGLE_CHOICE:
            keys = ",".join(c.key for c in item.choices)
            if keys not in lists:
                lists[keys] = DataValidation(
                    type="list",
                    formula1=f'"{keys}"',
                    allow_blank=True,
                    showErrorMessage=True,
                    error=f"Pick one of {keys}.",
                    showInputMessage=True,
                    prompt="Pick the letter of the best option.",
                )
                sheet.add_data_validation(lists[keys])
            lists[keys].add(cell)
        elif item.kind is ItemKind.MULTIPLE_CHOICE:
            multi = lists.get("multi")
            if multi is None:
                multi = DataValidation(
                    type="textLength",
                    operator="lessThanOrEqual",
                    formula1="40",
                    allow_blank=True,
                    showInputMessage=True,
                    prompt="Choose all that apply: type the letters, e.g. A, C",
                )
                lists["multi"] = multi
                sheet.add_data_validation(multi)
            multi.add(cell)
    _protect(sheet)
