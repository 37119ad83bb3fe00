"""Workbook bytes to text DataFrames: every worksheet read after the guards, in bulk or by calamine.

The guards (:mod:`shared.adapters.workbook_guard` for the container, :mod:`shared.adapters.sheet_extent`
for each sheet's used range) run before any reader sees anything, and calamine reads only zips rebuilt
from verified bytes. Sheets in the plain form Excel and the exporters write are read in bulk by
:mod:`shared.adapters.sheet_cells` (calamine converts only their number and date cells); any other
workbook is read by calamine (through fastexcel) whole. Either way cells are read as text straight
into Arrow: a sheet becomes a DataFrame of Arrow-backed strings (index = sheet row numbers, columns =
letters) without a Python object per cell, so the core rules pick the columns they need and strip,
encode and parse them column-wise. Formulas are never evaluated: calamine returns the value the
spreadsheet application cached, and every formula cell is reported as a located problem. Nothing
here knows the answer-sheet rules.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from shared.adapters.sheet_extent import (
    SheetPart,
    check_cell_elements,
    check_extent,
    check_span,
    column_letter,
    column_number,
    sheet_parts,
    walk_positions,
)
from shared.adapters.workbook_guard import CheckedWorkbook, check_workbook
from shared.errors import Problem, WorkbookRejected

if TYPE_CHECKING:
    from pandas import DataFrame

    from shared.settings import ParseLimits

__all__ = ["column_letter", "read_sheets"]

_MAX_FORMULA_PROBLEMS = 20
_SHARED_STRINGS = "xl/sharedStrings.xml"
_PACKAGE_RELS = "_rels/.rels"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
# A cell element that is not self-closing; group 1 = column letters, group 2 = row number.
_CELL_PREFIX = rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]{1,3})(\d+)\"[^>]*(?<!/)>"
# Up to the cell's end, never into the next cell.
_INSIDE_CELL = rb"(?:(?!</(?:\w+:)?c>|<(?:\w+:)?c\b).){0,4000}?"
# A cell that holds a value (<v> or inline <is>), i.e. one calamine counts as data.
_VALUED_CELL = re.compile(_CELL_PREFIX + _INSIDE_CELL + rb"<(?:\w+:)?(?:v|is)\b", re.S)
_VALUED_CELL_IN_A = re.compile(
    _CELL_PREFIX.replace(b"[A-Z]{1,3}", b"A") + _INSIDE_CELL + rb"<(?:\w+:)?(?:v|is)\b", re.S
)
_ANY_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is)\b")
_FORMULA_CELL = re.compile(_CELL_PREFIX + rb"\s*<(?:\w+:)?f\b")


def read_sheets(data: bytes, limits: ParseLimits) -> tuple[dict[str, DataFrame], list[Problem]]:
    """Every worksheet with data as text cells indexed by sheet row number, columns named by letter."""
    checked = check_workbook(data, limits)
    with_data = [
        part
        for part in sheet_parts(checked.parts)
        if not part.is_chart and part.xml is not None and _ANY_VALUE.search(part.xml)
    ]
    plain = _read_plain(checked, with_data, limits)
    sheets, problems = plain if plain is not None else _read_with_calamine(checked, with_data, limits)
    if not sheets:
        raise WorkbookRejected(
            "the workbook has no worksheet with data (only empty sheets or charts): expected answers in "
            "the ReadyCheck template, a Microsoft Forms export or a Google Forms export"
        )
    return sheets, problems


def _read_plain(
    checked: CheckedWorkbook, with_data: list[SheetPart], limits: ParseLimits
) -> tuple[dict[str, DataFrame], list[Problem]] | None:
    """The sheets read by :mod:`shared.adapters.sheet_cells`, or None when any is not in the plain form.

    Calamine still reads the workbook's small parts (sheet names, styles) and converts the cells
    left to it, from a clean zip where each sheet is replaced by a sheet of just those cells and the
    shared strings are left out.
    """
    import fastexcel

    from shared.adapters import sheet_cells

    if not with_data or not _paths_resolve_as_calamine_does(checked.parts):
        return None
    try:
        strings = sheet_cells.shared_strings(checked.parts.get(_SHARED_STRINGS))
        plain = {}
        for part in with_data:
            try:
                plain[part.name] = sheet_cells.read_sheet(part.xml or b"", len(strings), limits.max_cells)
            except sheet_cells.TooManyCells as many:
                check_cell_elements(part.name, many.count, limits)
    except sheet_cells.NotPlain:
        return None
    for part in with_data:
        check_span(part.name, plain[part.name].span, limits)
    # Each sheet of cells left to calamine starts with a marker it must read back, so a sheet it
    # resolved otherwise than sheet_parts did is noticed rather than misread.
    marker = f"readycheck:{secrets.token_hex(8)}"
    replacing: dict[str, bytes | None] = {
        part.path: sheet_cells.mini_sheet(marker, plain[part.name].mini_cells) for part in with_data
    }
    replacing[_SHARED_STRINGS] = None
    reader = fastexcel.read_excel(checked.rebuilt(replacing))
    sheets: dict[str, DataFrame] = {}
    for name in reader.sheet_names:
        sheet = plain.get(name)
        if sheet is None or name in sheets:
            continue
        batch = reader.load_sheet(name, header_row=None, dtypes="string", eager=True)
        try:
            converted = sheet_cells.mini_values(batch, marker, sheet.mini_count)
        except sheet_cells.NotPlain:
            return None
        sheets[name] = sheet.frame(strings, converted)
    return (sheets, []) if len(sheets) == len(plain) else None


def _paths_resolve_as_calamine_does(parts: Mapping[str, bytes]) -> bool:
    """Whether calamine finds the workbook and its shared strings where they are read here.

    Calamine looks zip paths up case-insensitively and takes the workbook's folder from the package
    relationships; both must leave it no other part to read than the one read here.
    """
    from defusedxml import ElementTree

    if len({name.replace("\\", "/").lower() for name in parts}) != len(parts) or _PACKAGE_RELS not in parts:
        return False
    targets = [
        rel.get("Target", "")
        for rel in ElementTree.fromstring(parts[_PACKAGE_RELS]).iter(f"{{{_PKG_REL_NS}}}Relationship")
        if rel.get("Type", "").endswith("/relationships/officeDocument")
    ]
    if not targets:
        return False
    folder = targets[-1][: targets[-1].rfind("/") + 1].removeprefix("/")
    return folder.lower() == "xl/"


def _read_with_calamine(
    checked: CheckedWorkbook, with_data: list[SheetPart], limits: ParseLimits
) -> tuple[dict[str, DataFrame], list[Problem]]:
    """The sheets read by calamine from a clean zip of the verified parts, each range checked first."""
    import fastexcel
    import pandas as pd

    reader = fastexcel.read_excel(checked.clean_zip)
    by_name = {part.name: part for part in with_data}
    problems: list[Problem] = []
    sheets: dict[str, DataFrame] = {}
    for name in reader.sheet_names:
        part = by_name.get(name)
        if part is None or part.xml is None:
            continue
        span = check_extent(name, part.xml, limits)
        # Eager: calamine streams the rows into Arrow string arrays; every cell as text, so no
        # type is guessed (and no "could not determine dtype" is logged for blank columns).
        batch = reader.load_sheet(name, header_row=None, dtypes="string", eager=True)
        first_row, first_col = _data_origin(part.xml, span)
        sheets[name] = _frame(batch.to_pandas(types_mapper=pd.ArrowDtype), first_row, first_col)
        problems.extend(_formula_problems(name, part.xml))
    return sheets, problems


def _data_origin(xml: bytes, span: tuple[int, int, int, int] | None) -> tuple[int, int]:
    """The first row and column (1-based) calamine starts a sheet at: those of its valued cells."""
    first = _VALUED_CELL.search(xml)
    if first is None:  # cells without references
        rows, columns = walk_positions(xml)
        return min(rows, default=1), min(columns, default=1)
    first_row = int(first.group(2))
    if span is not None and first_row != span[0]:
        # Rows out of order (or an empty cell first): calamine's range starts at the smallest.
        first_row = min(int(match.group(2)) for match in _VALUED_CELL.finditer(xml, first.start()))
    if _VALUED_CELL_IN_A.search(xml):
        return first_row, 1
    first_col = min((column_number(m.group(1).decode()) for m in _VALUED_CELL.finditer(xml)), default=1)
    return first_row, first_col


def _frame(raw: DataFrame, first_row: int, first_col: int) -> DataFrame:
    """Relabel fastexcel's frame: index = sheet row numbers, columns = letters."""
    import pandas as pd

    # The frame is new and owned here: relabel it in place rather than copy every cell.
    raw.columns = pd.Index([column_letter(first_col + i) for i in range(len(raw.columns))])
    raw.index = pd.RangeIndex(first_row, first_row + len(raw))
    return raw


def _formula_problems(sheet: str, xml: bytes) -> Iterator[Problem]:
    """One located problem per formula cell (the first few), saying the cached value was used."""
    if not _may_hold_formulas(xml):
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


def _may_hold_formulas(xml: bytes) -> bool:
    """Whether ``<f`` or ``:f`` (a formula tag, prefixed or not) occurs: one vectorised pass.

    Several times faster than two ``in`` scans for a two-byte needle, which the sheet's many tags slow down.
    """
    import numpy as np

    sheet = np.frombuffer(xml, np.uint8)
    before_f = sheet[np.flatnonzero(sheet[1:] == ord("f"))]
    return bool(np.isin(before_f, (ord("<"), ord(":"))).any())
