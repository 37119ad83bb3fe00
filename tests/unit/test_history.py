"""A candidate's progress across uploads: the index the grader keeps, the routes, the report's trend."""

from __future__ import annotations

import io
import json

import docx

from shared.access import EVERYONE, Viewer
from shared.adapters.docx_report import render_report
from shared.attempts import Attempt, candidate_attempts
from shared.digest import run_digest
from shared.grading import grade_submission
from shared.grading_flow import GradingWork, handle_grading_message
from shared.history import history_request
from shared.ingest import ingest_blob
from shared.readiness import assess
from shared.records import candidate_id_for
from shared.report import build_report
from shared.settings import ReadinessBands
from shared.submission import Answer, Candidate, SheetFormat, Submission
from tests.fakes import World, drain
from tests.plans import plan_for
from tests.small_bank import small_bank

ADA = candidate_id_for("ada.lovelace@example.com")


def _upload(world: World, blob: str, *names: str) -> list[GradingWork]:
    world.sender.take()
    world.stage(blob, *names, data=f"PK\x03\x04 {blob} {names}".encode())
    ingest_blob(world.services, blob)
    works = [GradingWork.from_json(m.body) for m in world.sender.sent]
    drain(world)
    return works


def _two_attempts() -> tuple[World, list[GradingWork], list[GradingWork]]:
    world = World()
    first = _upload(world, "monday.xlsx", "Ada Lovelace")
    world.clock.advance(days=1)
    second = _upload(world, "tuesday.xlsx", "Ada Lovelace", "Grace Hopper")
    return world, first, second


def test_a_second_upload_by_the_same_candidate_renders_with_the_first_attempt_as_history() -> None:
    world, first, _ = _two_attempts()
    assert world.engine.histories[0] == ()
    ada_second = [h for h in world.engine.histories[1:] if h]
    assert len(ada_second) == 1
    assert [a.submission_id for a in ada_second[0]] == [first[0].submission_id]


def test_the_index_keeps_one_row_per_attempt_even_when_the_completing_message_is_redelivered() -> None:
    world, first, second = _two_attempts()
    handle_grading_message(world.services, second[-1], {})
    attempts = candidate_attempts(world.tables, ADA)
    assert [a.submission_id for a in attempts] == [first[0].submission_id, second[0].submission_id]
    assert attempts[0].day < attempts[1].day


def test_the_digest_gets_each_report_link_and_the_verdict_of_the_previous_attempt() -> None:
    world, first, second = _two_attempts()
    run_digest(world.services, world.clock.now().date())
    urls, earlier = world.engine.digest_links[-1]
    # The second day graded Ada (her second attempt) and Grace (her first).
    assert set(urls.values()) == {f"/api/submissions/{w.submission_id}/report" for w in second}
    assert first[0].submission_id not in "".join(urls.values())
    assert list(earlier.values()) == ["Not yet"]
    assert urls[next(iter(earlier))] == f"/api/submissions/{second[0].submission_id}/report"


def test_a_reviewer_reads_a_candidates_history_oldest_first_with_report_links() -> None:
    world, first, _ = _two_attempts()
    result = history_request(world.services, ADA, Viewer(unrestricted=False, reviewer=True))
    assert result.status == 200
    body = json.loads(result.body)
    assert body["candidate_id"] == ADA
    oldest = body["attempts"][0]
    assert oldest["report_url"] == f"/api/submissions/{first[0].submission_id}/report"
    assert len(body["attempts"]) == 2


def test_a_signed_in_candidate_reads_their_own_history_and_nobody_elses() -> None:
    world, _, _ = _two_attempts()
    ada = Viewer(unrestricted=False, emails=frozenset({"ada.lovelace@example.com"}))
    mine = json.loads(history_request(world.services, "me", ada).body)
    assert [c["candidate_id"] for c in mine["candidates"]] == [ADA]
    assert len(mine["candidates"][0]["attempts"]) == 2
    grace = candidate_id_for("grace.hopper@example.com")
    assert history_request(world.services, grace, ada).status == 404
    assert history_request(world.services, "not-an-id", EVERYONE).status == 404


def test_me_without_a_signed_in_candidate_is_a_clear_400() -> None:
    result = history_request(World().services, "me", EVERYONE)
    assert result.status == 400
    assert "sign" in json.loads(result.body)["detail"]


def _graded_report(history: tuple[Attempt, ...], answers: tuple[Answer, ...]) -> bytes:
    bank = small_bank()
    sub = Submission(
        submission_key="sub-2",
        candidate=Candidate(name="Ada", email="ada@example.com", date="2026-11-21"),
        source_format=SheetFormat.TEMPLATE,
        answers=answers,
    )
    graded = grade_submission(sub, plan_for(bank))
    model = build_report(sub, graded, assess(graded, bank, ReadinessBands()), bank, history=history)
    return render_report(model)


def test_the_report_of_a_later_attempt_shows_the_trend_and_the_topics_that_moved() -> None:
    bank = small_bank()
    names = [t.name for t in bank.topics]
    earlier = Attempt(
        submission_id="s1",
        started_at="2026-11-20T09:00:00+00:00",
        day="2026-11-20",
        overall=10.0,
        verdict="Not yet",
        areas={"python": 5.0, "azure": 10.0, "architecture": 15.0},
        topics={names[0]: 0.0, names[1]: 100.0, names[2]: 10.0},
    )
    answers = (Answer(item_id="q-gil", choices=("B",)), Answer(item_id="map-lambda", text="Azure Functions"))
    document = docx.Document(io.BytesIO(_graded_report((earlier,), answers)))
    text = [p.text for p in document.paragraphs]
    assert "Since your last attempt" in text
    trend = next(t for t in document.tables if t.rows[0].cells[0].text == "Attempt")
    rows = [[c.text for c in r.cells] for r in trend.rows]
    assert rows[0][:2] == ["Attempt", "Overall"]
    assert rows[1][:2] == ["1 \u00b7 2026-11-20", "10%"]
    assert rows[2][0] == "2 \u00b7 2026-11-21 (this one)"
    assert "Improved: Azure services 10% \u2192 50%." in text
    assert "Slipped: Web frameworks 100% \u2192 0%." in text
    assert text.index("Since your last attempt") < text.index("Your plan")


def test_a_first_attempt_has_no_trend() -> None:
    document = docx.Document(io.BytesIO(_graded_report((), ())))
    assert "Since your last attempt" not in [p.text for p in document.paragraphs]
