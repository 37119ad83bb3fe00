"""Date/time columns are read once per column, in every form the exports write them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from shared.answer_sheets.cells import iso_days, norm, read_datetimes, text_cells


def moments(*texts: str | None) -> list[datetime | None]:
    read = read_datetimes(pd.Series(list(texts), dtype=object))
    return [None if pd.isna(m) else m.to_pydatetime() for m in read]


def test_iso_times_with_an_offset_become_naive_utc() -> None:
    assert moments("2026-03-02 08:00:37", "2026-03-02T10:00:00+02:00", "2026-03-02") == [
        datetime(2026, 3, 2, 8, 0, 37),
        datetime(2026, 3, 2, 8, 0),
        datetime(2026, 3, 2),
    ]


def test_excel_serials_count_days_from_1899_12_30() -> None:
    assert moments("46083.5", "1") == [
        datetime(1899, 12, 30) + timedelta(days=46083.5),
        datetime(1899, 12, 31),
    ]


def test_locale_text_times_are_read_in_the_exporters_format() -> None:
    assert moments("02.03.2026 08:00:37", "3/2/2026 8:00:37 PM", "2026/03/02") == [
        datetime(2026, 3, 2, 8, 0, 37),
        datetime(2026, 3, 2, 20, 0, 37),
        datetime(2026, 3, 2),
    ]


def test_slashed_dates_are_month_first_unless_the_column_is_day_first() -> None:
    assert moments("03/02/2026", "03/25/2026") == [datetime(2026, 3, 2), datetime(2026, 3, 25)]
    assert moments("03/02/2026 09:00", "25/03/2026 08:00") == [
        datetime(2026, 2, 3, 9, 0),
        datetime(2026, 3, 25, 8, 0),
    ]


def test_unreadable_or_blank_times_are_missing_and_their_day_keeps_the_text() -> None:
    assert moments("soon", "", None, "2026") == [None, None, None, datetime(1905, 7, 18)]
    assert iso_days(pd.Series(["soon", "02.03.2026 08:00", " 46083 "], dtype=object)) == [
        "soon",
        "2026-03-02",
        "2026-03-02",
    ]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [([" a ", None, "b"], ["a", "", "b"]), ([4, " x", None], ["4", "x", ""])],
)
def test_text_cells_are_stripped_and_empty_when_missing(cells: list[object], expected: list[str]) -> None:
    assert text_cells(pd.Series(cells, dtype=object)).to_pylist() == expected


def test_norm_keeps_letters_and_digits_of_any_script_only() -> None:
    assert norm("  Heure de DÉBUT_(1) ") == "heure de début 1"
    assert norm("Fertigstellungs-Zeit!") == "fertigstellungs zeit"
