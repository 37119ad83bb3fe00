"""The blank answer-sheet template: layout, drop-downs, protection, and that LibreOffice opens it."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.workbook.workbook import Workbook

from readycheck_cli.commands import main
from samples.workbooks import template_workbook
from shared.adapters.template_writer import build_template
from shared.adapters.workbook_parser import parse_workbook
from shared.bank import Bank, Section, load_bank
from shared.errors import WorkbookRejected
from shared.settings import ParseLimits

LIBREOFFICE = shutil.which("libreoffice") or shutil.which("soffice")
needs_libreoffice = pytest.mark.skipif(
    LIBREOFFICE is None,
    reason="LibreOffice is not on PATH (apt-get install libreoffice-calc-nogui to run this)",
)
SECTION_SHEETS = {
    Section.QUIZ: "Quiz",
    Section.SERVICE_MAPPING: "Service Mapping",
    Section.SCENARIOS: "Scenarios",
}


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


@pytest.fixture(scope="module")
def template(bank: Bank) -> Workbook:
    return load_workbook(io.BytesIO(build_template(bank)))


def column_values(workbook: Workbook, sheet: str, column: str = "A") -> list[object]:
    return [cell.value for cell in workbook[sheet][column][1:]]


def test_template_has_the_six_sheets_in_reading_order(template: Workbook) -> None:
    assert template.sheetnames == [
        "Instructions",
        "Candidate",
        "Self-Assessment",
        "Quiz",
        "Service Mapping",
        "Scenarios",
    ]


@pytest.mark.parametrize("section", list(SECTION_SHEETS))
def test_every_item_of_a_section_has_one_row_carrying_its_id(
    bank: Bank, template: Workbook, section: Section
) -> None:
    assert column_values(template, SECTION_SHEETS[section]) == [item.id for item in bank.items_in(section)]


def test_self_assessment_lists_every_topic_by_id(bank: Bank, template: Workbook) -> None:
    assert column_values(template, "Self-Assessment") == [t.id for t in bank.topics]


def test_candidate_sheet_asks_for_name_email_role_and_date(template: Workbook) -> None:
    assert column_values(template, "Candidate")[:4] == ["Name", "Email", "Target role", "Date"]


def test_single_choice_answers_have_a_letter_drop_down(bank: Bank, template: Workbook) -> None:
    sheet = template["Quiz"]
    lists = {
        str(cell): dv.formula1
        for dv in sheet.data_validations.dataValidation
        if dv.type == "list"
        for cell in dv.sqref.ranges
    }
    for row, item in enumerate(bank.items_in(Section.QUIZ), start=2):
        if item.kind.value == "single_choice":
            assert lists[f"E{row}"] == '"' + ",".join(c.key for c in item.choices) + '"'
        else:
            assert f"E{row}" not in lists


def test_confidence_cells_accept_only_whole_numbers_one_to_five(bank: Bank, template: Workbook) -> None:
    (rating,) = template["Self-Assessment"].data_validations.dataValidation
    assert (rating.type, rating.formula1, rating.formula2) == ("whole", "1", "5")
    assert str(rating.sqref) == " ".join(f"D{row}" for row in range(2, len(bank.topics) + 2))


@pytest.mark.parametrize("sheet", ["Candidate", "Self-Assessment", "Quiz", "Service Mapping", "Scenarios"])
def test_question_text_is_protected_and_only_answer_cells_are_editable(
    template: Workbook, sheet: str
) -> None:
    ws = template[sheet]
    assert ws.protection.sheet
    editable = {
        coordinate_from_string(cell.coordinate)[0]
        for row in ws.iter_rows(min_row=2)
        for cell in row
        if not cell.protection.locked
    }
    assert editable == {get_column_letter(ws.max_column)}
    assert ws["A2"].protection.locked


def test_question_cells_wrap_in_wide_columns(template: Workbook) -> None:
    quiz = template["Quiz"]
    assert quiz.column_dimensions["C"].width >= 60
    assert quiz["C2"].alignment.wrap_text
    assert quiz["D2"].alignment.wrap_text
    # Four options, one per line: the row is sized so none of them overlaps the next row.
    assert quiz.row_dimensions[2].height >= 4 * 15


def test_bank_text_that_looks_like_a_formula_is_written_as_text(bank: Bank) -> None:
    items = list(bank.items)
    items[0] = items[0].model_copy(update={"prompt": '=HYPERLINK("http://evil.example","click")'})
    workbook = load_workbook(io.BytesIO(build_template(bank.model_copy(update={"items": tuple(items)}))))
    cell = workbook["Quiz"]["C2"]
    assert cell.data_type == "s"
    assert all(c.data_type != "f" for ws in workbook.worksheets for row in ws.iter_rows() for c in row)


def test_a_blank_template_is_rejected_for_want_of_a_candidate(bank: Bank) -> None:
    with pytest.raises(WorkbookRejected, match="no candidate identity"):
        parse_workbook(build_template(bank), bank, ParseLimits())


def test_template_command_writes_the_workbook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sheet.xlsx"
    assert main(["template", "--out", str(out)]) == 0
    assert load_workbook(out).sheetnames[0] == "Instructions"
    assert str(out) in capsys.readouterr().out


def _soffice(tmp_path: Path, source: Path, target: str) -> Path:
    assert LIBREOFFICE is not None
    profile = tmp_path / "profile"  # a private profile, so parallel runs never share a lock
    outdir = tmp_path / "out"
    subprocess.run(
        [LIBREOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", target,
         "--outdir", str(outdir), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    (converted,) = outdir.iterdir()
    return converted


@pytest.mark.libreoffice
@needs_libreoffice
def test_libreoffice_opens_the_template_and_converts_it_to_pdf(bank: Bank, tmp_path: Path) -> None:
    source = tmp_path / "answer-sheet-template.xlsx"
    source.write_bytes(build_template(bank))
    pdf = _soffice(tmp_path, source, "pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.libreoffice
@needs_libreoffice
def test_a_template_saved_again_by_libreoffice_keeps_every_answer(bank: Bank, tmp_path: Path) -> None:
    answers: dict[str, str | list[str]] = {
        "py-decorator-wraps": "B",
        "pd-memory": ["A", "D"],
        "map-s3": "Blob Storage",
    }
    source = tmp_path / "filled.xlsx"
    source.write_bytes(template_workbook(bank, answers, {"identity": 5}))
    resaved = _soffice(tmp_path, source, "xlsx:Calc MS Excel 2007 XML")
    result = parse_workbook(resaved.read_bytes(), bank, ParseLimits())
    (submission,) = result.submissions
    assert {a.item_id: a.choices or a.text for a in submission.answers} == {
        "py-decorator-wraps": ("B",),
        "pd-memory": ("A", "D"),
        "map-s3": "Blob Storage",
    }
    assert submission.confidence == (("identity", 5),)
    assert submission.candidate.date == "2026-11-20"
