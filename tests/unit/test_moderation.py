"""Human moderation: the queue, decisions with If-Match, regenerated reports, the export and the digest."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from shared.access import EVERYONE, Viewer
from shared.api_handlers import submission_status, upload_status
from shared.attempts import Attempt
from shared.bank import Section
from shared.digest import day_counts_and_graded
from shared.errors import AccessDenied
from shared.grading_flow import report_blob_name
from shared.http_results import HttpResult
from shared.ingest import ingest_blob
from shared.ports import FinishedSubmission
from shared.records import load_submission, submission_partition
from shared.review_api import decide_item, export_decisions, item_review, review_queue
from shared.submission import Submission
from tests.fakes import FakeEngine, World, drain, fake_item_id

REVIEWER = Viewer(unrestricted=False, reviewer=True, emails=frozenset({"rita.reviewer@example.com"}))
SECOND = Viewer(unrestricted=False, reviewer=True, emails=frozenset({"sam.second@example.com"}))
ADA = Viewer(unrestricted=False, emails=frozenset({"ada.lovelace@example.com"}))
MAPPING = fake_item_id(Section.SERVICE_MAPPING)
SCENARIO = fake_item_id(Section.SCENARIOS)
QUIZ = fake_item_id(Section.QUIZ)


def _graded(world: World, *routed: Section) -> tuple[str, str]:
    """Grade one candidate whose items of these sections are routed to review; (upload, submission)."""
    world.engine.review_sections = set(routed)
    world.stage("sheet.xlsx", "Ada Lovelace")
    upload_id = ingest_blob(world.services, "sheet.xlsx")
    assert upload_id is not None
    drain(world)
    status = upload_status(world.services, upload_id, EVERYONE).json()
    assert isinstance(status, dict)
    return upload_id, str(status["submissions"][0]["submission_id"])


def _put(
    world: World,
    sid: str,
    item: str,
    points: float,
    reason: str = "the answer names the right service",
    etag: str | None = '"v0"',
    viewer: Viewer = REVIEWER,
) -> HttpResult:
    body = json.dumps({"points": points, "reason": reason}).encode()
    return decide_item(world.services, sid, item, etag, body, viewer)


def _body(result: HttpResult) -> dict[str, Any]:
    body = result.json()
    assert isinstance(body, dict)
    return body


def _report(world: World, sid: str) -> bytes:
    return world.blobs.read(world.settings.reports_container, report_blob_name(sid))


def _report_writes(world: World) -> int:
    return sum(1 for container, _ in world.blobs.writes if container == world.settings.reports_container)


def _decision_rows(world: World) -> list[dict[str, Any]]:
    return [
        dict(e.properties)
        for (pk, rk), e in world.tables.rows.items()
        if pk.startswith("day|") and rk.startswith("review|")
    ]


def test_a_routed_item_awaits_review_and_the_verdict_is_provisional() -> None:
    world = World()
    upload_id, sid = _graded(world, Section.SERVICE_MAPPING)
    queue = _body(review_queue(world.services, REVIEWER, "", ""))
    [entry] = queue["reviews"]
    assert (entry["submission_id"], entry["item_id"], entry["state"]) == (sid, MAPPING, "awaiting")
    assert entry["routed_because"] == "the fake grader was unsure"
    assert entry["etag"] == '"v0"'
    scores = _body(submission_status(world.services, sid, EVERYONE))["scores"]
    assert scores["provisional"] is True
    assert scores["awaiting_review"] == 1
    summary = _body(upload_status(world.services, upload_id, EVERYONE))["submissions"][0]
    assert summary["scores"]["provisional"] is True
    assert _report(world, sid).endswith(b"(provisional)")


def test_a_submission_with_no_routed_item_is_not_provisional_and_queues_nothing() -> None:
    world = World()
    _, sid = _graded(world)
    assert _body(review_queue(world.services, REVIEWER, "all", ""))["reviews"] == []
    assert _body(submission_status(world.services, sid, EVERYONE))["scores"]["provisional"] is False


def test_an_override_regenerates_scores_and_report_and_keeps_who_when_old_new_and_why() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING)
    writes = _report_writes(world)
    result = _put(world, sid, MAPPING, 5, "Blob Storage is right; the spelling fooled the grader")
    assert result.status == 200
    assert result.headers["ETag"] == '"v1"'
    body = _body(result)
    assert body["state"] == "reviewed"
    assert body["decision"] == "overridden"
    assert body["scores"]["percent"] == 5.0
    assert body["scores"]["provisional"] is False
    record = load_submission(world.tables, sid)
    assert record.scores is not None
    assert record.scores["percent"] == 5.0
    assert _report(world, sid) == b"report for Ada Lovelace: 5 points"
    assert _report_writes(world) == writes + 1
    [logged] = _decision_rows(world)
    assert logged["reviewed_by"] == "rita.reviewer@example.com"
    assert logged["reviewed_at"] == world.clock.now().isoformat()
    assert (logged["old_points"], logged["points"], logged["max_points"]) == (0.0, 5.0, 7.0)
    assert logged["note"] == "Blob Storage is right; the spelling fooled the grader"


def test_keeping_the_points_confirms_the_item_and_ends_the_provisional_verdict() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING)
    body = _body(_put(world, sid, MAPPING, 0, "the grader was right"))
    assert body["decision"] == "confirmed"
    assert body["scores"]["provisional"] is False
    assert _report(world, sid) == b"report for Ada Lovelace: 0 points"


def test_the_verdict_stays_provisional_until_every_routed_item_is_reviewed() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING, Section.SCENARIOS)
    first = _body(_put(world, sid, MAPPING, 2))
    assert first["scores"]["provisional"] is True
    assert first["scores"]["awaiting_review"] == 1
    assert _report(world, sid).endswith(b"(provisional)")
    second = _body(_put(world, sid, SCENARIO, 3))
    assert second["scores"]["provisional"] is False
    assert _report(world, sid) == b"report for Ada Lovelace: 5 points"


def test_a_repeated_put_with_the_same_content_changes_nothing() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING)
    first = _put(world, sid, MAPPING, 4)
    rows_before = {k: dict(v.properties) for k, v in world.tables.rows.items()}
    writes = _report_writes(world)
    again = _put(world, sid, MAPPING, 4)
    assert again.status == 200
    assert again.headers["ETag"] == first.headers["ETag"] == '"v1"'
    assert _report_writes(world) == writes
    assert {k: dict(v.properties) for k, v in world.tables.rows.items()} == rows_before
    assert len(_decision_rows(world)) == 1


def test_a_repeat_after_a_crash_before_the_report_finishes_the_regeneration() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING)
    world.blobs.fail_writes = True
    with pytest.raises(RuntimeError):
        _put(world, sid, MAPPING, 6)
    world.blobs.fail_writes = False
    again = _put(world, sid, MAPPING, 6)
    assert again.status == 200
    assert _report(world, sid) == b"report for Ada Lovelace: 6 points"
    assert len(_decision_rows(world)) == 1


def test_a_change_without_if_match_is_428_and_with_a_stale_etag_is_412() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING)
    missing = _put(world, sid, MAPPING, 3, etag=None)
    assert missing.status == 428
    assert missing.content_type == "application/problem+json"
    assert _put(world, sid, MAPPING, 3).status == 200
    stale = _put(world, sid, MAPPING, 4, etag='"v0"')
    assert stale.status == 412
    assert stale.headers["ETag"] == '"v1"'
    assert _put(world, sid, MAPPING, 4, etag=stale.headers["ETag"]).headers["ETag"] == '"v2"'


def test_of_two_overrides_racing_from_the_same_etag_exactly_one_wins_and_the_other_gets_412() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING)
    outcomes: list[HttpResult] = []

    def rival_decides_first(_partition: str) -> None:
        outcomes.append(_put(world, sid, MAPPING, 7, "full marks", viewer=SECOND))

    world.tables.before_write = rival_decides_first
    mine = _put(world, sid, MAPPING, 2, "half right")
    assert [o.status for o in outcomes] == [200]
    assert mine.status == 412
    assert mine.headers["ETag"] == '"v1"'
    review = _body(item_review(world.services, sid, MAPPING, REVIEWER))
    assert (review["points"], review["reviewed_by"]) == (7.0, "sam.second@example.com")
    assert _report(world, sid) == b"report for Ada Lovelace: 7 points"


def test_of_overrides_sent_at_once_by_two_threads_exactly_one_wins() -> None:
    world = World()
    _, sid = _graded(world)  # an item not routed: its review row does not exist yet, both insert it
    barrier = threading.Barrier(2)
    results: list[int] = []

    def decide(points: float, viewer: Viewer) -> None:
        barrier.wait()
        results.append(_put(world, sid, QUIZ, points, viewer=viewer).status)

    threads = [threading.Thread(target=decide, args=a) for a in ((1, REVIEWER), (2, SECOND))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 412]


@dataclass
class RivalDuringRender(FakeEngine):
    """Runs ``rival`` once, right after rendering a report and before it is stored."""

    rival: Callable[[], None] | None = None

    def finish(
        self, submission: Submission, section_results: Sequence[str], history: Sequence[Attempt] = ()
    ) -> FinishedSubmission:
        finished = super().finish(submission, section_results, history)
        if self.rival is not None:
            rival, self.rival = self.rival, None
            rival()
        return finished


def test_a_report_rendered_before_a_rivals_decision_is_rendered_again_with_both() -> None:
    engine = RivalDuringRender()
    world = World(engine=engine)
    _, sid = _graded(world, Section.SERVICE_MAPPING, Section.SCENARIOS)

    def rival() -> None:
        assert _put(world, sid, SCENARIO, 3, viewer=SECOND).status == 200

    engine.rival = rival
    # My report (2 points, without the rival's 3) is stored after the rival's: it must not stay.
    assert _put(world, sid, MAPPING, 2).status == 200
    assert _report(world, sid) == b"report for Ada Lovelace: 5 points"
    record = load_submission(world.tables, sid)
    assert record.scores is not None
    assert record.scores["percent"] == 5.0


def test_a_decision_made_while_my_report_is_recorded_reaches_the_report() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING, Section.SCENARIOS)

    def then_the_rival_decides(_partition: str) -> None:
        assert _put(world, sid, SCENARIO, 3, viewer=SECOND).status == 200

    def arm(_partition: str) -> None:
        # My review row is written; the rival decides while my report is being recorded.
        world.tables.before_write = then_the_rival_decides

    world.tables.before_write = arm
    assert _put(world, sid, MAPPING, 2).status == 200
    assert _report(world, sid) == b"report for Ada Lovelace: 5 points"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"points": -1, "reason": "x"}', "points"),
        (b'{"points": 1}', "reason"),
        (b'{"points": 1, "reason": "   "}', "reason"),
        (b'{"points": "lots", "reason": "x"}', "points"),
        (b'{"points": "2", "reason": "x"}', "points"),
        (b'{"points": true, "reason": "x"}', "points"),
        (b'{"points": 1, "reason": "x", "extra": true}', "extra"),
        (b"not json", "(body)"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(body: bytes, field: str) -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING)
    result = decide_item(world.services, sid, MAPPING, '"v0"', body, REVIEWER)
    assert result.status == 400
    assert result.content_type == "application/problem+json"
    assert field in [e["field"] for e in _body(result)["errors"]]


def test_points_above_the_items_maximum_are_a_422() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING)
    result = _put(world, sid, MAPPING, 7.5)
    assert result.status == 422
    assert "maximum of 7" in _body(result)["detail"]


def test_unknown_ids_are_404_and_a_submission_still_grading_is_409() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING)
    assert _put(world, "0" * 32, MAPPING, 1).status == 404
    assert _put(world, "../etc", MAPPING, 1).status == 404
    assert _put(world, sid, "no-such-item", 1).status == 404
    assert _put(world, sid, "Bad Item!", 1).status == 404
    world.stage("second.xlsx", "Alan Turing")
    ingest_blob(world.services, "second.xlsx")
    grading = [pk for pk, rk in world.tables.rows if rk == "submission" and pk != submission_partition(sid)]
    assert _put(world, grading[0].removeprefix("sub|"), QUIZ, 1).status == 409


def test_a_candidate_never_sees_the_queue_an_item_or_the_export_and_cannot_decide() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING)
    with pytest.raises(AccessDenied, match="for reviewers"):
        review_queue(world.services, ADA, "", "")
    with pytest.raises(AccessDenied, match="for reviewers"):
        item_review(world.services, sid, MAPPING, ADA)
    with pytest.raises(AccessDenied, match="for reviewers"):
        export_decisions(world.services, ADA, "", "")
    with pytest.raises(AccessDenied, match="for reviewers"):
        _put(world, sid, MAPPING, 7, viewer=ADA)
    assert load_submission(world.tables, sid).scores["percent"] == 0.0  # type: ignore[index]


def test_the_queue_filters_by_status_and_upload() -> None:
    world = World()
    upload_id, sid = _graded(world, Section.SERVICE_MAPPING, Section.SCENARIOS)
    _put(world, sid, MAPPING, 1)
    awaiting = _body(review_queue(world.services, REVIEWER, "awaiting", ""))["reviews"]
    reviewed = _body(review_queue(world.services, REVIEWER, "reviewed", upload_id))["reviews"]
    assert [r["item_id"] for r in awaiting] == [SCENARIO]
    assert [(r["item_id"], r["reviewed_by"]) for r in reviewed] == [(MAPPING, "rita.reviewer@example.com")]
    assert len(_body(review_queue(world.services, REVIEWER, "all", ""))["reviews"]) == 2
    assert _body(review_queue(world.services, REVIEWER, "all", "f" * 32))["reviews"] == []
    assert review_queue(world.services, REVIEWER, "pending", "").status == 400
    assert review_queue(world.services, REVIEWER, "", "not-an-id").status == 400


def test_the_queue_lists_the_oldest_routed_items_first() -> None:
    world = World()
    _, first = _graded(world, Section.SERVICE_MAPPING)
    world.clock.advance(hours=1)
    world.stage("later.xlsx", "Alan Turing")
    ingest_blob(world.services, "later.xlsx")
    drain(world)
    queue = _body(review_queue(world.services, REVIEWER, "", ""))["reviews"]
    assert queue[0]["submission_id"] == first
    assert [r["opened_at"] for r in queue] == sorted(r["opened_at"] for r in queue)
    assert len(queue) == 2


def test_an_item_shows_the_answer_the_key_and_its_etag() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING)
    result = item_review(world.services, sid, MAPPING, REVIEWER)
    assert result.status == 200
    assert result.headers["ETag"] == '"v0"'
    body = _body(result)
    assert (body["state"], body["key_text"], body["max_points"]) == ("awaiting", "the key", 7.0)
    assert _body(item_review(world.services, sid, QUIZ, REVIEWER))["state"] == "not_routed"


def test_decisions_are_exported_as_json_lines_oldest_first() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING, Section.SCENARIOS)
    _put(world, sid, MAPPING, 4, "first")
    world.clock.advance(days=1)
    _put(world, sid, SCENARIO, 0, "second")
    export = export_decisions(world.services, REVIEWER, "", "")
    assert export.status == 200
    assert export.content_type == "application/jsonl"
    lines = [json.loads(line) for line in export.body.decode().splitlines()]
    assert [(x["item_id"], x["decision"], x["reason"]) for x in lines] == [
        (MAPPING, "overridden", "first"),
        (SCENARIO, "confirmed", "second"),
    ]
    assert lines[0]["bank_id"] == "fake-bank"
    assert (lines[0]["id"], lines[0]["grade"], lines[0]["graded_points"]) == (f"{sid}:{MAPPING}:v1", 4.0, 0.0)
    assert lines[0]["submission_id"] == sid
    today = world.clock.now().date().isoformat()
    assert len(export_decisions(world.services, REVIEWER, today, today).body.splitlines()) == 1


@pytest.mark.parametrize(
    ("since", "until"), [("2026-03-05", "2026-03-01"), ("2024-01-01", "2026-03-01"), ("yesterday", "")]
)
def test_a_bad_export_range_is_a_400(since: str, until: str) -> None:
    assert export_decisions(World().services, REVIEWER, since, until).status == 400


def test_the_digest_counts_the_days_overrides_but_not_confirmations() -> None:
    world = World()
    _, sid = _graded(world, Section.SERVICE_MAPPING, Section.SCENARIOS, Section.QUIZ)
    _put(world, sid, MAPPING, 4)
    _put(world, sid, SCENARIO, 0)
    _put(world, sid, QUIZ, 1)
    counts, _, _ = day_counts_and_graded(world.services, world.clock.now().date().isoformat())
    assert counts["items overridden by reviewers"] == 2


def test_the_openapi_document_describes_the_review_routes() -> None:
    from shared.openapi import openapi_document

    paths = json.loads(openapi_document())["paths"]
    assert set(paths["/api/submissions/{submission_id}/items/{item_id}"]) == {"get", "put"}
    put = paths["/api/submissions/{submission_id}/items/{item_id}"]["put"]
    assert {"412", "428", "422"} <= set(put["responses"])
    assert "get" in paths["/api/reviews"]
    assert "get" in paths["/api/reviews/export"]
