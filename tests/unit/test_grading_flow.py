"""Grading messages: idempotent sections, exactly one report per submission, failures and sweeps."""

from __future__ import annotations

import contextlib
import json
import threading

import pytest

from shared.bank import Section
from shared.errors import InvalidMessage
from shared.grading_flow import (
    GradingWork,
    Outcome,
    handle_grading_message,
    record_dead_letter,
    replay_dead_letters,
    report_blob_name,
    sweep_stuck,
)
from shared.ingest import ingest_blob
from shared.records import (
    INFLIGHT_PARTITION,
    SubmissionStatus,
    load_submission,
    summary_row,
    upload_partition,
)
from tests.fakes import World, drain


def _ingested(world: World, *names: str) -> list[GradingWork]:
    world.stage("sheet.xlsx", *names)
    ingest_blob(world.services, "sheet.xlsx")
    return [GradingWork.from_json(m.body) for m in world.sender.sent]


def _reports(world: World) -> list[str]:
    return [name for (container, name) in world.blobs.writes if container == world.settings.reports_container]


def test_the_last_section_renders_the_report_and_marks_the_submission_graded() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    outcomes = drain(world)
    assert outcomes == [Outcome.SECTION_RECORDED] * (len(Section) - 1) + [Outcome.REPORT_RENDERED]
    record = load_submission(world.tables, works[0].submission_id)
    assert record.status is SubmissionStatus.GRADED
    assert record.scores is not None
    assert _reports(world) == [report_blob_name(works[0].submission_id)]


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


def test_a_grader_killed_after_storing_its_result_is_finished_by_the_redelivery() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.sender.take()
    for work in works[:-1]:
        handle_grading_message(world.services, work, {})
    last = works[-1]

    class Killed(Exception):
        pass

    def kill(partition: str) -> None:
        raise Killed

    world.tables.before_write = kill  # the progress write never happens
    with pytest.raises(Killed):
        handle_grading_message(world.services, last, {})
    assert last.section not in load_submission(world.tables, last.submission_id).done
    assert handle_grading_message(world.services, last, {}) is Outcome.REPORT_RENDERED
    assert len(world.engine.grade_calls) == len(Section)
    assert load_submission(world.tables, last.submission_id).status is SubmissionStatus.GRADED


def test_the_completing_grader_renders_from_the_results_it_already_read() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.sender.take()
    for work in works[:-1]:
        handle_grading_message(world.services, work, {})
    reads = world.tables.partition_queries
    assert handle_grading_message(world.services, works[-1], {}) is Outcome.REPORT_RENDERED
    assert world.tables.partition_queries - reads == 1


def test_a_grader_killed_after_completing_progress_renders_on_redelivery() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.sender.take()
    for work in works[:-1]:
        handle_grading_message(world.services, work, {})
    last = works[-1]
    world.blobs.fail_writes = True
    with pytest.raises(RuntimeError):
        handle_grading_message(world.services, last, {})
    world.blobs.fail_writes = False
    assert load_submission(world.tables, last.submission_id).complete
    assert handle_grading_message(world.services, last, {}) is Outcome.REPORT_RENDERED
    assert _reports(world) == [report_blob_name(last.submission_id)]


def test_a_redelivered_non_completing_section_does_not_render() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    drain(world)
    world.engine.finish_calls.clear()
    assert handle_grading_message(world.services, works[0], {}) is Outcome.ALREADY_FINISHED
    assert world.engine.finish_calls == []


def test_a_lost_etag_race_on_progress_retries_and_keeps_both_sections() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.sender.take()
    first, second = works[0], works[1]

    def rival(partition: str) -> None:
        handle_grading_message(world.services, second, {})

    world.tables.before_write = rival
    handle_grading_message(world.services, first, {})
    assert load_submission(world.tables, first.submission_id).done == {first.section, second.section}


def _race(world: World, works: list[GradingWork]) -> list[Outcome]:
    """Every message handled at the same moment on its own thread."""
    barrier = threading.Barrier(len(works))
    outcomes: list[Outcome] = []

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
        works = _ingested(world, "Ada Lovelace")
        world.sender.take()
        outcomes = _race(world, works)
        assert outcomes.count(Outcome.REPORT_RENDERED) == 1
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
    works = _ingested(world, "Ada Lovelace")
    record_dead_letter(world.services, works[0].to_json(), "m1", "MaxDeliveryCountExceeded", "tried 5 times")
    record = load_submission(world.tables, works[0].submission_id)
    assert record.status is SubmissionStatus.FAILED
    assert "MaxDeliveryCountExceeded" in record.reason
    assert works[0].section.value in record.reason
    summary = world.tables.get(upload_partition(works[0].upload_id), summary_row(works[0].submission_id))
    assert summary.properties["status"] == "failed"


def test_sections_arriving_after_failure_change_nothing() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.sender.take()
    record_dead_letter(world.services, works[0].to_json(), "m1", "MaxDeliveryCountExceeded", "")
    for work in works[1:]:
        assert handle_grading_message(world.services, work, {}) is Outcome.ALREADY_FINISHED
    assert world.engine.finish_calls == []


def test_a_dead_letter_after_grading_leaves_the_submission_graded() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    drain(world)
    record_dead_letter(world.services, works[0].to_json(), "m1", "late", "")
    assert load_submission(world.tables, works[0].submission_id).status is SubmissionStatus.GRADED


def test_a_section_that_always_fails_raises_so_the_broker_can_retry() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.engine.failing_sections = {works[0].section}
    with pytest.raises(RuntimeError):
        handle_grading_message(world.services, works[0], {})


def test_malformed_messages_are_invalid() -> None:
    for body in ("not json", "{}", json.dumps({"upload_id": "u", "submission_id": "s", "section": "nope"})):
        with pytest.raises(InvalidMessage):
            GradingWork.from_json(body)


def test_the_sweeper_resends_only_the_missing_sections_of_a_stuck_submission() -> None:
    world = World()
    works = _ingested(world, "Ada Lovelace")
    world.sender.take()
    handle_grading_message(world.services, works[0], {})
    world.clock.advance(minutes=world.settings.stuck_grading_minutes + 1)
    report = sweep_stuck(world.services)
    resent = [GradingWork.from_json(m.body).section for m in world.sender.sent]
    assert report.resent == len(Section) - 1
    assert sorted(resent) == sorted(w.section for w in works[1:])
    assert all(m.message_id.endswith(":resend1") for m in world.sender.sent)
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
    works = _ingested(world, "Ada Lovelace")
    world.sender.take()
    world.engine.failing_sections = {works[0].section}
    for work in works[1:]:
        handle_grading_message(world.services, work, {})
    record_dead_letter(world.services, works[0].to_json(), "m1", "MaxDeliveryCountExceeded", "")
    assert load_submission(world.tables, works[0].submission_id).status is SubmissionStatus.FAILED
    world.engine.failing_sections = set()
    assert replay_dead_letters(world.services, 10) == 1
    assert [m.message_id for m in world.sender.sent] == [
        f"{works[0].submission_id}:{works[0].section}:replay{int(world.clock.now().timestamp())}"
    ]
    drain(world)
    assert load_submission(world.tables, works[0].submission_id).status is SubmissionStatus.GRADED
    assert replay_dead_letters(world.services, 10) == 0
