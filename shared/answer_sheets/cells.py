"""Cells and dates: sheet cells as stripped text, whole numbers, and date/time columns read at once.

The reader hands over one DataFrame per sheet: the index holds 1-based sheet row numbers, the
columns the sheet's column letters, every cell text or missing. Date/time columns are parsed
whole (pandas, vectorised), never cell by cell.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    from pandas import DataFrame, Series

# Rows searched for a header: round trips may add blank rows or a title above it.
HEADER_SEARCH_ROWS = 20
_WHOLE_NUMBER = re.compile(r"^\s*([+-]?\d+(?:[.,]0+)?)(?:\s*(?:[-–:)]\s*.*|\s+\D.*))?$")
_NOT_ALNUM = re.compile(r"[\W_]+")
_EXCEL_EPOCH = "1899-12-30"
_EXCEL_LAST_SERIAL = 2_958_466  # 9999-12-31; serial 1 is 1900-01-01
# ISO 8601 text (Excel date cells read as text, Google's and most exporters' times).
_ISO = r"^\d{4}-\d{2}-\d{2}(?:$|[T ])"
# Text times in the exporters' locales, tried on what ISO and serials leave. Slashes are month
# first unless a column holds a value only day first can read (a day-first locale's export).
_MONTH_FIRST = (
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
)
_DAY_FIRST = tuple(fmt.replace("%m/%d", "%d/%m") for fmt in _MONTH_FIRST)
_OTHER_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)


def clean_column(column: Series) -> Series:
    """A column as stripped text, empty for missing (pandas, for the few columns parsed as dates)."""
    cleaned: Series = column.astype("string[pyarrow]").str.strip().fillna("")
    return cleaned


def text_cells(column: Series) -> pa.Array:
    """A column's cells as stripped Arrow strings, empty for missing: no Python object per cell."""
    import pyarrow.compute as pc

    trimmed: pa.Array = pc.fill_null(pc.utf8_trim_whitespace(arrow_cells(column)), "")
    return trimmed


def arrow_cells(column: Series) -> pa.Array:
    """A column's cells as Arrow strings as they are (null for missing), without copying Arrow-backed ones."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        cells = pa.array(
            column.array if hasattr(column.array, "__arrow_array__") else column, from_pandas=True
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers among texts, as a test frame may hold
        cells = pa.array(column.astype("string[pyarrow]").array)
    if not pa.types.is_string(cells.type) and not pa.types.is_large_string(cells.type):
        cells = pc.cast(cells, pa.string())
    return cells


def filled_cells(cells: pa.Array) -> pa.Array:
    """Where the Arrow cells hold more than whitespace, found without stripping (long texts stay uncopied)."""
    import pyarrow.compute as pc

    blank = pc.or_kleene(pc.equal(pc.binary_length(cells), 0), pc.utf8_is_space(cells))
    filled: pa.Array = pc.fill_null(pc.invert(blank), False)
    return filled


def clean_frame(frame: DataFrame) -> DataFrame:
    """Every cell as stripped text, empty for missing, as Python strings: for headers and templates."""
    import pandas as pd

    # Column by column: a row-wise conversion of Arrow-backed columns would interleave them first.
    columns = {name: _clean_texts(frame[name]) for name in frame.columns}
    return pd.DataFrame(columns, index=frame.index, columns=frame.columns, dtype=object)


def _clean_texts(column: Series) -> list[str]:
    import pandas as pd
    import pyarrow as pa

    if isinstance(column.dtype, pd.ArrowDtype) and pa.types.is_string(column.dtype.pyarrow_dtype):
        # Arrow to Python in one call, not a pandas scalar per cell.
        return ["" if cell is None else str(cell).strip() for cell in arrow_cells(column).to_pylist()]
    return ["" if pd.isna(cell) else str(cell).strip() for cell in column.tolist()]


@functools.lru_cache(maxsize=8192)
def norm(text: str) -> str:
    """Text for comparison: Unicode-normalised, casefolded, punctuation as spaces, single spaces."""
    # [\W_] is exactly what str.isalnum() rejects; one regex pass instead of a loop per character.
    return " ".join(_NOT_ALNUM.sub(" ", unicodedata.normalize("NFKC", text).casefold()).split())


def row_texts(frame: DataFrame, row: int) -> dict[str, str]:
    """The non-empty cells of one row of a cleaned frame, keyed by column letter."""
    return {str(col): str(text) for col, text in frame.loc[row].items() if text}


def first_filled_row(frame: DataFrame) -> int | None:
    """The first row (1-based label) within the header search window that has any value."""
    for row in frame.index[:HEADER_SEARCH_ROWS]:
        if row_texts(frame, int(row)):
            return int(row)
    return None


def rows_below(frame: DataFrame, header: int) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, non-empty cells by column letter) for every non-blank row below the header."""
    columns = [str(c) for c in frame.columns]
    body = frame.loc[frame.index > header]
    for row, line in zip(body.index, body.to_numpy(dtype=object), strict=True):
        cells = {col: text for col, text in zip(columns, line, strict=True) if text}
        if cells:
            yield int(row), cells


def as_int(text: str) -> int | None:
    """A whole number written as ``4``, ``4.0`` or ``4 - confident``; None otherwise."""
    match = _WHOLE_NUMBER.match(text)
    if not match:
        return None
    return int(match.group(1).replace(",", ".").split(".")[0])


def read_datetimes(texts: Series) -> Series:
    """A text column's date/times, parsed once for the column: naive UTC, NaT where unreadable.

    Read in turn: ISO 8601 (with or without an offset), Excel serial numbers, then the exporters'
    locale formats, each applied to the whole of what is still unread.
    """
    import pandas as pd

    texts = clean_column(texts)
    moments = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[us]")
    iso = texts.str.contains(_ISO, regex=True)
    if iso.any():
        # Times with and without an offset still compare when ordering duplicates.
        read = pd.to_datetime(texts[iso], format="ISO8601", errors="coerce", utc=True)
        moments[iso] = read.dt.tz_convert(None).astype("datetime64[us]")
    rest = texts[moments.isna() & (texts != "")]
    serials = pd.to_numeric(rest, errors="coerce")
    in_range = (serials >= 1) & (serials < _EXCEL_LAST_SERIAL)
    if in_range.any():
        days = pd.to_timedelta(serials[in_range].astype("float64"), unit="D")
        moments[days.index] = (pd.Timestamp(_EXCEL_EPOCH) + days).astype("datetime64[us]")
    rest = rest[~in_range.fillna(False).astype(bool)]
    if len(rest):
        month_first = _by_formats(rest, (*_MONTH_FIRST, *_OTHER_FORMATS))
        if month_first.isna().any():
            day_first = _by_formats(rest, (*_DAY_FIRST, *_OTHER_FORMATS))
            if day_first.notna().sum() > month_first.notna().sum():
                month_first = day_first
        moments[rest.index] = month_first
    return moments


def _by_formats(texts: Series, formats: tuple[str, ...]) -> Series:
    """The texts read with the first of ``formats`` that reads each, NaT for none.

    An export writes one format per column: the format is picked on the first unread text and
    applied to the whole rest at once, so a column costs one vectorised pass per format it uses.
    """
    import pandas as pd

    read = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[us]")
    untried = list(formats)
    unread = texts
    while len(unread) and untried:
        first = str(unread.iloc[0])
        fitting = [fmt for fmt in untried if _reads(first, fmt)]
        # A text no format reads: what is left is tried with every format, still column-wise.
        for fmt in fitting[:1] or list(untried):
            untried.remove(fmt)
            read[unread.index] = pd.to_datetime(unread, format=fmt, errors="coerce").astype("datetime64[us]")
            unread = texts[read.isna()]
        if not fitting:
            break
    return read


def _reads(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def iso_days(texts: Series) -> list[str]:
    """Each cell's ISO date when it reads as a date/time; the text itself when it does not."""
    moments = read_datetimes(texts)
    days = moments.dt.strftime("%Y-%m-%d")
    return [str(d) for d in days.where(moments.notna(), clean_column(texts)).tolist()]


def as_date(text: str) -> str:
    """An ISO date for one date/time cell in any form we read; the text itself when unreadable."""
    import pandas as pd

    return iso_days(pd.Series([text], dtype=object))[0]
