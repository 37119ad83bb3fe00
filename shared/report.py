"""The readiness report's content as plain data; ``shared.adapters.docx_report`` lays it out."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from shared.attempts import Attempt
from shared.bank import Area, Bank, ItemKind, Priority, Section
from shared.grading import Evidence, GradedSubmission, ItemStatus
from shared.readiness import PRIORITY_WEIGHT, Readiness, StudyEntry, TopicScore, Verdict
from shared.submission import Submission

_Frozen = ConfigDict(frozen=True, extra="forbid")

SECTION_TITLES: dict[Section, str] = {
    Section.QUIZ: "Quiz",
    Section.SERVICE_MAPPING: "AWS to Azure service mapping",
    Section.SCENARIOS: "Scenarios and interview questions",
    Section.SELF_ASSESSMENT: "Self-assessment",
}
_VERDICT_NOTES: dict[Verdict, str] = {
    Verdict.READY: "You are ready for the interview. Polish the topics below if any remain.",
    Verdict.ALMOST: "You are close. Work through tonight's list, then tomorrow morning's.",
    Verdict.NOT_YET: "Not yet. Start with tonight's list: it is ordered by what matters most.",
}
# Why a gap matters for the role: the skills map's priority says how hard interviewers probe it,
# its area says where in the interview it comes up.
_PRIORITY_WHY: dict[Priority, str] = {
    Priority.CRITICAL: "A must-master skill interviewers probe in depth (weighs 3\u00d7).",
    Priority.HIGH: "Expected in most interviews for the role (weighs 2\u00d7).",
    Priority.MEDIUM: "Comes up in design discussions (weighs 1\u00d7).",
}
_AREA_WHY: dict[Area, str] = {
    Area.PYTHON: "It is the Python an architect writes and reviews.",
    Area.AZURE: "It is an Azure service you will be asked to choose and justify.",
    Area.ARCHITECTURE: "It is part of the designs you will draw and defend.",
}
BIGGEST_GAPS = 3
# A topic moved when it changed by at least this many points since the last attempt.
TOPIC_MOVE = 5.0
# Attempts the trend table shows: the latest ones, this one included.
ATTEMPTS_SHOWN = 4
_STATUS_WORDS: dict[ItemStatus, str] = {
    ItemStatus.CORRECT: "correct",
    ItemStatus.PARTIAL: "partly right",
    ItemStatus.WRONG: "wrong",
    ItemStatus.UNANSWERED: "not answered",
}


class Bar(BaseModel):
    """One bar of the score chart."""

    model_config = _Frozen
    label: str
    percent: float
    is_area: bool


class TopicRow(BaseModel):
    """One row of the topic table."""

    model_config = _Frozen
    name: str
    area: str
    priority: str
    points: float
    max_points: float
    percent: float


class ItemRow(BaseModel):
    """One graded item as the candidate reads it."""

    model_config = _Frozen
    number: int
    prompt: str
    answer: str
    key: str
    points: float
    max_points: float
    status: str
    feedback: str
    needs_review: bool
    review_reason: str = ""
    evidence: tuple[Evidence, ...] = ()
    open_answer: bool = False
    missing: tuple[str, ...] = ()


class ItemSection(BaseModel):
    """The items of one answer-sheet section."""

    model_config = _Frozen
    title: str
    points: float
    max_points: float
    items: tuple[ItemRow, ...]


class Gap(BaseModel):
    """One of the biggest gaps on the summary page, with why it matters for the role."""

    model_config = _Frozen
    topic: str
    priority: str
    percent: float
    why: str


class CalibrationLine(BaseModel):
    """One row of the calibration table."""

    model_config = _Frozen
    topic: str
    confidence: str
    expected: str
    shown: str
    label: str


class Correction(BaseModel):
    """An AWS-to-Azure mapping the candidate got wrong, with the right service and why."""

    model_config = _Frozen
    aws: str
    answer: str
    azure: str
    why: str


class StudyLine(BaseModel):
    """One checklist entry of the study plan."""

    model_config = _Frozen
    topic: str
    priority: str
    percent: float
    study: str
    missed_questions: tuple[int, ...]
    missing_concepts: tuple[str, ...]


class AttemptLine(BaseModel):
    """One attempt in the trend: overall and area scores and the verdict."""

    model_config = _Frozen
    label: str
    overall: float
    verdict: str
    areas: tuple[tuple[str, float], ...]


class TopicChange(BaseModel):
    """A topic that moved since the last attempt."""

    model_config = _Frozen
    topic: str
    before: float
    now: float


class ReportModel(BaseModel):
    """Everything one candidate's report shows, in reading order."""

    model_config = _Frozen
    role: str
    candidate_name: str
    candidate_email: str
    date: str
    overall: float
    verdict: Verdict
    verdict_note: str
    ready_at: int
    almost_at: int
    bars: tuple[Bar, ...]
    topics: tuple[TopicRow, ...]
    sections: tuple[ItemSection, ...]
    calibration: tuple[CalibrationLine, ...]
    corrections: tuple[Correction, ...]
    tonight: tuple[StudyLine, ...]
    tomorrow: tuple[StudyLine, ...]
    review_items: tuple[int, ...]
    gaps: tuple[Gap, ...] = ()
    # Earlier attempts and this one, oldest first; empty on a first attempt.
    attempts: tuple[AttemptLine, ...] = ()
    improved: tuple[TopicChange, ...] = ()
    slipped: tuple[TopicChange, ...] = ()
    # While any answer awaits a reviewer the verdict may still change (docs/grading.md).
    provisional: bool = False
    bank_id: str
    bank_version: str
    submission_key: str


def _study_line(entry: StudyEntry, numbers: dict[str, int]) -> StudyLine:
    return StudyLine(
        topic=entry.name,
        priority=entry.priority.value,
        percent=entry.percent,
        study=entry.study,
        missed_questions=tuple(numbers[i] for i in entry.missed_items),
        missing_concepts=entry.missing_concepts,
    )


def why_it_matters(topic: TopicScore) -> str:
    """Why a gap in this topic matters for the role: its priority and its area."""
    return f"{_PRIORITY_WHY[topic.priority]} {_AREA_WHY[topic.area]}"


def biggest_gaps(readiness: Readiness) -> tuple[Gap, ...]:
    """The topics below Ready that cost the most, weighted by priority as the study plan orders them."""
    below = sorted(
        (t for t in readiness.topics if t.percent < readiness.ready_at),
        key=lambda t: (-PRIORITY_WEIGHT[t.priority] * (100.0 - t.percent), t.topic_id),
    )
    return tuple(
        Gap(topic=t.name, priority=t.priority.value, percent=t.percent, why=why_it_matters(t))
        for t in below[:BIGGEST_GAPS]
    )


def _trend(
    history: Sequence[Attempt], readiness: Readiness, date: str
) -> tuple[tuple[AttemptLine, ...], tuple[TopicChange, ...], tuple[TopicChange, ...]]:
    """The attempts oldest first (this one last) and the topics that improved or slipped since the last."""
    if not history:
        return (), (), ()
    count = len(history) + 1
    lines = [
        AttemptLine(
            label=f"{n} \u00b7 {a.day}",
            overall=a.overall,
            verdict=a.verdict,
            areas=tuple(sorted(a.areas.items())),
        )
        for n, a in enumerate(history, start=1)
    ]
    lines.append(
        AttemptLine(
            label=f"{count} \u00b7 {date} (this one)",
            overall=readiness.overall,
            verdict=readiness.verdict.value,
            areas=tuple(sorted((a.area.value, a.percent) for a in readiness.areas)),
        )
    )
    before = history[-1].topics
    changes = [
        TopicChange(topic=t.name, before=before[t.name], now=t.percent)
        for t in readiness.topics
        if t.name in before and abs(t.percent - before[t.name]) >= TOPIC_MOVE
    ]
    improved = sorted((c for c in changes if c.now > c.before), key=lambda c: (c.before - c.now, c.topic))
    slipped = sorted((c for c in changes if c.now < c.before), key=lambda c: (c.now - c.before, c.topic))
    return tuple(lines[-ATTEMPTS_SHOWN:]), tuple(improved), tuple(slipped)


def short_label(name: str) -> str:
    """A topic name without its parenthesised examples, for chart labels."""
    return re.sub(r"\s*\(.*\)\s*$", "", name) or name


def _number(value: float) -> str:
    return f"{value:g}"


def build_report(
    submission: Submission,
    graded: GradedSubmission,
    readiness: Readiness,
    bank: Bank,
    date: str = "",
    history: Sequence[Attempt] = (),
) -> ReportModel:
    """Collect the report's content; ``date`` defaults to the date the candidate wrote on the sheet;
    ``history`` holds the candidate's earlier attempts, oldest first."""
    numbers = {item.id: index for index, item in enumerate(bank.items, start=1)}
    # Bank.item builds its index on every call; one lookup table serves the whole report.
    items = {item.id: item for item in bank.items}
    sections = []
    for section in Section:
        results = [r for r in graded.items if r.section is section]
        if not results:
            continue
        rows = tuple(
            ItemRow(
                number=numbers[r.item_id],
                prompt=items[r.item_id].prompt,
                answer=r.answer_text,
                key=r.key_text,
                points=r.points,
                max_points=r.max_points,
                status=_STATUS_WORDS[r.status],
                feedback=r.feedback,
                needs_review=r.needs_review,
                review_reason=r.review_reason,
                evidence=r.evidence,
                open_answer=r.kind is ItemKind.OPEN_ANSWER,
                missing=tuple(m for m in r.missing if m not in {e.concept for e in r.evidence}),
            )
            for r in results
        )
        sections.append(
            ItemSection(
                title=SECTION_TITLES[section],
                points=round(sum(r.points for r in results), 2),
                max_points=round(sum(r.max_points for r in results), 2),
                items=rows,
            )
        )
    corrections = tuple(
        Correction(
            aws=items[r.item_id].prompt.split(":", 1)[0].strip(),
            answer=r.answer_text or "(no answer)",
            azure=r.key_text,
            why=items[r.item_id].explanation,
        )
        for r in graded.items
        if r.section is Section.SERVICE_MAPPING and r.status is not ItemStatus.CORRECT
    )
    calibration = tuple(
        CalibrationLine(
            topic=c.name,
            confidence="-" if c.confidence is None else f"{c.confidence} / 5",
            expected="-" if c.expected_percent is None else f"{c.expected_percent:.0f}%",
            shown="-" if c.percent is None else f"{c.percent:.0f}%",
            label=c.label.value,
        )
        for c in readiness.calibration
    )
    bars = (
        *(Bar(label=a.area.value.capitalize(), percent=a.percent, is_area=True) for a in readiness.areas),
        *(Bar(label=short_label(t.name), percent=t.percent, is_area=False) for t in readiness.topics),
    )
    attempts, improved, slipped = _trend(history, readiness, date or submission.candidate.date or "today")
    return ReportModel(
        role=bank.role,
        candidate_name=submission.candidate.name,
        candidate_email=submission.candidate.email,
        date=date or submission.candidate.date,
        overall=readiness.overall,
        verdict=readiness.verdict,
        verdict_note=_VERDICT_NOTES[readiness.verdict],
        ready_at=readiness.ready_at,
        almost_at=readiness.almost_at,
        bars=bars,
        topics=tuple(
            TopicRow(
                name=t.name,
                area=t.area.value.capitalize(),
                priority=t.priority.value,
                points=t.points,
                max_points=t.max_points,
                percent=t.percent,
            )
            for t in readiness.topics
        ),
        sections=tuple(sections),
        calibration=calibration,
        corrections=corrections,
        tonight=tuple(_study_line(e, numbers) for e in readiness.tonight),
        tomorrow=tuple(_study_line(e, numbers) for e in readiness.tomorrow),
        review_items=tuple(numbers[r.item_id] for r in graded.items if r.needs_review),
        gaps=biggest_gaps(readiness),
        attempts=attempts,
        improved=improved,
        slipped=slipped,
        provisional=any(r.needs_review for r in graded.items),
        bank_id=graded.bank_id,
        bank_version=graded.bank_version,
        submission_key=graded.submission_key,
    )


def points_text(points: float, max_points: float) -> str:
    """Points as a reader wants them: ``1.5 / 2``."""
    return f"{_number(points)} / {_number(max_points)}"
