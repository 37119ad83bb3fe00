"""Grading one section per message, completing a submission exactly once, and recovering.

Every step is idempotent so a redelivered or duplicated message changes nothing: a section
result is stored once under a fixed key, progress is recorded with ETag-conditional merges,
and only the grader whose write completes the set (or that same message, redelivered after
a crash) renders the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ValidationError

from shared import telemetry
from shared.attempts import earlier_attempts, record_attempt
from shared.bank import Section
from shared.errors import ConcurrencyConflict, InvalidMessage, NotFound
from shared.moderation import open_reviews, provisional_scores
from shared.ports import OutgoingMessage, Services, Value
from shared.records import (
    INFLIGHT_PARTITION,
    SUBMISSION_ROW,
    SubmissionRecord,
    SubmissionStatus,
    chunked,
    done_property,
    load_submission,
    result_row,
    submission_partition,
    summary_row,
    unchunked,
    upload_partition,
)
from shared.submission import Submission

# ETag races are short: a handful of graders of one submission at most.
_MAX_CONFLICT_RETRIES = 20


@dataclass(frozen=True, slots=True)
class GradingWork:
    """The body of a grading message: some (normally all) sections of one submission."""

    upload_id: str
    submission_id: str
    sections: tuple[Section, ...] = tuple(Section)

    @property
    def label(self) -> str:
        """The sections in ids and reasons: ``all``, or their names joined by ``+``."""
        if set(self.sections) == set(Section):
            return "all"
        return "+".join(s.value for s in self.sections)

    def to_json(self) -> str:
        """The message body."""
        return json.dumps(
            {
                "upload_id": self.upload_id,
                "submission_id": self.submission_id,
                "sections": [s.value for s in self.sections],
            }
        )

    @classmethod
    def from_json(cls, body: str | bytes) -> GradingWork:
        """Decode a message body; :class:`InvalidMessage` when it is not one of ours.

        A body with one ``section`` (sent before messages carried a submission each) still reads.
        """
        try:
            data = json.loads(body)
            names = data["sections"] if "sections" in data else [data["section"]]
            if not isinstance(names, list) or not names:
                raise TypeError("sections must be a non-empty list")
            sections = tuple(dict.fromkeys(Section(n) for n in names))
            return cls(str(data["upload_id"]), str(data["submission_id"]), sections)
        except (ValueError, KeyError, TypeError) as err:
            raise InvalidMessage(f"grading message is malformed: {err}") from err

    def message(self, trace: Mapping[str, str], attempt: int = 0) -> OutgoingMessage:
        """The queue message; its id is deterministic so the broker drops duplicates."""
        message_id = f"{self.submission_id}:{self.label}"
        if attempt:
            # A re-send by the sweeper must not be swallowed by duplicate detection.
            message_id += f":resend{attempt}"
        return OutgoingMessage(
            message_id=message_id,
            correlation_id=self.upload_id,
            body=self.to_json(),
            application_properties=dict(trace),
        )


class GradingOutcome(StrEnum):
    """What handling one grading message did."""

    ALREADY_FINISHED = "already_finished"
    SECTION_RECORDED = "section_recorded"
    REPORT_RENDERED = "report_rendered"


def handle_grading_message(services: Services, work: GradingWork, trace: Mapping[str, str]) -> GradingOutcome:
    """Grade the message's sections, record them and their progress, and render if this completes the set."""
    partition = submission_partition(work.submission_id)
    # One partition query gives the submission and its stored results in a single round trip.
    rows = {r.row_key: r for r in services.tables.query_partition(partition)}
    if SUBMISSION_ROW not in rows:
        raise NotFound(f"submission {work.submission_id} does not exist")
    record = SubmissionRecord.from_entity(rows[SUBMISSION_ROW])
    if record.status is not SubmissionStatus.GRADING:
        publish(services, record)
        return GradingOutcome.ALREADY_FINISHED
    results: dict[str, dict[str, Value]] = {}
    missing = [s for s in work.sections if s.value in record.sections and result_row(s) not in rows]
    if missing:
        submission = parse_submission(record)
        for section in missing:
            with telemetry.span("grade", trace, submission_id=work.submission_id, section=section.value):
                results[result_row(section)] = chunked("result", services.engine.grade(submission, section))
    record, completed_here = _record_progress(services, work, record, results)
    telemetry.event("sections graded", submission_id=work.submission_id, sections=work.label)
    if completed_here and record.status is SubmissionStatus.GRADING:
        # Results never change once stored, so those read above (and these) need no second read.
        known = {k: unchunked("result", r.properties) for k, r in rows.items() if k.startswith("result|")}
        known.update({k: unchunked("result", r) for k, r in results.items()})
        complete_submission(services, record, trace, known)
        return GradingOutcome.REPORT_RENDERED
    return GradingOutcome.SECTION_RECORDED


def _record_progress(
    services: Services,
    work: GradingWork,
    record: SubmissionRecord,
    results: Mapping[str, Mapping[str, Value]],
) -> tuple[SubmissionRecord, bool]:
    """Store the results and mark their sections done; True when this message completed the set.

    One entity group transaction writes the result rows and merges the progress into the
    submission on its ETag, so results and progress land together or not at all, and the writer
    whose transaction succeeds knows the exact set it completed; a lost race re-reads the
    submission row only (results are deterministic, so writing one again changes nothing).
    """
    partition = submission_partition(work.submission_id)
    mine = {s.value for s in work.sections} & set(record.sections)
    for _ in range(_MAX_CONFLICT_RETRIES):
        if mine <= record.done:
            # A redelivery of the completing message (after a crash) must still finish the job.
            return record, record.complete and record.completed_by == work.label
        updated = replace(record, done=record.done | mine)
        progress: dict[str, Value] = {done_property(s): True for s in sorted(mine - record.done)}
        if updated.complete:
            updated = replace(updated, completed_by=work.label)
            progress["completed_by"] = work.label
        try:
            etag = services.tables.upsert_all_and_merge(
                partition, list(results.items()), SUBMISSION_ROW, progress, record.etag
            )
        except ConcurrencyConflict:
            record = load_submission(services.tables, work.submission_id)
            continue
        return replace(updated, etag=etag), updated.complete
    raise ConcurrencyConflict(f"submission {work.submission_id}: progress kept conflicting; will retry")


def complete_submission(
    services: Services,
    record: SubmissionRecord,
    trace: Mapping[str, str],
    known: Mapping[str, str] | None = None,
) -> None:
    """Assemble, render and store the report, then mark the submission graded.

    ``known`` maps result rows to results the caller already holds; the rest are read.
    """
    rows = [result_row(s) for s in record.sections]
    if known is not None and all(r in known for r in rows):
        results: Sequence[str] = [known[r] for r in rows]
    else:
        results = section_results(services, record)
    submission = parse_submission(record)
    history = earlier_attempts(services.tables, record)
    with telemetry.span("render", trace, submission_id=record.submission_id):
        finished = services.engine.finish(submission, results, history)
    # Before the report is stored: a crash here leaves the submission grading, and the redelivery reopens.
    routed = open_reviews(services, record, results)
    settings = services.settings
    services.blobs.write(
        settings.reports_container,
        report_blob_name(record.submission_id),
        finished.report,
        DOCX_CONTENT_TYPE,
    )
    # Before the status moves: a redelivery after a crash here finds the submission unfinished.
    record_attempt(services.tables, record, finished)
    scores = provisional_scores(finished.scores.to_dict(), routed)
    # A stored report means the grading finished: that supersedes a failure recorded meanwhile
    # (a dead letter of an earlier delivery, the sweeper's limit), so status and report agree.
    graded = _transition(services, record, SubmissionStatus.GRADED, scores=scores, supersedes=_UNGRADED)
    instruments = telemetry.instruments()
    instruments.submissions_graded.add(1)
    instruments.report_size.record(len(finished.report))
    started = parse_time(record.started_at)
    if started is not None:
        instruments.grading_latency.record((services.clock.now() - started).total_seconds())
    telemetry.event("submission graded", submission_id=record.submission_id, upload_id=record.upload_id)
    publish(services, graded)


_UNGRADED = frozenset({SubmissionStatus.GRADING, SubmissionStatus.FAILED})
DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def report_blob_name(submission_id: str) -> str:
    """Where a submission's report is stored in the reports container."""
    return f"{submission_id}.docx"


def _transition(
    services: Services,
    record: SubmissionRecord,
    status: SubmissionStatus,
    *,
    scores: dict[str, object] | None = None,
    reason: str = "",
    supersedes: frozenset[SubmissionStatus] = frozenset({SubmissionStatus.GRADING}),
) -> SubmissionRecord:
    """Move a submission in one of ``supersedes`` (by default: grading) to a final status; others stay."""
    for _ in range(_MAX_CONFLICT_RETRIES):
        if record.status not in supersedes:
            return record
        updated = replace(record, status=status, scores=scores, reason=reason)
        # A merge of the changed properties: the stored answers need not travel again.
        changes = {k: v for k, v in updated.to_properties().items() if k in ("status", "scores", "reason")}
        try:
            etag = services.tables.merge(
                submission_partition(record.submission_id), SUBMISSION_ROW, changes, record.etag
            )
        except ConcurrencyConflict:
            record = load_submission(services.tables, record.submission_id)
            continue
        return replace(updated, etag=etag)
    raise ConcurrencyConflict(f"submission {record.submission_id}: status kept conflicting; will retry")


def publish(services: Services, record: SubmissionRecord) -> None:
    """Copy a final status to the upload's summary row and drop the in-flight marker (idempotent)."""
    if record.status is SubmissionStatus.GRADING:
        return
    services.tables.upsert(
        upload_partition(record.upload_id),
        summary_row(record.submission_id),
        {
            "status": record.status.value,
            "email": record.email,
            "scores": json.dumps(record.scores) if record.scores is not None else "",
            "reason": record.reason,
        },
    )
    services.tables.delete(INFLIGHT_PARTITION, record.submission_id)


def record_failure(services: Services, submission_id: str, reason: str) -> None:
    """Mark a submission ``failed`` with a reason (unless it already finished)."""
    try:
        record = load_submission(services.tables, submission_id)
    except NotFound:
        telemetry.event("failure for unknown submission ignored", submission_id=submission_id)
        return
    failed = _transition(services, record, SubmissionStatus.FAILED, reason=reason)
    if failed.status is SubmissionStatus.FAILED:
        telemetry.instruments().submissions_failed.add(1)
        telemetry.event("submission failed", submission_id=submission_id, upload_id=failed.upload_id)
    publish(services, failed)


DEAD_LETTER_PARTITION = "deadletter"


def record_dead_letter(
    services: Services, body: str | bytes, message_id: str, reason: str, description: str
) -> None:
    """A dead-lettered grading message: its submission ends ``failed``; the message is kept for replay.

    When every result is already stored only the report was missing (the store failed after the
    last transaction, say): the submission is completed here instead, so nothing graded is lost.
    """
    try:
        work = GradingWork.from_json(body)
    except InvalidMessage:
        telemetry.event("malformed dead-lettered message dropped", message_id=message_id)
        return
    try:
        record = load_submission(services.tables, work.submission_id)
    except NotFound:
        telemetry.event("dead letter for unknown submission ignored", submission_id=work.submission_id)
        return
    if record.status is SubmissionStatus.GRADING and record.complete:
        complete_submission(services, record, telemetry.trace_headers())
        telemetry.event("dead letter completed its submission", submission_id=work.submission_id)
        return
    what = "sections" if len(work.sections) > 1 else "section"
    names = ", ".join(s.value for s in work.sections)
    detail = f"{what} {names} could not be graded: {reason or 'dead-lettered'}"
    if description:
        detail += f" ({description})"
    services.tables.upsert(
        DEAD_LETTER_PARTITION,
        f"{work.submission_id}:{work.label}",
        {"body": work.to_json(), "reason": detail, "at": services.clock.now().isoformat()},
    )
    record_failure(services, work.submission_id, detail)


def replay_dead_letters(services: Services, limit: int) -> int:
    """Reopen the submissions of kept dead letters and send their sections again; returns how many."""
    rows = services.tables.query_partition(DEAD_LETTER_PARTITION)[:limit]
    trace = telemetry.trace_headers()
    replayed = 0
    for row in rows:
        try:
            work = GradingWork.from_json(str(row.properties.get("body", "")))
            _reopen(services, work.submission_id)
        except (InvalidMessage, NotFound) as err:
            # An orphan (its submission deleted) or unreadable row can never replay: drop it, not the batch.
            services.tables.delete(DEAD_LETTER_PARTITION, row.row_key)
            telemetry.log.warning("dead letter %s dropped: %s", row.row_key, err)
            continue
        message = work.message(trace)
        # A fresh id per replay, or duplicate detection would drop a replay of a replay.
        replay_id = f"{message.message_id}:replay{int(services.clock.now().timestamp())}"
        services.sender.send([replace(message, message_id=replay_id)])
        services.tables.delete(DEAD_LETTER_PARTITION, row.row_key)
        telemetry.event("dead letter replayed", submission_id=work.submission_id, sections=work.label)
        replayed += 1
    return replayed


def _reopen(services: Services, submission_id: str) -> None:
    """Put a failed submission back to ``grading`` so its replayed sections are graded."""
    for _ in range(_MAX_CONFLICT_RETRIES):
        record = load_submission(services.tables, submission_id)
        if record.status is not SubmissionStatus.FAILED:
            return
        now = services.clock.now().isoformat()
        reopened = replace(record, status=SubmissionStatus.GRADING, reason="", started_at=now)
        try:
            services.tables.replace(
                submission_partition(submission_id), SUBMISSION_ROW, reopened.to_properties(), record.etag
            )
        except ConcurrencyConflict:
            continue
        services.tables.upsert(
            upload_partition(record.upload_id),
            summary_row(submission_id),
            {"status": SubmissionStatus.GRADING.value, "email": record.email, "scores": "", "reason": ""},
        )
        services.tables.upsert(
            INFLIGHT_PARTITION, submission_id, {"upload_id": record.upload_id, "since": now, "resends": 0}
        )
        return
    raise ConcurrencyConflict(f"submission {submission_id}: reopening kept conflicting; try again")


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep did."""

    resent: int = 0
    completed: int = 0
    failed: int = 0
    cleared: int = 0


def sweep_stuck(services: Services) -> SweepReport:
    """Re-send missing sections of submissions stuck in ``grading``; fail them after the limit."""
    settings = services.settings
    now = services.clock.now()
    cutoff = now - timedelta(minutes=settings.stuck_grading_minutes)
    resent = completed = failed = cleared = 0
    for row in services.tables.query_partition(INFLIGHT_PARTITION):
        since = parse_time(str(row.properties.get("since", "")))
        if since is not None and since > cutoff:
            continue
        try:
            record = load_submission(services.tables, row.row_key)
        except NotFound:
            services.tables.delete(INFLIGHT_PARTITION, row.row_key)
            cleared += 1
            continue
        if record.status is not SubmissionStatus.GRADING:
            publish(services, record)
            cleared += 1
            continue
        attempts = int(row.properties.get("resends", 0))
        if attempts >= settings.max_resend_attempts:
            record_failure(
                services,
                record.submission_id,
                f"grading did not finish after {attempts} re-sends over "
                f"{settings.stuck_grading_minutes}-minute waits",
            )
            failed += 1
            continue
        if record.complete:
            # The completing grader died and its message is gone: finish here.
            complete_submission(services, record, {})
            completed += 1
            continue
        missing = tuple(Section(s) for s in record.sections if s not in record.done)
        trace = telemetry.trace_headers()
        # One message for the missing sections, as the ingest sends one per submission.
        work = GradingWork(record.upload_id, record.submission_id, missing)
        services.sender.send([work.message(trace, attempt=attempts + 1)])
        services.tables.upsert(
            INFLIGHT_PARTITION,
            row.row_key,
            {**row.properties, "since": now.isoformat(), "resends": attempts + 1},
        )
        resent += len(missing)
    return SweepReport(resent=resent, completed=completed, failed=failed, cleared=cleared)


def parse_time(text: str) -> datetime | None:
    """An ISO timestamp as stored in the state table; None when absent or malformed."""
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def section_results(services: Services, record: SubmissionRecord) -> Sequence[str]:
    """The stored section results of a graded submission, in section order."""
    rows = {r.row_key: r for r in services.tables.query_partition(submission_partition(record.submission_id))}
    return [unchunked("result", rows[result_row(s)].properties) for s in record.sections]


def parse_submission(record: SubmissionRecord) -> Submission:
    """The parsed submission stored with its record; :class:`InvalidMessage` if it is corrupt."""
    try:
        return Submission.model_validate_json(record.payload)
    except ValidationError as err:
        raise InvalidMessage(f"submission {record.submission_id}: stored answers are unreadable") from err
