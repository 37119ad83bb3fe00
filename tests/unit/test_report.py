"""The .docx report: contents a reader needs, text kept as text, and a clean LibreOffice render."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import docx
import pytest

from shared.adapters.docx_report import render_report
from shared.bank import Bank
from shared.grading import grade_submission
from shared.readiness import assess
from shared.report import ReportModel, build_report
from shared.settings import ReadinessBands
from shared.submission import Answer, Candidate, SheetFormat, Submission
from tests.small_bank import small_bank

HOSTILE = '=HYPERLINK("http://x","y") <w:p>{{name}}</w:p> & \x07bell'


@pytest.fixture(scope="module")
def bank() -> Bank:
    return small_bank()


@pytest.fixture(scope="module")
def model(bank: Bank) -> ReportModel:
    sub = Submission(
        submission_key="sub-0001",
        candidate=Candidate(name="Zoë <O'Brien>", email="zoe@example.com", date="2026-11-20"),
        source_format=SheetFormat.TEMPLATE,
        answers=(
            Answer(item_id="q-gil", choices=("A",)),
            Answer(item_id="q-ctx", choices=("A", "C")),
            Answer(item_id="map-lambda", text="Azure Functions"),
            Answer(item_id="map-s3", text=HOSTILE),
            Answer(item_id="scn-events", text="Service Bus, dead-lettering, idempotency"),
        ),
        confidence=(("py", 5), ("web", 4)),
    )
    graded = grade_submission(sub, bank)
    return build_report(sub, graded, assess(graded, bank, ReadinessBands()), bank)


@pytest.fixture(scope="module")
def document(model: ReportModel) -> docx.document.Document:
    return docx.Document(io.BytesIO(render_report(model)))


def cells(document: docx.document.Document) -> list[str]:
    return [cell.text for table in document.tables for row in table.rows for cell in row.cells]


def paragraphs(document: docx.document.Document) -> list[str]:
    return [p.text for p in document.paragraphs]


def test_the_cover_names_the_candidate_score_and_verdict(
    model: ReportModel, document: docx.document.Document
) -> None:
    text = paragraphs(document)
    assert "Zoë <O'Brien>" in text
    assert f"{model.overall:.0f}% \u2013 Not yet" in text
    assert "zoe@example.com \u00b7 2026-11-20" in text


def test_sections_use_heading_styles(document: docx.document.Document) -> None:
    headings = [p.text for p in document.paragraphs if p.style is not None and p.style.name == "Heading 1"]
    assert headings == [
        "Zoë <O'Brien>",
        "Scores by area and topic",
        "Study plan",
        "Self-assessment calibration",
        "AWS to Azure corrections",
        "Question by question",
    ]


def test_the_chart_is_an_embedded_picture(document: docx.document.Document) -> None:
    assert len(document.inline_shapes) == 1
    blob = document.inline_shapes[0]._inline.graphic.graphicData.pic.blipFill.blip.embed
    assert document.part.related_parts[blob].content_type == "image/png"


def test_candidate_text_is_kept_as_text_not_interpreted(document: docx.document.Document) -> None:
    assert '=HYPERLINK("http://x","y") <w:p>{{name}}</w:p> & bell' in cells(document)


def test_every_item_shows_answer_key_points_and_feedback(document: docx.document.Document) -> None:
    text = cells(document)
    assert "1. What does the GIL serialise?" in text
    assert "A) __enter__; C) __call__" in text
    assert "0 / 2\nwrong" in text
    assert "0.75 / 4\npartly right" in text
    assert any(t.startswith("Named without explaining") for t in text)


def test_the_study_plan_is_a_checklist_in_the_guides_rhythm(document: docx.document.Document) -> None:
    text = paragraphs(document)
    assert text.index("Tonight") < text.index("Tomorrow morning")
    assert any(t.startswith("\u2610 Event-driven design (critical, 19%)") for t in text)
    assert any(t.startswith("\u2610 Azure services (medium, 50%)") for t in text)


def test_calibration_and_corrections_are_tabled(document: docx.document.Document) -> None:
    text = cells(document)
    assert "over-confident" in text
    assert "AWS S3" in text
    assert "Azure Blob Storage" in text


def test_the_footer_records_bank_version_and_submission(document: docx.document.Document) -> None:
    footer = document.sections[0].footer.paragraphs[0].text
    assert "small-bank version 1.0.0" in footer
    assert "sub-0001" in footer


def test_tables_fit_the_page_width(document: docx.document.Document) -> None:
    section = document.sections[0]
    usable = section.page_width - section.left_margin - section.right_margin
    for table in document.tables:
        assert table.style is not None
        assert table.style.name == "Light List Accent 1"
        assert sum(column.width for column in table.columns) <= usable


def test_rendering_the_same_model_twice_gives_the_same_contents(model: ReportModel) -> None:
    first = docx.Document(io.BytesIO(render_report(model)))
    second = docx.Document(io.BytesIO(render_report(model)))
    assert cells(first) == cells(second)
    assert paragraphs(first) == paragraphs(second)


def test_rendering_the_same_model_twice_gives_the_same_bytes(model: ReportModel) -> None:
    assert render_report(model) == render_report(model)


@pytest.mark.libreoffice
def test_libreoffice_converts_the_report_and_page_one_renders(model: ReportModel, tmp_path: Path) -> None:
    office, pdftoppm = shutil.which("libreoffice") or shutil.which("soffice"), shutil.which("pdftoppm")
    if office is None or pdftoppm is None:
        pytest.skip(
            "LibreOffice or poppler is not installed (apt-get install libreoffice-writer-nogui poppler-utils)"
        )
    source = tmp_path / "report.docx"
    source.write_bytes(render_report(model))
    subprocess.run(
        [
            office,
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = tmp_path / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(
        [pdftoppm, "-r", "60", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pages = list(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    assert pages[0].stat().st_size > 10_000
