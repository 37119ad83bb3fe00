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
from shared.bank import Section
from shared.errors import ConcurrencyConflict, InvalidMessage, NotFound
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
    """The body of a grading message: one section of one submission."""

    upload_id: str
    submission_id: str
    section: Section

    def to_json(self) -> str:
        """The message body."""
        return json.dumps(
            {"upload_id": self.upload_id, "submission_id": self.submission_id, "section": self.section.value}
        )

    @classmethod
    def from_json(cls, body: str | bytes) -> GradingWork:
        """Decode a message body; :class:`InvalidMessage` when it is not one of ours."""
        try:
            data = json.loads(body)
            return cls(str(data["upload_id"]), str(data["submission_id"]), Section(data["section"]))
        except (ValueError, KeyError, TypeError) as err:
            raise InvalidMessage(f"grading message is malformed: {err}") from err

    def message(self, trace: Mapping[str, str], attempt: int = 0) -> OutgoingMessage:
        """The queue message; its id is deterministic so the broker drops duplicates."""
        message_id = f"{self.submission_id}:{self.section.value}"
        if attempt:
            # A re-send by the sweeper must not be swallowed by duplicate detection.
            message_id += f":resend{attempt}"
        return OutgoingMessage(
            message_id=message_id,
            correlation_id=self.upload_id,
            body=self.to_json(),
            application_properties=dict(trace),
        )


class Outcome(StrEnum):
    """What handling one grading message did."""

    ALREADY_FINISHED = "already_finished"
    SECTION_RECORDED = "section_recorded"
    REPORT_RENDERED = "report_rendered"


def handle_grading_message(services: Services, work: GradingWork, trace: Mapping[str, str]) -> Outcome:
    """Grade one section, record it and its progress, and render the report if this completes the set."""
    partition = submission_partition(work.submission_id)
    # One partition query gives the submission and its stored results in a single round trip.
    rows = {r.row_key: r for r in services.tables.query_partition(partition)}
    if SUBMISSION_ROW not in rows:
        raise NotFound(f"submission {work.submission_id} does not exist")
    record = SubmissionRecord.from_entity(rows[SUBMISSION_ROW])
    if record.status is not SubmissionStatus.GRADING:
        publish(services, record)
        return Outcome.ALREADY_FINISHED
    result: dict[str, Value] | None = None
    if result_row(work.section) not in rows:
        submission = parse_submission(record)
        with telemetry.span("grade", trace, submission_id=work.submission_id, section=work.section.value):
            result = chunked("result", services.engine.grade(submission, work.section))
    record, completed_here = _record_progress(services, work, record, result)
    telemetry.event("section graded", submission_id=work.submission_id, section=work.section.value)
    if completed_here and record.status is SubmissionStatus.GRADING:
        # Results never change once stored, so those read above (and this one) need no second read.
        known = {k: unchunked("result", r.properties) for k, r in rows.items() if k.startswith("result|")}
        if result is not None:
            known[result_row(work.section)] = unchunked("result", result)
        complete_submission(services, record, trace, known)
        return Outcome.REPORT_RENDERED
    return Outcome.SECTION_RECORDED


def _record_progress(
    services: Services, work: GradingWork, record: SubmissionRecord, result: Mapping[str, Value] | None
) -> tuple[SubmissionRecord, bool]:
    """Store the result, then mark the section done; True when this message completed the set.

    The progress merge is conditional on the submission's ETag, so the writer whose merge
    succeeds knows the exact set it completed; a lost race re-reads the submission row only.
    Two plain writes cost less than one transaction, and a crash between them is healed by the
    redelivery, which finds the result stored and only records the progress.
    """
    partition = submission_partition(work.submission_id)
    if result is not None:
        services.tables.upsert(partition, result_row(work.section), result)
    for _ in range(_MAX_CONFLICT_RETRIES):
        if work.section in record.done:
            # A redelivery of the completing message (after a crash) must still finish the job.
            return record, record.complete and record.completed_by == work.section
        updated = replace(record, done=record.done | {work.section.value})
        progress: dict[str, Value] = {done_property(work.section): True}
        if updated.complete:
            updated = replace(updated, completed_by=work.section.value)
            progress["completed_by"] = work.section.value
        try:
            etag = services.tables.merge(partition, SUBMISSION_ROW, progress, record.etag)
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
    with telemetry.span("render", trace, submission_id=record.submission_id):
        finished = services.engine.finish(submission, results)
    settings = services.settings
    services.blobs.write(
        settings.reports_container,
        report_blob_name(record.submission_id),
        finished.report,
        DOCX_CONTENT_TYPE,
    )
    graded = _transition(services, record, SubmissionStatus.GRADED, scores=finished.scores.to_dict())
    instruments = telemetry.instruments()
    instruments.submissions_graded.add(1)
    instruments.report_size.record(len(finished.report))
    started = _parse_time(record.started_at)
    if started is not None:
        instruments.grading_latency.record((services.clock.now() - started).total_seconds())
    telemetry.event("submission graded", submission_id=record.submission_id, upload_id=record.upload_id)
    publish(services, graded)


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
) -> SubmissionRecord:
    """Move a grading submission to a final status; a submission already final stays as it is."""
    for _ in range(_MAX_CONFLICT_RETRIES):
        if record.status is not SubmissionStatus.GRADING:
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
    """A dead-lettered grading message: its submission ends ``failed``; the message is kept for replay."""
    try:
        work = GradingWork.from_json(body)
    except InvalidMessage:
        telemetry.event("malformed dead-lettered message dropped", message_id=message_id)
        return
    detail = f"section {work.section.value} could not be graded: {reason or 'dead-lettered'}"
    if description:
        detail += f" ({description})"
    services.tables.upsert(
        DEAD_LETTER_PARTITION,
        f"{work.submission_id}:{work.section.value}",
        {"body": work.to_json(), "reason": detail, "at": services.clock.now().isoformat()},
    )
    record_failure(services, work.submission_id, detail)


def replay_dead_letters(services: Services, limit: int) -> int:
    """Reopen the submissions of kept dead letters and send their sections again; returns how many."""
    rows = services.tables.query_partition(DEAD_LETTER_PARTITION)[:limit]
    trace = telemetry.trace_headers()
    for row in rows:
        work = GradingWork.from_json(str(row.properties["body"]))
        _reopen(services, work.submission_id)
        message = work.message(trace)
        # A fresh id per replay, or duplicate detection would drop a replay of a replay.
        replay_id = f"{message.message_id}:replay{int(services.clock.now().timestamp())}"
        services.sender.send([replace(message, message_id=replay_id)])
        services.tables.delete(DEAD_LETTER_PARTITION, row.row_key)
        telemetry.event("dead letter replayed", submission_id=work.submission_id, section=work.section.value)
    return len(rows)


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
        since = _parse_time(str(row.properties.get("since", "")))
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
        missing = [Section(s) for s in record.sections if s not in record.done]
        trace = telemetry.trace_headers()
        services.sender.send(
            [
                GradingWork(record.upload_id, record.submission_id, s).message(trace, attempt=attempts + 1)
                for s in missing
            ]
        )
        services.tables.upsert(
            INFLIGHT_PARTITION,
            row.row_key,
            {**row.properties, "since": now.isoformat(), "resends": attempts + 1},
        )
        resent += len(missing)
    return SweepReport(resent=resent, completed=completed, failed=failed, cleared=cleared)


def _parse_time(text: str) -> datetime | None:
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
