"""The blank answer-sheet template as .xlsx bytes, written with openpyxl.

Bank text is always stored as text, so a prompt can never become a formula; question cells are
locked and answer cells left editable, with data validation guiding the answers.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

from shared.adapters.workbook_reader import column_letter
from shared.answer_sheets.layout import (
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
)
from shared.bank import Bank, Item, ItemKind, Section

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

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
