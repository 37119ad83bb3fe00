"""Readiness: topic, area and overall percentages, a verdict, calibration and a study plan.

Also the cohort statistics the daily digest reports. The rules are in ``docs/grading.md``.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.bank import Area, Bank, ItemKind, Priority
from shared.errors import CohortError
from shared.grading import GradedSubmission, ItemResult, ItemStatus
from shared.settings import ReadinessBands

PRIORITY_WEIGHT: dict[Priority, int] = {Priority.CRITICAL: 3, Priority.HIGH: 2, Priority.MEDIUM: 1}
# Confidence 1..5 maps to an expected score of 0, 25, 50, 75, 100; a gap beyond this many
# points either way is mis-calibration.
CALIBRATION_TOLERANCE = 25.0
# Upper and lower groups for item discrimination: this share of the cohort each.
DISCRIMINATION_GROUP = 0.27
WEAKEST_TOPICS = 5

_Frozen = ConfigDict(frozen=True, extra="forbid")


class Verdict(StrEnum):
    """The readiness verdict, by the configured bands."""

    READY = "Ready"
    ALMOST = "Almost ready"
    NOT_YET = "Not yet"


class Calibration(StrEnum):
    """How a topic's self-rating compares with the score shown."""

    OVER = "over-confident"
    UNDER = "under-confident"
    CALIBRATED = "calibrated"
    NOT_RATED = "not rated"
    NOT_TESTED = "not tested"


class TopicScore(BaseModel):
    """A topic's points and percentage."""

    model_config = _Frozen
    topic_id: str
    name: str
    area: Area
    priority: Priority
    points: float
    max_points: float
    percent: float


class AreaScore(BaseModel):
    """An area's priority-weighted percentage."""

    model_config = _Frozen
    area: Area
    percent: float


class CalibrationRow(BaseModel):
    """One topic's self-rating against its score."""

    model_config = _Frozen
    topic_id: str
    name: str
    confidence: int | None
    expected_percent: float | None
    percent: float | None
    label: Calibration


class StudyEntry(BaseModel):
    """One topic to study, why, and what was missed."""

    model_config = _Frozen
    topic_id: str
    name: str
    priority: Priority
    percent: float
    study: str
    missed_items: tuple[str, ...]
    missing_concepts: tuple[str, ...]


class Readiness(BaseModel):
    """Everything the report and the summary say about one candidate's readiness."""

    model_config = _Frozen
    submission_key: str
    bank_id: str
    bank_version: str
    overall: float
    verdict: Verdict
    ready_at: int
    almost_at: int
    areas: tuple[AreaScore, ...]
    topics: tuple[TopicScore, ...]
    calibration: tuple[CalibrationRow, ...]
    tonight: tuple[StudyEntry, ...]
    tomorrow: tuple[StudyEntry, ...]


def _percent(points: float, max_points: float) -> float:
    return round(100.0 * points / max_points, 1) if max_points else 0.0


def _weighted(scores: Sequence[TopicScore]) -> float:
    weights = sum(PRIORITY_WEIGHT[s.priority] for s in scores)
    if not weights:
        return 0.0
    return round(sum(PRIORITY_WEIGHT[s.priority] * s.percent for s in scores) / weights, 1)


def verdict_for(percent: float, bands: ReadinessBands) -> Verdict:
    """The verdict band a percentage falls in."""
    if percent >= bands.ready:
        return Verdict.READY
    return Verdict.ALMOST if percent >= bands.almost else Verdict.NOT_YET


def calibration_for(confidence: int, percent: float) -> Calibration:
    """Compare a 1-5 self-rating with a shown percentage."""
    gap = (confidence - 1) * 25.0 - percent
    if gap > CALIBRATION_TOLERANCE:
        return Calibration.OVER
    return Calibration.UNDER if gap < -CALIBRATION_TOLERANCE else Calibration.CALIBRATED


def assess(graded: GradedSubmission, bank: Bank, bands: ReadinessBands) -> Readiness:
    """Topic, area and overall readiness with verdict, calibration and study plan."""
    by_topic: dict[str, list[ItemResult]] = {}
    for result in graded.items:
        by_topic.setdefault(result.topic, []).append(result)
    topics = []
    for topic in bank.topics:
        results = by_topic.get(topic.id, [])
        max_points = round(sum(r.max_points for r in results), 2)
        if not max_points:
            continue
        points = round(sum(r.points for r in results), 2)
        topics.append(
            TopicScore(
                topic_id=topic.id,
                name=topic.name,
                area=topic.area,
                priority=topic.priority,
                points=points,
                max_points=max_points,
                percent=_percent(points, max_points),
            )
        )
    areas = tuple(
        AreaScore(area=area, percent=_weighted([t for t in topics if t.area is area]))
        for area in Area
        if any(t.area is area for t in topics)
    )
    overall = _weighted(topics)
    scores = {t.topic_id: t for t in topics}
    rated = dict(graded.confidence)
    calibration = []
    for topic in bank.topics:
        level, score = rated.get(topic.id), scores.get(topic.id)
        if level is None and score is None:
            continue
        if level is None:
            label = Calibration.NOT_RATED
        elif score is None:
            label = Calibration.NOT_TESTED
        else:
            label = calibration_for(level, score.percent)
        calibration.append(
            CalibrationRow(
                topic_id=topic.id,
                name=topic.name,
                confidence=level,
                expected_percent=None if level is None else (level - 1) * 25.0,
                percent=None if score is None else score.percent,
                label=label,
            )
        )
    below = sorted(
        (t for t in topics if t.percent < bands.ready),
        key=lambda t: (-PRIORITY_WEIGHT[t.priority] * (100.0 - t.percent), t.topic_id),
    )
    plan = [
        StudyEntry(
            topic_id=t.topic_id,
            name=t.name,
            priority=t.priority,
            percent=t.percent,
            study=bank.topic(t.topic_id).study,
            missed_items=tuple(r.item_id for r in by_topic[t.topic_id] if r.status is not ItemStatus.CORRECT),
            missing_concepts=tuple(
                dict.fromkeys(
                    c for r in by_topic[t.topic_id] if r.kind is ItemKind.OPEN_ANSWER for c in r.missing
                )
            ),
        )
        for t in below
    ]
    return Readiness(
        submission_key=graded.submission_key,
        bank_id=graded.bank_id,
        bank_version=graded.bank_version,
        overall=overall,
        verdict=verdict_for(overall, bands),
        ready_at=bands.ready,
        almost_at=bands.almost,
        areas=areas,
        topics=tuple(topics),
        calibration=tuple(calibration),
        tonight=tuple(e for e in plan if e.priority is not Priority.MEDIUM),
        tomorrow=tuple(e for e in plan if e.priority is Priority.MEDIUM),
    )


class ScoreBin(BaseModel):
    """How many overall scores fall in one ten-point band."""

    model_config = _Frozen
    label: str
    count: int


class TopicMean(BaseModel):
    """A topic's mean percentage over the cohort."""

    model_config = _Frozen
    topic_id: str
    name: str
    mean: float


class ItemStat(BaseModel):
    """An item's difficulty (share answering fully correctly) and discrimination."""

    model_config = _Frozen
    item_id: str
    topic: str
    difficulty: float
    mean_share: float
    discrimination: float


class CohortStats(BaseModel):
    """Statistics over many submissions, for the digest."""

    model_config = _Frozen
    count: int
    mean: float
    median: float
    stdev: float
    minimum: float
    maximum: float
    distribution: tuple[ScoreBin, ...]
    verdicts: tuple[tuple[Verdict, int], ...]
    topics: tuple[TopicMean, ...]
    items: tuple[ItemStat, ...]
    weakest_topics: tuple[str, ...]


def _share(result: ItemResult) -> float:
    return result.points / result.max_points if result.max_points else 0.0


def _shares_by_item(subset: Iterable[GradedSubmission]) -> dict[str, list[float]]:
    shares: dict[str, list[float]] = defaultdict(list)
    for g in subset:
        for r in g.items:
            shares[r.item_id].append(_share(r))
    return shares


def cohort_stats(
    assessments: Sequence[Readiness], graded: Sequence[GradedSubmission], bank: Bank
) -> CohortStats:
    """Score distribution, topic means, item difficulty and discrimination, weakest topics."""
    by_key = {g.submission_key: g for g in graded}
    if len(by_key) != len(assessments) or any(a.submission_key not in by_key for a in assessments):
        raise CohortError("every assessment needs exactly one graded submission with the same key")
    ranked = sorted(assessments, key=lambda a: (-a.overall, a.submission_key))
    overall = [a.overall for a in ranked]
    count = len(ranked)
    bins = [0] * 10
    for value in overall:
        bins[min(9, int(value // 10))] += 1
    distribution = tuple(
        ScoreBin(label=f"{10 * i}-{10 * i + 9}" if i < 9 else "90-100", count=n) for i, n in enumerate(bins)
    )
    # Group once by topic and by item: scanning every submission per topic or per item is quadratic.
    topic_values: dict[str, list[float]] = defaultdict(list)
    for a in ranked:
        for t in a.topics:
            topic_values[t.topic_id].append(t.percent)
    topic_means = [
        TopicMean(topic_id=topic.id, name=topic.name, mean=round(statistics.fmean(topic_values[topic.id]), 1))
        for topic in bank.topics
        if topic_values.get(topic.id)
    ]
    group = max(1, math.floor(count * DISCRIMINATION_GROUP)) if count else 0
    upper = _shares_by_item(by_key[a.submission_key] for a in ranked[:group])
    lower = _shares_by_item(by_key[a.submission_key] for a in ranked[count - group :]) if group else {}
    by_item: dict[str, list[ItemResult]] = defaultdict(list)
    for g in graded:
        for r in g.items:
            by_item[r.item_id].append(r)
    items = []
    for item in bank.items:
        results = by_item.get(item.id)
        if not results:
            continue
        # fmean sums exactly (fsum), so grouping first leaves every figure as it was.
        upper_share = statistics.fmean(upper[item.id]) if upper.get(item.id) else 0.0
        lower_share = statistics.fmean(lower[item.id]) if lower.get(item.id) else 0.0
        items.append(
            ItemStat(
                item_id=item.id,
                topic=item.topic,
                difficulty=round(sum(r.status is ItemStatus.CORRECT for r in results) / len(results), 3),
                mean_share=round(statistics.fmean(_share(r) for r in results), 3),
                discrimination=round(upper_share - lower_share, 3),
            )
        )
    return CohortStats(
        count=count,
        mean=round(statistics.fmean(overall), 1) if overall else 0.0,
        median=round(statistics.median(overall), 1) if overall else 0.0,
        stdev=round(statistics.pstdev(overall), 1) if overall else 0.0,
        minimum=min(overall, default=0.0),
        maximum=max(overall, default=0.0),
        distribution=distribution,
        verdicts=tuple((v, sum(a.verdict is v for a in ranked)) for v in Verdict),
        topics=tuple(topic_means),
        items=tuple(items),
        weakest_topics=tuple(
            t.topic_id for t in sorted(topic_means, key=lambda t: (t.mean, t.topic_id))[:WEAKEST_TOPICS]
        ),
    )
