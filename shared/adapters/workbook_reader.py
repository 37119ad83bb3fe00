"""Workbook bytes to text DataFrames: every worksheet read by fastexcel (calamine), after the guards.

The guards (:mod:`shared.adapters.workbook_guard` for the container, :mod:`shared.adapters.sheet_extent`
for each sheet's used range) run before calamine sees anything, and calamine reads only the zip rebuilt
from verified bytes. Cells are read as text straight into Arrow: a sheet becomes a DataFrame of
Arrow-backed strings (index = sheet row numbers, columns = letters) without a Python object per
cell, so the core rules pick the columns they need and strip, encode and parse them column-wise.
Formulas are never evaluated: calamine returns the value the spreadsheet application cached, and
every formula cell is reported as a located problem. Nothing here knows the answer-sheet rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.adapters.sheet_extent import check_extent, column_number, sheet_parts, walk_positions
from shared.adapters.workbook_guard import check_workbook
from shared.errors import Problem, WorkbookRejected

if TYPE_CHECKING:
    from pandas import DataFrame

    from shared.settings import ParseLimits

_MAX_FORMULA_PROBLEMS = 20
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
    import fastexcel
    import pandas as pd

    # The reader sees only the zip rebuilt from bytes the guard inflated and verified.
    checked = check_workbook(data, limits)
    parts = sheet_parts(checked.parts)
    reader = fastexcel.read_excel(checked.clean_zip)
    by_name = {part.name: part for part in parts}
    problems: list[Problem] = []
    sheets: dict[str, DataFrame] = {}
    for name in reader.sheet_names:
        part = by_name.get(name)
        if part is None or part.is_chart or part.xml is None or not _ANY_VALUE.search(part.xml):
            continue
        check_extent(name, part.xml, limits)
        # Eager: calamine streams the rows into Arrow string arrays; every cell as text, so no
        # type is guessed (and no "could not determine dtype" is logged for blank columns).
        batch = reader.load_sheet(name, header_row=None, dtypes="string", eager=True)
        first_row, first_col = _data_origin(part.xml)
        sheets[name] = _frame(batch.to_pandas(types_mapper=pd.ArrowDtype), first_row, first_col)
        problems.extend(_formula_problems(name, part.xml))
    if not sheets:
        raise WorkbookRejected(
            "the workbook has no worksheet with data (only empty sheets or charts): expected answers in "
            "the ReadyCheck template, a Microsoft Forms export or a Google Forms export"
        )
    return sheets, problems


def column_letter(number: int) -> str:
    """The spreadsheet letter of a 1-based column number (1 -> A, 28 -> AB)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _data_origin(xml: bytes) -> tuple[int, int]:
    """The first row and column (1-based) calamine starts a sheet at: its first valued cells."""
    first = _VALUED_CELL.search(xml)
    if first is None:  # cells without references
        rows, columns = walk_positions(xml)
        return min(rows, default=1), min(columns, default=1)
    first_row = int(first.group(2))
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
