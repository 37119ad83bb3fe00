"""Golden tests on the committed samples: scores and verdicts that can be justified by hand."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import docx
import pytest

from readycheck_cli.offline_grader import grade_workbook, offline_settings
from samples.build import COHORT_FILE, COHORT_SIZE, answers_for, build, profiles
from shared.adapters.workbook_parser import parse_workbook
from shared.bank import Bank, load_bank
from shared.grading import GradedSubmission, grade_submission
from shared.readiness import Calibration, Readiness, Verdict, assess, cohort_stats
from shared.settings import ParseLimits, ReadinessBands
from shared.submission import Submission
from tests.plans import plan_for

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


def parsed(bank: Bank, name: str) -> Sequence[Submission]:
    return parse_workbook((SAMPLES / name).read_bytes(), bank, ParseLimits()).submissions


def graded(bank: Bank, name: str) -> tuple[GradedSubmission, Readiness]:
    (submission,) = parsed(bank, name)
    result = grade_submission(submission, plan_for(bank))
    return result, assess(result, bank, ReadinessBands())


def test_the_committed_samples_match_what_the_build_script_writes(bank: Bank) -> None:
    for profile in profiles(bank):
        (submission,) = parsed(bank, profile.file)
        written = {a.item_id for a in submission.answers}
        assert written == set(answers_for(profile, bank)), profile.file
        assert submission.candidate.email == profile.candidate.email


def test_a_rebuild_writes_the_committed_samples_byte_for_byte(tmp_path: Path) -> None:
    # Fails when the bank or the template changed without `make samples`, or the build stopped being
    # reproducible (a save-time stamp crept back in).
    for path in build(tmp_path):
        assert path.read_bytes() == (SAMPLES / path.name).read_bytes(), path.name


def test_the_strongest_candidate_is_ready_and_studies_only_her_two_gaps(bank: Bank) -> None:
    result, readiness = graded(bank, "candidate-amara-okafor.xlsx")
    # Every topic at 100% except two medium ones (weight 1 each) at 0%; weights total
    # 6 critical x 3 + 6 high x 2 + 4 medium x 1 = 34, so (34 - 2) / 34 = 94.1%.
    assert readiness.overall == 94.1
    assert readiness.verdict is Verdict.READY
    assert readiness.tonight == ()
    assert [e.topic_id for e in readiness.tomorrow] == ["document-processing", "infrastructure-as-code"]
    assert {c.label for c in readiness.calibration} == {Calibration.CALIBRATED}
    lambda_item = next(r for r in result.items if r.item_id == "map-lambda")
    assert lambda_item.points == 1.0
    assert "allowing for spelling" in lambda_item.feedback


def test_the_middle_candidate_is_almost_ready_with_architecture_gaps_tonight(bank: Bank) -> None:
    result, readiness = graded(bank, "candidate-ben-carter.xlsx")
    # Four weak topics at 0%: two critical (3 + 3) and two medium (1 + 1) lose 8 of 34 weights,
    # so at most 76.5%; thin answers in monitoring and devops and a hedged mapping cost the rest.
    assert readiness.overall == 73.4
    assert readiness.verdict is Verdict.ALMOST
    assert [e.topic_id for e in readiness.tonight] == ["api-gateway", "cqrs-event-sourcing", "devops"]
    assert [e.topic_id for e in readiness.tomorrow] == ["identity", "infrastructure-as-code", "monitoring"]
    hedged = next(r for r in result.items if r.item_id == "map-lambda")
    assert hedged.points == 0.5
    over = {c.topic_id for c in readiness.calibration if c.label is Calibration.OVER}
    assert {"api-gateway", "cqrs-event-sourcing", "identity", "infrastructure-as-code"} <= over


def test_the_weakest_candidate_is_not_yet_and_buzzwords_and_misstatements_earn_little(bank: Bank) -> None:
    result, readiness = graded(bank, "candidate-chen-wei.xlsx")
    assert readiness.verdict is Verdict.NOT_YET
    assert readiness.overall < 40
    tonight = [e.topic_id for e in readiness.tonight]
    # Bare lists of names in the architecture answers (a quarter credit at most) leave these furthest
    # behind; a list attaches no attribute to any name, so it is never read as a swapped role.
    assert set(tonight[:3]) == {"cqrs-event-sourcing", "event-driven", "api-gateway"}
    assert not {"python-advanced", "orm-database"} & {
        e.topic_id for e in (*readiness.tonight, *readiness.tomorrow)
    }
    lists = [r for r in result.items if r.kind == "open_answer" and r.topic not in {"web-frameworks"}]
    assert all(r.points <= 0.25 * r.max_points for r in lists)
    django = next(r for r in result.items if r.item_id == "iq-django-vs-fastapi")
    assert "Wrong, so no credit" in django.feedback
    over = {c.topic_id for c in readiness.calibration if c.label is Calibration.OVER}
    assert "azure-core-services" in over


def test_the_cohort_export_grades_every_respondent_and_spreads_out(bank: Bank) -> None:
    submissions = parsed(bank, COHORT_FILE)
    assert len(submissions) == COHORT_SIZE
    results = [grade_submission(s, plan_for(bank)) for s in submissions]
    assessments = [assess(r, bank, ReadinessBands()) for r in results]
    stats = cohort_stats(assessments, results, bank)
    verdicts = dict(stats.verdicts)
    assert all(verdicts[v] > 0 for v in Verdict)
    # Respondents were generated with rising skill, so strong ones answer items weak ones miss.
    assert sum(i.discrimination for i in stats.items) / len(stats.items) > 0.2


def test_grading_every_sample_writes_reports_that_reopen_with_the_right_verdict(tmp_path: Path) -> None:
    for workbook in sorted(SAMPLES.glob("*.xlsx")):
        out = tmp_path / workbook.stem
        assert grade_workbook(workbook, out, io.StringIO(), offline_settings({})) == 0, workbook.name
        summary = json.loads((out / "summary.json").read_text("utf-8"))
        for candidate in summary["candidates"]:
            report = docx.Document(out / candidate["report"])
            text = [p.text for p in report.paragraphs]
            assert candidate["name"] in text
            assert f"{candidate['overall']:.0f}% \u2013 {candidate['verdict']}" in text
