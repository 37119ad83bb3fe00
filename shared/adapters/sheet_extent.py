"""The used-range guard: each sheet's extent measured on its verified XML before calamine allocates it.

The container guard (:mod:`shared.adapters.workbook_guard`) hands over verified parts; this module
lists the sheets (defusedxml) and checks the range calamine would allocate for each against the
limits, refusing any cell or row reference calamine could read differently. The reader
(:mod:`shared.adapters.workbook_reader`) calls it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.errors import WorkbookRejected
from shared.settings import ParseLimits

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
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


# ---------------------------------------------------------------- the container


@dataclass(frozen=True, slots=True)
class SheetPart:
    """A worksheet listed in workbook.xml and the zip entry holding its cells."""

    name: str
    path: str
    is_chart: bool
    xml: bytes | None  # None when the path names no entry of the zip


def sheet_parts(inflated: Mapping[str, bytes]) -> list[SheetPart]:
    """Sheets in workbook order, with their zip paths and XML, listed with defusedxml."""
    from defusedxml import ElementTree

    workbook = ElementTree.fromstring(inflated["xl/workbook.xml"])
    targets: dict[str, str] = {}
    if "xl/_rels/workbook.xml.rels" in inflated:
        rels = ElementTree.fromstring(inflated["xl/_rels/workbook.xml.rels"])
        for rel in rels.iter(f"{{{_PKG_REL_NS}}}Relationship"):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[rel.get("Id", "")] = path
    parts = []
    for sheet in workbook.iter(f"{{{_MAIN_NS}}}sheet"):
        path = targets.get(sheet.get(f"{{{_REL_NS}}}id", ""), "")
        xml = inflated.get(path)
        parts.append(
            SheetPart(name=sheet.get("name", ""), path=path, is_chart="chartsheets/" in path, xml=xml)
        )
    return parts


def check_extent(name: str, xml: bytes, limits: ParseLimits) -> tuple[int, int, int, int] | None:
    """Check the range calamine will allocate against the limits, before it allocates it; its span.

    Calamine allocates a sheet's whole used range at once: one cell at XFD1048576 in a file of a
    few hundred bytes would abort the process, so the range is measured on the XML first, counting
    every cell element (styled empty ones too, which can only make the estimate larger).
    """
    span = _plain_span(xml) or _span_of_any_form(name, xml)
    if span is not None:
        check_span(name, span, limits)
    return span


def check_cell_elements(name: str, count: int, limits: ParseLimits) -> None:
    """Check how many cell elements a sheet has against the cell limit (repeats of one cell count too)."""
    if count > limits.max_cells:
        raise WorkbookRejected(
            f"sheet {name!r} has {count:,} cell elements, over the limit of {limits.max_cells:,} cells "
            "(setting READYCHECK_MAX_CELLS)"
        )


def check_span(name: str, span: tuple[int, int, int, int], limits: ParseLimits) -> None:
    """Check a sheet's span (first and last row, first and last column) against the limits."""
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
        columns = {column_number(text.decode()) for text in letters}
    else:
        rows, columns = walk_positions(xml)
    if not rows or not columns:
        return None
    return min(rows), max(rows), min(columns), max(columns)


def walk_positions(xml: bytes) -> tuple[set[int], set[int]]:
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
            column, row = column_number(ref.group(1).decode()), int(ref.group(2))
        else:
            column += 1
        rows.add(row)
        columns.add(column)
    return rows, columns


def column_letter(number: int) -> str:
    """The spreadsheet letter of a 1-based column number (1 -> A, 28 -> AB)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (ord(letter) - ord("A") + 1)
    return number
