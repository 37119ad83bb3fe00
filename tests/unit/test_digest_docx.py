"""The digest document: what it says, laid out so it reads right, and the same model gives the same bytes."""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocumentObject

from shared.adapters.core_engine import CoreEngine
from shared.adapters.digest_docx import render_digest
from shared.adapters.docx_fonts import FONT_FAMILY, THEME_PART
from shared.bank import ItemKind, Section, load_bank
from shared.digest import build_digest
from shared.grading import grade_submission
from shared.readiness import Verdict, assess
from shared.settings import ReadinessBands
from shared.submission import Answer, Candidate, SheetFormat, Submission
from tests.fakes import SETTINGS
from tests.office import page_pngs, page_texts, to_pdf
from tests.plans import plan_for


def _submission(name: str, correct: int) -> Submission:
    bank = load_bank()
    choice = [i for i in bank.items if i.kind is ItemKind.SINGLE_CHOICE]
    return Submission(
        submission_key=f"key-{name}",
        candidate=Candidate(name=name, email=f"{name.lower()}@example.com"),
        source_format=SheetFormat.TEMPLATE,
        answers=tuple(Answer(item_id=i.id, choices=i.answer) for i in choice[:correct]),
    )


def _graded(engine: CoreEngine, submission: Submission) -> tuple[Submission, list[str]]:
    return submission, [engine.grade(submission, s) for s in Section]


def _text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_a_digest_names_counts_weakest_topics_and_who_needs_help() -> None:
    engine = CoreEngine(SETTINGS)
    finished = [_graded(engine, _submission("Strong", 12)), _graded(engine, _submission("Weak", 1))]
    data = engine.digest("2026-03-01", finished, {"uploads received": 2, "submissions graded": 2})
    text = _text(data)
    assert "ReadyCheck daily digest: 2026-03-01" in text
    assert "Weakest topics" in text
    assert "Who most needs help" in text
    help_table = next(
        t for t in Document(io.BytesIO(data)).tables if t.rows[0].cells[-1].text == "Weakest topics"
    )
    assert [r.cells[0].text for r in help_table.rows[1:]] == ["Weak", "Strong"]
    assert "Uploads received\n2" in text


def test_an_empty_day_gives_a_short_digest() -> None:
    text = _text(CoreEngine(SETTINGS).digest("2026-03-01", [], {}))
    assert "No answer sheets arrived on this day." in text
    assert "Who most needs help" not in text


def test_the_same_day_renders_identical_bytes_with_pinned_times() -> None:
    engine = CoreEngine(SETTINGS)
    finished = [_graded(engine, _submission("Strong", 12))]
    first = engine.digest("2026-03-01", finished, {"uploads received": 1})
    second = engine.digest("2026-03-01", finished, {"uploads received": 1})
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_the_engine_renders_a_report_and_its_scores() -> None:
    engine = CoreEngine(SETTINGS)
    submission, results = _graded(engine, _submission("Strong", 12))
    finished = engine.finish(submission, results)
    assert finished.report.startswith(b"PK")
    assert 0 < finished.scores.percent <= 100
    assert set(finished.scores.areas) == {"python", "azure", "architecture"}


def _wrong(name: str, correct: int, wrong: int) -> Submission:
    """Right on the first ``correct`` choice items, then "D" (or "C") on the next ``wrong``."""
    bank = load_bank()
    choice = [i for i in bank.items if i.kind is ItemKind.SINGLE_CHOICE]
    right = tuple(Answer(item_id=i.id, choices=i.answer) for i in choice[:correct])
    miss = tuple(
        Answer(item_id=i.id, choices=("C",) if i.answer == ("D",) else ("D",))
        for i in choice[correct : correct + wrong]
    )
    return Submission(
        submission_key=f"key-{name}",
        candidate=Candidate(name=name, email=f"{name.lower()}@example.com"),
        source_format=SheetFormat.TEMPLATE,
        answers=right + miss,
    )


@pytest.fixture(scope="module")
def cohort_digest() -> bytes:
    engine = CoreEngine(SETTINGS)
    finished = [
        _graded(engine, _wrong(name, correct, 4))
        for name, correct in (("Strong", 30), ("Weak", 0), ("Zed", 0))
    ]
    counts = {"uploads received": 3, "submissions graded": 3}
    return engine.digest("2026-03-01", finished, counts, {"key-Weak": "/api/submissions/abc/report"})


def _document(data: bytes) -> DocumentObject:
    return Document(io.BytesIO(data))


def test_todays_candidates_are_listed_with_score_verdict_and_report_link(cohort_digest: bytes) -> None:
    table = next(t for t in _document(cohort_digest).tables if t.rows[0].cells[0].text == "Candidate")
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0] == ["Candidate", "Score", "Verdict", "Report"]
    assert [r[0] for r in rows[1:]] == ["Strong", "Weak", "Zed"]
    assert rows[2][2:] == ["Not yet", "/api/submissions/abc/report"]
    assert all(re.fullmatch(r"[\d.]+%", r[1]) for r in rows[1:])


def test_items_are_listed_by_question_weakest_first_with_the_most_common_wrong_answer(
    cohort_digest: bytes,
) -> None:
    bank = load_bank()
    table = next(t for t in _document(cohort_digest).tables if t.rows[0].cells[0].text == "Question")
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    questions = {f"{number}. {item.prompt}" for number, item in enumerate(bank.items, start=1)}
    assert rows
    assert all(r[0] in questions for r in rows)
    difficulties = [float(r[2]) for r in rows]
    assert difficulties == sorted(difficulties)
    assert any(re.fullmatch(r".+ \(2 of 3\)", r[4]) for r in rows)


def test_the_digest_has_charts_with_alternative_text(cohort_digest: bytes) -> None:
    shapes = _document(cohort_digest).inline_shapes
    assert len(shapes) == 2
    descriptions = [s._inline.docPr.get("descr") for s in shapes]
    assert "verdicts (Ready: 0, Almost ready: 0, Not yet: 3)" in descriptions[0]
    assert all(t.name in descriptions[1] for t in load_bank().topics)


def test_no_two_tables_touch_so_none_is_spliced_into_another(cohort_digest: bytes) -> None:
    document = _document(cohort_digest)
    body = [child.tag.rsplit("}", 1)[1] for child in document.element.body]
    assert "tbl" in body
    assert all(not (a == b == "tbl") for a, b in itertools.pairwise(body))
    headers = [t.rows[0].cells[0].text for t in document.tables]
    assert headers.count("Verdict") == 1
    assert headers.count("Score band") == 1
    verdicts = document.tables[headers.index("Verdict")]
    assert [r.cells[0].text for r in verdicts.rows] == ["Verdict", "Ready", "Almost ready", "Not yet"]


def test_the_digest_uses_one_font_family(cohort_digest: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(cohort_digest)) as archive:
        theme = archive.read(THEME_PART).decode()
    assert set(re.findall(r'<a:(?:major|minor)Font>\s*<a:latin typeface="([^"]*)"', theme)) == {FONT_FAMILY}


@pytest.mark.libreoffice
def test_libreoffice_renders_the_digests_first_page_with_chart_and_candidates(
    cohort_digest: bytes, tmp_path: Path
) -> None:
    pdf = to_pdf(cohort_digest, tmp_path, "digest")
    first = " ".join(page_texts(pdf)[0].split())
    for heading in ("Uploads and submissions", "Readiness", "Today's candidates"):
        assert heading in first
    assert "/api/submissions/abc/report" in first
    assert len(page_pngs(pdf, 1, 1, "digest-page")) == 1


def test_the_digest_notes_candidates_who_moved_up_a_verdict_band() -> None:
    bank = load_bank()
    graded = [grade_submission(_wrong(name, 30, 0), plan_for(bank)) for name in ("Strong", "Steady")]
    # Strong is now Almost ready; both were Not yet on their previous attempt.
    assessed = [assess(g, bank, ReadinessBands()) for g in graded]
    assessed[0] = assessed[0].model_copy(update={"verdict": Verdict.ALMOST})
    earlier = {"key-Strong": "Not yet", "key-Steady": "Not yet"}
    model = build_digest("2026-03-01", {"submissions graded": 2}, graded, assessed, bank, None, earlier)
    assert [(m.name, m.before, m.now) for m in model.moved_up] == [("Strong", "Not yet", "Almost ready")]
    text = [p.text for p in _document(render_digest(model)).paragraphs]
    heading = text.index("Moved up a verdict band since their last attempt")
    assert text[heading + 1] == "Strong: Not yet \u2192 Almost ready"
    assert not any(t.startswith("Steady: ") for t in text)
