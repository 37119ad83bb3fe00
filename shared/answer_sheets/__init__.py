"""Answer-sheet rules over DataFrames: detect the format, attribute rows, validate answers.

The reader (``shared.adapters.workbook_reader``) turns workbook bytes into one DataFrame per sheet:
the index holds 1-based sheet row numbers, the columns the sheet's column letters, every cell text
or missing. Everything here is pure pandas and never sees file bytes, so the same rules serve every
format and every round trip through Excel, LibreOffice or Google Sheets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from shared.answer_sheets.cells import HEADER_SEARCH_ROWS, clean_frame, first_filled_row, norm, row_texts
from shared.answer_sheets.forms_locales import is_google_forms, is_ms_forms
from shared.answer_sheets.forms_rows import FormsParser
from shared.answer_sheets.layout import (
    HEADER_ITEM_ID,
    SHEET_CANDIDATE,
    SHEET_QUIZ,
    SHEET_SCENARIOS,
    SHEET_SERVICE_MAPPING,
)
from shared.answer_sheets.template_parser import TemplateParser, looks_like_template
from shared.bank import Bank
from shared.errors import WorkbookRejected
from shared.submission import ParseResult, SheetFormat

if TYPE_CHECKING:
    from pandas import DataFrame


def parse_sheets(sheets: Mapping[str, DataFrame], bank: Bank, *, content_hash: str) -> ParseResult:
    """Detect the format of a workbook's sheets and return its submissions and located problems."""
    if not sheets:
        raise WorkbookRejected("the workbook has no sheets: expected an answer sheet or a forms export")
    # The format shows in the first rows; a forms export's body is read later, question columns only.
    heads = {name: clean_frame(frame.iloc[:HEADER_SEARCH_ROWS]) for name, frame in sheets.items()}
    if looks_like_template(heads):
        cleaned = {name: clean_frame(frame) for name, frame in sheets.items()}
        return TemplateParser(cleaned, bank, content_hash).parse()
    for name, head in heads.items():
        header = first_filled_row(head)
        if header is None:
            continue
        headers = row_texts(head, header)
        labels = {norm(text) for text in headers.values()}
        for fmt, matches in (
            (SheetFormat.MS_FORMS, is_ms_forms),
            (SheetFormat.GOOGLE_FORMS, is_google_forms),
        ):
            if matches(labels):
                return FormsParser(name, sheets[name], header, headers, bank, content_hash, fmt).parse()
    raise WorkbookRejected(
        "no known answer-sheet format found: expected the ReadyCheck template (sheets "
        f"{SHEET_CANDIDATE}, {SHEET_QUIZ}, {SHEET_SERVICE_MAPPING}, {SHEET_SCENARIOS} with an "
        f"'{HEADER_ITEM_ID}' column), a Microsoft Forms export (columns ID, Start time, Completion "
        "time, Email, Name, then one column per question) or a Google Forms export (Timestamp, "
        "Email Address, then one column per question)"
    )
