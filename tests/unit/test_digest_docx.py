"""The digest document: what it says, and the same model always gives the same bytes."""

from __future__ import annotations

import io
import zipfile

from docx import Document

from shared.adapters.core_engine import CoreEngine
from shared.bank import ItemKind, Section, load_bank
from shared.submission import Answer, Candidate, SheetFormat, Submission
from tests.fakes import SETTINGS


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
    assert text.index("Weak\n") < text.index("Strong\n")
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
