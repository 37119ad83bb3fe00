"""Grading messages: idempotent sections, exactly one report per submission, failures and sweeps.

The ingest sends one message per submission; the sweeper and old messages carry some sections
only, so many rules are also checked with one message per section (``_sections``).
"""

from __future__ import annotations

import contextlib
import json
import threading

import pytest

from shared.bank import Section
from shared.errors import InvalidMessage
from shared.grading_flow import (
    DEAD_LETTER_PARTITION,
    GradingOutcome,
    GradingWork,
    handle_grading_message,
    parse_submission,
    record_dead_letter,
    record_failure,
    replay_dead_letters,
    report_blob_name,
    sweep_stuck,
)
from shared.ingest import ingest_blob
from shared.records import (
    INFLIGHT_PARTITION,
    SubmissionStatus,
    chunked,
    load_submission,
    result_row,
    submission_partition,
    summary_row,
    upload_partition,
)
from tests.fakes import World, drain


def _ingested(world: World, *names: str) -> list[GradingWork]:
    world.stage("sheet.xlsx", *names)
    ingest_blob(world.services, "sheet.xlsx")
    return [GradingWork.from_json(m.body) for m in world.sender.sent]


def _sections(world: World, *names: str) -> list[GradingWork]:
    """Ingest, then split each submission's message into one message per section."""
    return [
        GradingWork(w.upload_id, w.submission_id, (section,))
        for w in _ingested(world, *names)
        for section in w.sections
    ]


def _reports(world: World) -> list[str]:
    return [name for (container, name) in world.blobs.writes if container == world.settings.reports_container]


def test_one_message_grades_every_section_and_renders_the_report() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    assert [w.sections for w in works] == [tuple(Section)]
    outcomes = drain(world)
    assert outcomes == [GradingOutcome.REPORT_RENDERED]
    assert sorted(s for _, s in world.engine.grade_calls) == sorted(Section)
    record = load_submission(world.tables, works[0].submission_id)
    assert record.status is SubmissionStatus.GRADED
    assert record.scores is not None
    assert _reports(world) == [report_blob_name(works[0].submission_id)]


def test_the_last_section_renders_the_report_when_sections_arrive_one_by_one() -> None:
    world = World()
    works = _sections(world, "Ada Lovelace")
    world.sender.take()
    outcomes = [handle_grading_message(world.services, w, {}) for w in works]
    assert outcomes == [GradingOutcome.SECTION_RECORDED] * (len(Section) - 1) + [
        GradingOutcome.REPORT_RENDERED
    ]
    assert _reports(world) == [report_blob_name(works[0].submission_id)]


def test_a_whole_submission_is_read_once_and_written_in_one_transaction() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.sender.take()
    transactions: list[str] = []
    world.tables.before_write = transactions.append
    handle_grading_message(world.services, works[0], {})
    # The first conditional or batch write is the results-and-progress transaction of its partition.
    assert transactions == [submission_partition(works[0].submission_id)]
    assert load_submission(world.tables, works[0].submission_id).status is SubmissionStatus.GRADED


def test_a_crash_after_the_transaction_still_ends_with_exactly_one_report() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.sender.take()
    world.blobs.fail_writes = True  # results and progress are stored; the render's blob write fails
    with pytest.raises(RuntimeError):
        handle_grading_message(world.services, works[0], {})
    world.blobs.fail_writes = False
    assert load_submission(world.tables, works[0].submission_id).complete
    assert handle_grading_message(world.services, works[0], {}) is GradingOutcome.REPORT_RENDERED
    assert handle_grading_message(world.services, works[0], {}) is GradingOutcome.ALREADY_FINISHED
    assert len(world.engine.grade_calls) == len(Section)
    assert _reports(world) == [report_blob_name(works[0].submission_id)]


def test_a_crash_during_the_transaction_stores_nothing_and_the_redelivery_renders_once() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.sender.take()

    class Killed(Exception):
        pass

    def kill(partition: str) -> None:
        raise Killed

    world.tables.before_write = kill
    with pytest.raises(Killed):
        handle_grading_message(world.services, works[0], {})
    rows = world.tables.query_partition(submission_partition(works[0].submission_id))
    assert [r.row_key for r in rows if r.row_key.startswith("result|")] == []
    assert handle_grading_message(world.services, works[0], {}) is GradingOutcome.REPORT_RENDERED
    assert _reports(world) == [report_blob_name(works[0].submission_id)]


def test_results_stored_without_their_progress_are_not_graded_again() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.sender.take()
    stored = (Section.QUIZ, Section.SCENARIOS)
    submission = works[0].submission_id
    for section in stored:  # what a grader killed between its result and its progress write left
        result = world.engine.grade(parse_submission(load_submission(world.tables, submission)), section)
        world.tables.upsert(submission_partition(submission), result_row(section), chunked("result", result))
    world.engine.grade_calls.clear()
    assert handle_grading_message(world.services, works[0], {}) is GradingOutcome.REPORT_RENDERED
    assert sorted(s for _, s in world.engine.grade_calls) == sorted(set(Section) - set(stored))
    assert _reports(world) == [report_blob_name(submission)]


def test_a_whole_submission_racing_its_resent_sections_renders_exactly_once() -> None:
    for _ in range(10):
        world = World()
        [whole] = _ingested(world, "Ada Lovelace")
        world.sender.take()
        resent = [GradingWork(whole.upload_id, whole.submission_id, (s,)) for s in Section]
        outcomes = _race(world, [whole, *resent])
        assert outcomes.count(GradingOutcome.REPORT_RENDERED) == 1
        assert len(world.engine.finish_calls) == 1


def test_a_message_of_one_section_from_before_the_change_still_reads() -> None:
    body = json.dumps({"upload_id": "u", "submission_id": "s", "section": "quiz"})
    assert GradingWork.from_json(body) == GradingWork("u", "s", (Section.QUIZ,))


def test_the_upload_summary_and_in_flight_marker_follow_the_final_status() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    drain(world)
    summary = world.tables.get(upload_partition(works[0].upload_id), summary_row(works[0].submission_id))
    assert summary.properties["status"] == "graded"
    assert world.tables.query_partition(INFLIGHT_PARTITION) == []


def test_every_message_delivered_twice_changes_nothing() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    messages = world.sender.take()
    for message in messages + messages:
        handle_grading_message(world.services, GradingWork.from_json(message.body), {})
    assert len(world.engine.grade_calls) == len(Section)
    assert world.engine.finish_calls == [world.engine.finish_calls[0]]
    assert _reports(world) == [report_blob_name(works[0].submission_id)]


def test_the_completing_grader_renders_from_the_results_it_already_read() -> None:
    world = World()
    works = _sections(world, "Ada Lovelace")
    world.sender.take()
    for work in works[:-1]:
        handle_grading_message(world.services, work, {})
    reads = world.tables.partition_queries
    assert handle_grading_message(world.services, works[-1], {}) is GradingOutcome.REPORT_RENDERED
    # One query for its submission (record and results), one for its candidate's earlier attempts.
    assert world.tables.partition_queries - reads == 2


def test_a_grader_killed_after_completing_progress_renders_on_redelivery() -> None:
    world = World()
    works = _sections(world, "Ada Lovelace")
    world.sender.take()
    for work in works[:-1]:
        handle_grading_message(world.services, work, {})
    last = works[-1]
    world.blobs.fail_writes = True
    with pytest.raises(RuntimeError):
        handle_grading_message(world.services, last, {})
    world.blobs.fail_writes = False
    assert load_submission(world.tables, last.submission_id).complete
    assert handle_grading_message(world.services, last, {}) is GradingOutcome.REPORT_RENDERED
    assert _reports(world) == [report_blob_name(last.submission_id)]


def test_a_redelivered_non_completing_section_does_not_render() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    drain(world)
    world.engine.finish_calls.clear()
    assert handle_grading_message(world.services, works[0], {}) is GradingOutcome.ALREADY_FINISHED
    assert world.engine.finish_calls == []


def test_a_lost_etag_race_on_progress_retries_and_keeps_both_sections() -> None:
    world = World()
    works = _sections(world, "Ada Lovelace")
    world.sender.take()
    first, second = works[0], works[1]

    def rival(partition: str) -> None:
        handle_grading_message(world.services, second, {})

    world.tables.before_write = rival
    handle_grading_message(world.services, first, {})
    assert load_submission(world.tables, first.submission_id).done == {*first.sections, *second.sections}


def _race(world: World, works: list[GradingWork]) -> list[GradingOutcome]:
    """Every message handled at the same moment on its own thread."""
    barrier = threading.Barrier(len(works))
    outcomes: list[GradingOutcome] = []

    def grade(work: GradingWork) -> None:
        barrier.wait()
        outcomes.append(handle_grading_message(world.services, work, {}))

    threads = [threading.Thread(target=grade, args=(w,)) for w in works]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_concurrent_graders_of_one_submission_render_exactly_once() -> None:
    for _ in range(20):
        world = World()
        works = _sections(world, "Ada Lovelace")
        world.sender.take()
        outcomes = _race(world, works)
        assert outcomes.count(GradingOutcome.REPORT_RENDERED) == 1
        assert len(world.engine.finish_calls) == 1


def test_many_submissions_are_each_graded_exactly_once() -> None:
    world = World()
    names = [f"Candidate {i}" for i in range(50)]
    _ingested(world, *names)
    drain(world)
    assert len(world.engine.finish_calls) == 50
    assert len(set(_reports(world))) == 50


def test_a_dead_lettered_section_fails_its_submission_with_the_reason() -> None:
    world = World()
    works = _sections(world, "Ada Lovelace")
    record_dead_letter(world.services, works[0].to_json(), "m1", "MaxDeliveryCountExceeded", "tried 5 times")
    record = load_submission(world.tables, works[0].submission_id)
    assert record.status is SubmissionStatus.FAILED
    assert "MaxDeliveryCountExceeded" in record.reason
    assert works[0].sections[0].value in record.reason
    summary = world.tables.get(upload_partition(works[0].upload_id), summary_row(works[0].submission_id))
    assert summary.properties["status"] == "failed"


def test_sections_arriving_after_failure_change_nothing() -> None:
    world = World()
    works = _sections(world, "Ada Lovelace")
    world.sender.take()
    record_dead_letter(world.services, works[0].to_json(), "m1", "MaxDeliveryCountExceeded", "")
    for work in works[1:]:
        assert handle_grading_message(world.services, work, {}) is GradingOutcome.ALREADY_FINISHED
    assert world.engine.finish_calls == []


def test_a_dead_letter_after_grading_leaves_the_submission_graded() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    drain(world)
    record_dead_letter(world.services, works[0].to_json(), "m1", "late", "")
    assert load_submission(world.tables, works[0].submission_id).status is SubmissionStatus.GRADED


def test_a_dead_letter_of_a_submission_with_every_result_stored_completes_it() -> None:
    world = World()
    [work] = _ingested(world, "Ada Lovelace")
    world.blobs.fail_writes = True
    for _ in range(5):
        with pytest.raises(RuntimeError):
            handle_grading_message(world.services, work, {})
    world.blobs.fail_writes = False
    record_dead_letter(world.services, work.to_json(), "m1", "MaxDeliveryCountExceeded", "tried 5 times")
    record = load_submission(world.tables, work.submission_id)
    assert record.status is SubmissionStatus.GRADED
    assert record.reason == ""
    assert _reports(world) == [report_blob_name(work.submission_id)]
    assert world.tables.query_partition(DEAD_LETTER_PARTITION) == []


def test_a_dead_letter_that_cannot_complete_its_submission_raises_for_redelivery() -> None:
    world = World()
    [work] = _ingested(world, "Ada Lovelace")
    world.blobs.fail_writes = True
    with pytest.raises(RuntimeError):
        handle_grading_message(world.services, work, {})
    with pytest.raises(RuntimeError):
        record_dead_letter(world.services, work.to_json(), "m1", "MaxDeliveryCountExceeded", "")
    assert load_submission(world.tables, work.submission_id).status is SubmissionStatus.GRADING


def test_a_report_stored_after_a_recorded_failure_makes_the_submission_graded() -> None:
    world = World()
    [work] = _ingested(world, "Ada Lovelace")

    def fail_meanwhile(container: str, name: str) -> None:
        # An earlier delivery's dead letter lands while this one is storing the report.
        record_failure(world.services, work.submission_id, "could not be graded: MaxDeliveryCountExceeded")

    world.blobs.after_write = fail_meanwhile
    assert handle_grading_message(world.services, work, {}) is GradingOutcome.REPORT_RENDERED
    record = load_submission(world.tables, work.submission_id)
    assert record.status is SubmissionStatus.GRADED
    assert record.reason == ""
    summary = world.tables.get(upload_partition(work.upload_id), summary_row(work.submission_id))
    assert summary.properties["status"] == "graded"
    assert summary.properties["reason"] == ""


def test_a_section_that_always_fails_raises_so_the_broker_can_retry() -> None:
    world = World()
    works = _sections(world, "Ada Lovelace")
    world.engine.failing_sections = {works[0].sections[0]}
    with pytest.raises(RuntimeError):
        handle_grading_message(world.services, works[0], {})


def test_malformed_messages_are_invalid() -> None:
    for body in (
        "not json",
        "{}",
        json.dumps({"upload_id": "u", "submission_id": "s", "section": "nope"}),
        json.dumps({"upload_id": "u", "submission_id": "s", "sections": []}),
        json.dumps({"upload_id": "u", "submission_id": "s", "sections": "quiz"}),
    ):
        with pytest.raises(InvalidMessage):
            GradingWork.from_json(body)


def test_the_sweeper_resends_only_the_missing_sections_of_a_stuck_submission() -> None:
    world = World()
    works = _sections(world, "Ada Lovelace")
    world.sender.take()
    handle_grading_message(world.services, works[0], {})
    world.clock.advance(minutes=world.settings.stuck_grading_minutes + 1)
    report = sweep_stuck(world.services)
    [resent] = [GradingWork.from_json(m.body) for m in world.sender.sent]
    assert report.resent == len(Section) - 1
    assert resent.sections == tuple(s for w in works[1:] for s in w.sections)
    assert [m.message_id for m in world.sender.sent] == [f"{resent.submission_id}:{resent.label}:resend1"]
    drain(world)
    assert load_submission(world.tables, works[0].submission_id).status is SubmissionStatus.GRADED


def test_the_sweeper_leaves_recent_submissions_alone() -> None:
    world = World()
    _ingested(world, "Ada Lovelace")
    world.sender.take()
    assert sweep_stuck(world.services).resent == 0
    assert world.sender.sent == []


def test_the_sweeper_fails_a_submission_after_the_resend_limit() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.engine.failing_sections = set(Section)
    world.sender.take()
    for _ in range(world.settings.max_resend_attempts):
        world.clock.advance(minutes=world.settings.stuck_grading_minutes + 1)
        sweep_stuck(world.services)
        world.sender.take()
    world.clock.advance(minutes=world.settings.stuck_grading_minutes + 1)
    assert sweep_stuck(world.services).failed == 1
    record = load_submission(world.tables, works[0].submission_id)
    assert record.status is SubmissionStatus.FAILED
    assert "re-sends" in record.reason


def test_the_sweeper_finishes_a_complete_submission_whose_renderer_vanished() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.sender.take()
    world.blobs.fail_writes = True
    for work in works:
        with contextlib.suppress(RuntimeError):
            handle_grading_message(world.services, work, {})
    world.blobs.fail_writes = False
    world.clock.advance(minutes=world.settings.stuck_grading_minutes + 1)
    assert sweep_stuck(world.services).completed == 1
    assert load_submission(world.tables, works[0].submission_id).status is SubmissionStatus.GRADED


def test_a_replayed_dead_letter_reopens_and_grades_its_submission() -> None:
    world = World()
    works = _sections(world, "Ada Lovelace")
    world.sender.take()
    world.engine.failing_sections = {works[0].sections[0]}
    for work in works[1:]:
        handle_grading_message(world.services, work, {})
    record_dead_letter(world.services, works[0].to_json(), "m1", "MaxDeliveryCountExceeded", "")
    assert load_submission(world.tables, works[0].submission_id).status is SubmissionStatus.FAILED
    world.engine.failing_sections = set()
    assert replay_dead_letters(world.services, 10) == 1
    assert [m.message_id for m in world.sender.sent] == [
        f"{works[0].submission_id}:{works[0].sections[0]}:replay{int(world.clock.now().timestamp())}"
    ]
    drain(world)
    assert load_submission(world.tables, works[0].submission_id).status is SubmissionStatus.GRADED
    assert replay_dead_letters(world.services, 10) == 0


def test_an_orphan_dead_letter_is_dropped_and_the_others_still_replay() -> None:
    world = World()
    works = _sections(world, "Ada Lovelace")
    world.sender.take()
    record_dead_letter(world.services, works[0].to_json(), "m1", "MaxDeliveryCountExceeded", "")
    orphan = GradingWork("u" * 32, "0" * 32, works[0].sections)
    world.tables.upsert("deadletter", f"{orphan.submission_id}:{orphan.label}", {"body": orphan.to_json()})
    world.tables.upsert("deadletter", "garbled", {"body": "not json"})
    assert replay_dead_letters(world.services, 10) == 1
    assert world.tables.query_partition("deadletter") == []
    assert load_submission(world.tables, works[0].submission_id).status is SubmissionStatus.GRADING
    assert [GradingWork.from_json(m.body) for m in world.sender.sent] == [works[0]]
