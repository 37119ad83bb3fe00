"""Readiness rules: priority weighting, bands, calibration, the study plan and cohort statistics."""

from __future__ import annotations

import pytest

from shared.bank import Bank, Priority
from shared.errors import CohortError
from shared.grading import GradedSubmission, grade_submission
from shared.readiness import (
    Calibration,
    Verdict,
    assess,
    calibration_for,
    cohort_stats,
    verdict_for,
)
from shared.settings import ReadinessBands
from shared.submission import Answer, Candidate, SheetFormat, Submission
from tests.plans import plan_for
from tests.small_bank import small_bank

BANDS = ReadinessBands()


@pytest.fixture(scope="module")
def bank() -> Bank:
    return small_bank()


def graded(
    bank: Bank, key: str, answers: tuple[Answer, ...], confidence: tuple[tuple[str, int], ...] = ()
) -> GradedSubmission:
    sub = Submission(
        submission_key=key,
        candidate=Candidate(name=key, email=f"{key}@example.com"),
        source_format=SheetFormat.TEMPLATE,
        answers=answers,
        confidence=confidence,
    )
    return grade_submission(sub, plan_for(bank))


# Python core 100% (critical), web 0% (high), Azure services 50% (medium), events 0% (critical).
MIXED = (
    Answer(item_id="q-gil", choices=("A",)),
    Answer(item_id="q-ctx", choices=("A", "B")),
    Answer(item_id="q-asgi", choices=("A",)),
    Answer(item_id="map-lambda", text="Azure Functions"),
    Answer(item_id="map-s3", text="Azure Files"),
)


def test_overall_weights_critical_three_high_two_medium_one(bank: Bank) -> None:
    readiness = assess(graded(bank, "mixed", MIXED), bank, BANDS)
    assert {t.topic_id: t.percent for t in readiness.topics} == {
        "py": 100.0,
        "web": 0.0,
        "cloud": 50.0,
        "events": 0.0,
    }
    # (3 x 100 + 2 x 0 + 1 x 50 + 3 x 0) / (3 + 2 + 1 + 3)
    assert readiness.overall == 38.9
    assert {a.area.value: a.percent for a in readiness.areas} == {
        "python": 60.0,
        "azure": 50.0,
        "architecture": 0.0,
    }
    assert readiness.verdict is Verdict.NOT_YET


def test_bands_are_configurable(bank: Bank) -> None:
    readiness = assess(graded(bank, "mixed", MIXED), bank, ReadinessBands(ready=35, almost=20))
    assert readiness.verdict is Verdict.READY


@pytest.mark.parametrize(
    ("percent", "verdict"),
    [
        (100.0, Verdict.READY),
        (80.0, Verdict.READY),
        (79.9, Verdict.ALMOST),
        (60.0, Verdict.ALMOST),
        (59.9, Verdict.NOT_YET),
    ],
)
def test_verdict_bands_include_their_lower_bound(percent: float, verdict: Verdict) -> None:
    assert verdict_for(percent, BANDS) is verdict


def test_study_plan_orders_by_priority_times_gap_and_splits_tonight_from_tomorrow(bank: Bank) -> None:
    readiness = assess(graded(bank, "mixed", MIXED), bank, BANDS)
    assert [e.topic_id for e in readiness.tonight] == ["events", "web"]
    assert [e.topic_id for e in readiness.tomorrow] == ["cloud"]
    events = readiness.tonight[0]
    assert events.study == "Review Service Bus dead-lettering and idempotent consumers."
    assert events.missing_concepts == (
        "a Service Bus queue decouples the steps",
        "dead-lettering",
        "idempotency",
        "managed identity",
    )
    assert readiness.tomorrow[0].missed_items == ("map-s3",)


def test_a_topic_at_the_bar_is_not_in_the_plan(bank: Bank) -> None:
    readiness = assess(graded(bank, "mixed", MIXED), bank, ReadinessBands(ready=50, almost=40))
    assert all(e.priority is not Priority.MEDIUM for e in readiness.tonight)
    assert readiness.tomorrow == ()


def test_calibration_compares_confidence_with_the_score(bank: Bank) -> None:
    confidence = (("cloud", 1), ("py", 5), ("web", 4))
    readiness = assess(graded(bank, "mixed", MIXED, confidence), bank, BANDS)
    labels = {c.topic_id: c.label for c in readiness.calibration}
    assert labels == {
        "py": Calibration.CALIBRATED,
        "web": Calibration.OVER,
        "cloud": Calibration.UNDER,
        "events": Calibration.NOT_RATED,
    }


@pytest.mark.parametrize(
    ("confidence", "percent", "label"),
    [
        (4, 50.0, Calibration.CALIBRATED),
        (4, 49.9, Calibration.OVER),
        (2, 50.0, Calibration.CALIBRATED),
        (2, 50.1, Calibration.UNDER),
        (3, 50.0, Calibration.CALIBRATED),
    ],
)
def test_calibration_tolerates_a_quarter_either_way(
    confidence: int, percent: float, label: Calibration
) -> None:
    assert calibration_for(confidence, percent) is label


def test_cohort_stats_measure_difficulty_discrimination_and_weakest_topics(bank: Bank) -> None:
    everything = (
        Answer(item_id="q-gil", choices=("A",)),
        Answer(item_id="q-ctx", choices=("A", "B")),
        Answer(item_id="q-asgi", choices=("B",)),
        Answer(item_id="map-lambda", text="Functions"),
        Answer(item_id="map-s3", text="Blob Storage"),
    )
    cohort = [graded(bank, "top", everything), graded(bank, "mid", MIXED), graded(bank, "low", ())]
    assessments = [assess(g, bank, BANDS) for g in cohort]
    stats = cohort_stats(assessments, cohort, bank)
    assert stats.count == 3
    items = {i.item_id: i for i in stats.items}
    assert items["q-gil"].difficulty == pytest.approx(2 / 3, abs=0.001)
    assert items["q-asgi"].difficulty == pytest.approx(1 / 3, abs=0.001)
    # One candidate per group: the top one got q-gil right, the bottom one did not.
    assert items["q-gil"].discrimination == 1.0
    assert items["scn-events"].discrimination == 0.0
    assert sum(b.count for b in stats.distribution) == 3
    assert dict(stats.verdicts)[Verdict.NOT_YET] == 3
    assert stats.weakest_topics[0] == "events"


def test_cohort_stats_refuse_unpaired_inputs(bank: Bank) -> None:
    one = graded(bank, "one", MIXED)
    with pytest.raises(CohortError):
        cohort_stats([assess(one, bank, BANDS)], [graded(bank, "other", MIXED)], bank)
