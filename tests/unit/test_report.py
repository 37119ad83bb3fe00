"""The .docx report: a two-page summary, a landscape appendix, text kept as text, a LibreOffice render."""

from __future__ import annotations

import io
import re
from pathlib import Path

import docx
import pytest
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn

from shared.adapters.docx_report import chart_description, render_report
from shared.attempts import Attempt
from shared.bank import Bank, load_bank
from shared.grading import Evidence, grade_submission
from shared.readiness import assess
from shared.report import ReportModel, build_report
from shared.settings import ReadinessBands
from shared.submission import Answer, Candidate, SheetFormat, Submission
from tests.office import page_pngs, page_texts, to_pdf
from tests.plans import plan_for
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
    graded = grade_submission(sub, plan_for(bank))
    return build_report(sub, graded, assess(graded, bank, ReadinessBands()), bank)


@pytest.fixture(scope="module")
def document(model: ReportModel) -> docx.document.Document:
    return docx.Document(io.BytesIO(render_report(model)))


def cells(document: docx.document.Document) -> list[str]:
    return [cell.text for table in document.tables for row in table.rows for cell in row.cells]


def paragraphs(document: docx.document.Document) -> list[str]:
    return [p.text for p in document.paragraphs]


def test_the_summary_names_the_candidate_score_and_verdict(
    model: ReportModel, document: docx.document.Document
) -> None:
    text = paragraphs(document)
    assert "Zoë <O'Brien>" in text
    assert "zoe@example.com \u00b7 2026-11-20" in text
    assert f"{model.overall:.0f}% \u2013 Not yet" in text


def test_sections_use_heading_styles_summary_first_then_the_appendix(
    document: docx.document.Document,
) -> None:
    headings = [p.text for p in document.paragraphs if p.style is not None and p.style.name == "Heading 1"]
    assert headings[1:] == [
        "Scores by area and topic",
        "Your biggest gaps",
        "Your plan",
        "Appendix A \u2013 Topic scores",
        "Appendix B \u2013 Study details",
        "Appendix C \u2013 Self-assessment calibration",
        "Appendix D \u2013 AWS to Azure corrections",
        "Appendix E \u2013 Question by question",
    ]
    assert re.fullmatch(r"\d+% \u2013 Not yet", headings[0])


def test_the_summary_is_portrait_and_the_appendix_a_landscape_section(
    document: docx.document.Document,
) -> None:
    summary, appendix = document.sections
    assert summary.orientation == WD_ORIENT.PORTRAIT
    assert appendix.orientation == WD_ORIENT.LANDSCAPE
    assert appendix.page_width is not None
    assert appendix.page_height is not None
    assert appendix.page_width > appendix.page_height
    assert "submission sub-0001" in appendix.footer.paragraphs[0].text


def test_the_chart_is_an_embedded_picture_with_alternative_text(
    model: ReportModel, document: docx.document.Document
) -> None:
    assert len(document.inline_shapes) == 1
    inline = document.inline_shapes[0]._inline
    blob = inline.graphic.graphicData.pic.blipFill.blip.embed
    assert document.part.related_parts[blob].content_type == "image/png"
    description = inline.docPr.get("descr")
    assert description == chart_description(model)
    for bar in model.bars:
        assert f"{bar.label} {bar.percent:.0f}%" in description


def test_a_topic_scored_zero_is_on_the_chart_as_0_percent(model: ReportModel) -> None:
    zero = model.model_copy(
        update={
            "bars": tuple(b.model_copy(update={"percent": 0.0}) if not b.is_area else b for b in model.bars)
        }
    )
    document = docx.Document(io.BytesIO(render_report(zero)))
    description = document.inline_shapes[0]._inline.docPr.get("descr")
    for bar in zero.bars:
        if not bar.is_area:
            assert f"{bar.label} 0%" in description


def test_the_biggest_gaps_say_why_they_matter_for_the_role(
    model: ReportModel, document: docx.document.Document
) -> None:
    assert 1 <= len(model.gaps) <= 3
    text = paragraphs(document)
    first = next(t for t in text if t.startswith("1. "))
    assert first.startswith(f"1. {model.gaps[0].topic} \u2013 {model.gaps[0].percent:.0f}%")
    assert "interview" in first
    assert text.index(first) < text.index("Your plan")


def test_candidate_text_is_kept_as_text_not_interpreted(document: docx.document.Document) -> None:
    assert '=HYPERLINK("http://x","y") <w:p>{{name}}</w:p> & bell' in cells(document)


def test_every_item_shows_answer_key_points_and_feedback(document: docx.document.Document) -> None:
    text = cells(document)
    assert "1. What does the GIL serialise?" in text
    assert "A) __enter__; C) __call__" in text
    assert "0 / 2\nwrong" in text
    assert any(t.startswith("Named without explaining") for t in paragraphs(document))


def test_the_study_plan_is_a_checklist_in_the_guides_rhythm(document: docx.document.Document) -> None:
    text = paragraphs(document)
    assert (
        text.index("Tonight") < text.index("Tomorrow morning") < text.index("Appendix A \u2013 Topic scores")
    )
    assert any(t.startswith("\u2610 Event-driven design (critical, 19%)") for t in text)
    assert any(t.startswith("\u2610 Azure services (medium, 50%)") for t in text)


def open_answers_explained(model: ReportModel) -> ReportModel:
    """The model with hand-filled evidence on every open answer, routed to a reviewer."""
    evidence = (
        Evidence(concept="Idempotent consumers", state="credited", quote="idempotency"),
        Evidence(concept="Dead-lettering", state="partial", quote="dead-lettering"),
        Evidence(concept="Ordering", state="misstated", quote="Service Bus keeps a global order"),
    )
    update = {
        "evidence": evidence,
        "missing": ("Outbox pattern", "Sessions"),
        "needs_review": True,
        "review_reason": "The answer names concepts without explaining them.",
    }
    sections = tuple(
        s.model_copy(
            update={"items": tuple(r.model_copy(update=update) if r.open_answer else r for r in s.items)}
        )
        for s in model.sections
    )
    return model.model_copy(update={"sections": sections, "provisional": True})


def test_an_open_answer_quotes_what_earned_credit_what_was_misstated_and_what_was_missing(
    model: ReportModel,
) -> None:
    document = docx.Document(io.BytesIO(render_report(open_answers_explained(model))))
    text = paragraphs(document)
    question = next(t for t in text if t.startswith("Question ") and t.endswith("partly right"))
    after = text[text.index(question) :]
    assert "Credited: Idempotent consumers \u2013 \u201cidempotency\u201d" in after
    assert "Partly credited: Dead-lettering \u2013 \u201cdead-lettering\u201d" in after
    assert "Misstated: Ordering \u2013 you wrote \u201cService Bus keeps a global order\u201d" in after
    assert "Missing: Outbox pattern; Sessions." in after
    assert "A reviewer will look at this. The answer names concepts without explaining them." in after


def test_a_provisional_verdict_is_said_on_the_first_page_before_the_chart(model: ReportModel) -> None:
    document = docx.Document(io.BytesIO(render_report(open_answers_explained(model))))
    text = paragraphs(document)
    provisional = next(t for t in text if t.startswith("Provisional verdict."))
    assert text.index(provisional) < text.index("Scores by area and topic")
    settled = docx.Document(io.BytesIO(render_report(model.model_copy(update={"provisional": False}))))
    assert not any(t.startswith("Provisional verdict.") for t in paragraphs(settled))


def test_calibration_and_corrections_are_tabled(document: docx.document.Document) -> None:
    text = cells(document)
    assert "over-confident" in text
    assert "AWS S3" in text
    assert "Azure Blob Storage" in text


def test_the_footer_records_bank_version_and_submission(document: docx.document.Document) -> None:
    footer = document.sections[0].footer.paragraphs[0].text
    assert "small-bank version 1.0.0" in footer
    assert "sub-0001" in footer


def test_tables_are_in_the_landscape_appendix_and_fit_its_width(document: docx.document.Document) -> None:
    appendix = document.sections[-1]
    width, left, right = appendix.page_width, appendix.left_margin, appendix.right_margin
    assert width is not None
    assert left is not None
    assert right is not None
    usable = width - left - right
    for table in document.tables:
        assert table.style is not None
        assert table.style.name == "Light List Accent 1"
        assert sum(column.width for column in table.columns) <= usable
        assert sum(column.width for column in table.columns) > usable * 0.95


def test_every_table_has_one_header_row_and_rows_as_wide_as_it(document: docx.document.Document) -> None:
    for table in document.tables:
        rows = table._tbl.tr_lst
        assert [r.trPr is not None and r.trPr.find(qn("w:tblHeader")) is not None for r in rows] == [
            True,
            *[False] * (len(rows) - 1),
        ]
        assert {len(r.tc_lst) for r in rows} == {len(table.columns)}


def test_rendering_the_same_model_twice_gives_the_same_bytes(model: ReportModel) -> None:
    assert render_report(model) == render_report(model)


@pytest.fixture(scope="module")
def long_model() -> ReportModel:
    """The full bank answered by a beginner after three attempts: every topic a gap, many at 0%, a
    trend table and long moves lists - the longest summary."""
    bank = load_bank()
    sub = Submission(
        submission_key="sub-long",
        candidate=Candidate(name="Sam Beginner", email="sam@example.com", date="2026-11-20"),
        source_format=SheetFormat.TEMPLATE,
        answers=tuple(Answer(item_id=i.id, text="I am not sure") for i in bank.items[:3]),
    )
    graded = grade_submission(sub, plan_for(bank))
    earlier = tuple(
        Attempt(
            submission_id=f"s{n}",
            started_at=f"2026-11-1{n}T09:00:00+00:00",
            day=f"2026-11-1{n}",
            overall=10.0 * n,
            verdict="Not yet",
            areas={"python": 10.0 * n, "azure": 5.0 * n, "architecture": 8.0 * n},
            topics={t.name: 30.0 for t in bank.topics},
        )
        for n in (1, 2, 3)
    )
    readiness = assess(graded, bank, ReadinessBands())
    return build_report(sub, graded, readiness, bank, history=earlier)


@pytest.mark.libreoffice
def test_libreoffice_renders_a_two_page_summary_then_the_appendix(
    long_model: ReportModel, tmp_path: Path
) -> None:
    assert any(bar.percent == 0 for bar in long_model.bars)
    pdf = to_pdf(render_report(open_answers_explained(long_model)), tmp_path, "report")
    pages = page_texts(pdf)
    summary, appendix = " ".join(" ".join(pages[:2]).split()), pages[2]
    assert "Provisional verdict." in pages[0]
    assert "Scores by area and topic" in pages[0]
    headings = ("Since your last attempt", "Your biggest gaps", "Your plan", "Tonight", "Tomorrow morning")
    for heading in (*headings, "Appendix B."):
        assert heading in summary
    assert "Appendix A" not in summary
    assert appendix.lstrip().startswith("Appendix A")
    assert len(page_pngs(pdf, 1, 2, "report-page")) == 2


def test_an_open_answer_quotes_its_misstatement_and_does_not_list_it_again_as_missing() -> None:
    shipped = load_bank()
    text = (
        "Django is batteries-included: its ORM, admin site and migrations save weeks. "
        "Django is the async-native ASGI one while FastAPI is the WSGI one."
    )
    submission = Submission(
        submission_key="report-evidence",
        source_format=SheetFormat.TEMPLATE,
        candidate=Candidate(name="Eve", email="eve@example.com"),
        answers=(Answer(item_id="iq-django-vs-fastapi", text=text),),
    )
    graded = grade_submission(submission, plan_for(shipped))
    report = build_report(submission, graded, assess(graded, shipped, ReadinessBands()), shipped)
    row = next(
        r for s in report.sections for r in s.items if r.prompt == shipped.item("iq-django-vs-fastapi").prompt
    )
    misstated = {e.concept for e in row.evidence if e.state == "misstated"}
    assert misstated
    assert not misstated & set(row.missing)
    rendered = "\n".join(p.text for p in docx.Document(io.BytesIO(render_report(report))).paragraphs)
    assert "Django is the async-native ASGI one" in rendered
