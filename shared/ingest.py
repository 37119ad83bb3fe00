"""Ingest: a workbook in ``answer-sheets`` becomes an upload, submissions and grading messages.

Idempotent under at-least-once delivery: ids derive from the blob's name and ETag, rows that
may already exist are inserted only if absent, and message ids are deterministic, so the
same blob event twice records and sends nothing new.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from concurrent.futures import ThreadPoolExecutor

from shared import telemetry
from shared.bank import Section
from shared.errors import ConcurrencyConflict, NotFound, Problem, ServiceError, WorkbookRejected
from shared.grading_flow import GradingWork
from shared.ports import MAX_TRANSACTION, Services, Value
from shared.records import (
    BLOB_ROW,
    INFLIGHT_PARTITION,
    INGESTING_PARTITION,
    SUBMISSION_ROW,
    UPLOAD_ROW,
    SubmissionRecord,
    SubmissionStatus,
    UploadStatus,
    blob_partition,
    day_partition,
    load_submission,
    problems_json,
    submission_partition,
    summary_row,
    upload_partition,
    upload_row,
)
from shared.submission import ParseResult, Submission

HTTP_UPLOAD_PREFIX = "http"
_WRITERS = 16
# Submissions are recorded and sent in blocks that fill one index-row transaction each.
_BLOCK = MAX_TRANSACTION
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def upload_id_for(blob_name: str, etag: str) -> str:
    """The upload id of one version of one blob: the same event twice gives the same id."""
    return hashlib.sha256(f"upload\n{blob_name}\n{etag.strip(chr(34))}".encode()).hexdigest()[:32]


def submission_id_for(upload_id: str, submission_key: str) -> str:
    """The submission id of one candidate in one upload."""
    return hashlib.sha256(f"submission\n{upload_id}\n{submission_key}".encode()).hexdigest()[:32]


def safe_file_name(name: str, default: str = "answer-sheet.xlsx") -> str:
    """A file name with no path, no traversal and only harmless characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE_NAME.sub("-", base).strip(".-")[:100]
    return cleaned or default


def http_blob_name(filename: str) -> str:
    """A fresh, unguessable blob name for an upload through the HTTP API."""
    return f"{HTTP_UPLOAD_PREFIX}/{secrets.token_hex(16)}/{safe_file_name(filename)}"


def record_received(services: Services, blob_name: str, etag: str, uploaded_by: str = "") -> str:
    """Record an upload as ``received`` (once) and index it by blob name and day; returns its id."""
    upload_id = upload_id_for(blob_name, etag)
    now = services.clock.now()
    day = now.date().isoformat()
    props: dict[str, Value] = {
        "blob_name": blob_name,
        "status": UploadStatus.RECEIVED.value,
        "received_at": now.isoformat(),
        "day": day,
        "uploaded_by": uploaded_by,
        "sent": False,
    }
    try:
        services.tables.insert(upload_partition(upload_id), UPLOAD_ROW, props)
    except ConcurrencyConflict:
        day = str(services.tables.get(upload_partition(upload_id), UPLOAD_ROW).properties["day"])
    # Re-written on every event so a crash between these writes heals on redelivery.
    services.tables.upsert(
        blob_partition(blob_name), BLOB_ROW, {"upload_id": upload_id, "blob_name": blob_name}
    )
    services.tables.upsert(day_partition(day), upload_row(upload_id), {"upload_id": upload_id})
    # Until fanned out or rejected (which delete it): the sweeper fails an ingest stalled past the limit.
    _insert_if_absent(
        services, INGESTING_PARTITION, upload_id, {"blob_name": blob_name, "since": now.isoformat()}
    )
    return upload_id


def ingest_blob(services: Services, blob_name: str) -> str | None:
    """Parse a stored workbook and fan grading out; returns the upload id, None if the blob is gone."""
    settings = services.settings
    try:
        info = services.blobs.info(settings.answer_sheets_container, blob_name)
    except NotFound:
        telemetry.event(
            "blob vanished before ingest", blob=hashlib.sha256(blob_name.encode()).hexdigest()[:12]
        )
        return None
    upload_id = record_received(services, blob_name, info.etag)
    upload = services.tables.get(upload_partition(upload_id), UPLOAD_ROW)
    if upload.properties.get("status") == UploadStatus.REJECTED or upload.properties.get("sent") is True:
        services.tables.delete(INGESTING_PARTITION, upload_id)
        telemetry.event("duplicate blob event ignored", upload_id=upload_id)
        return upload_id
    limit = settings.limits.max_upload_bytes
    if info.size > limit:
        _reject(services, upload_id, f"the file is {info.size:,} bytes; the limit is {limit:,} bytes", [])
        return upload_id
    try:
        _parse_and_fan_out(services, upload_id, blob_name, str(upload.properties.get("day", "")))
    except ServiceError as err:
        _note_error(services, upload_id, err)
        raise
    return upload_id


def _parse_and_fan_out(services: Services, upload_id: str, blob_name: str, day: str) -> None:
    settings = services.settings
    data = services.blobs.read(settings.answer_sheets_container, blob_name)
    try:
        with telemetry.span("parse", upload_id=upload_id):
            parsed = services.engine.parse(data, blob_name)
    except WorkbookRejected as rejected:
        _reject(services, upload_id, rejected.message, rejected.problems)
        return
    if not parsed.submissions:
        _reject(services, upload_id, "the workbook holds no candidate's answers", parsed.problems)
        return
    telemetry.instruments().workbooks_parsed.add(1)
    _fan_out(services, upload_id, day, parsed)


def _note_error(services: Services, upload_id: str, err: ServiceError) -> None:
    """Keep the latest ingest error on the upload, so a poisoned blob's failure can say what happened."""
    try:
        upload = services.tables.get(upload_partition(upload_id), UPLOAD_ROW)
        services.tables.merge(
            upload_partition(upload_id), UPLOAD_ROW, {"last_error": str(err)[:500]}, upload.etag
        )
    except (ServiceError, ConcurrencyConflict, NotFound):
        # The same outage may stop this write too; the failure then names the blob without the cause.
        telemetry.event("ingest error not recorded", upload_id=upload_id)


def _fan_out(services: Services, upload_id: str, day: str, parsed: ParseResult) -> None:
    now = services.clock.now().isoformat()
    sections = tuple(s.value for s in Section)
    trace = telemetry.trace_headers()
    submissions = parsed.submissions

    def record(row: tuple[str, Submission, str]) -> bool:
        submission_id, submission, email = row
        return _record_submission(services, upload_id, submission_id, submission, email, day, now, sections)

    # Block by block, so graders start on the first block while later ones are still being recorded.
    with ThreadPoolExecutor(max_workers=_WRITERS) as pool, telemetry.span("fan_out", upload_id=upload_id):
        for start in range(0, len(submissions), _BLOCK):
            block = submissions[start : start + _BLOCK]
            ids = [submission_id_for(upload_id, s.submission_key) for s in block]
            emails = [s.candidate.email.strip().casefold() for s in block]
            # Each submission has a partition of its own: overlap those round trips.
            grading = list(pool.map(record, zip(ids, block, emails, strict=True)))
            _record_index_rows(services, upload_id, day, now, ids, emails, grading)
            # One message per submission: one read, one transaction, no race between its sections.
            services.sender.send([GradingWork(upload_id, i).message(trace) for i in ids])
    upload = services.tables.get(upload_partition(upload_id), UPLOAD_ROW)
    services.tables.upsert(
        upload_partition(upload_id),
        UPLOAD_ROW,
        {
            **upload.properties,
            "status": UploadStatus.GRADING.value,
            "sent": True,
            "source_format": parsed.source_format.value,
            "submission_count": len(parsed.submissions),
            "problems": problems_json(parsed.problems),
        },
    )
    services.tables.delete(INGESTING_PARTITION, upload_id)
    telemetry.event("upload fanned out", upload_id=upload_id, submissions=len(parsed.submissions))


def _record_submission(
    services: Services,
    upload_id: str,
    submission_id: str,
    submission: Submission,
    email: str,
    day: str,
    now: str,
    sections: tuple[str, ...],
) -> bool:
    """Record the submission unless an earlier attempt did; True while it is still grading."""
    record = SubmissionRecord(
        submission_id=submission_id,
        upload_id=upload_id,
        status=SubmissionStatus.GRADING,
        sections=sections,
        done=frozenset(),
        completed_by="",
        email=email,
        day=day,
        started_at=now,
        scores=None,
        reason="",
        payload=submission.model_dump_json(),
        etag="",
    )
    # Never reset a submission a previous attempt already recorded (its graders may be running).
    try:
        services.tables.insert(submission_partition(submission_id), SUBMISSION_ROW, record.to_properties())
    except ConcurrencyConflict:
        return load_submission(services.tables, submission_id).status is SubmissionStatus.GRADING
    return True


def _record_index_rows(
    services: Services,
    upload_id: str,
    day: str,
    now: str,
    ids: list[str],
    emails: list[str],
    grading: list[bool],
) -> None:
    """The block's summary, day and in-flight rows: one transaction per partition."""
    summary: dict[str, Value] = {"status": SubmissionStatus.GRADING.value, "scores": "", "reason": ""}
    _insert_all_if_absent(
        services,
        upload_partition(upload_id),
        [(summary_row(i), {**summary, "email": e}) for i, e in zip(ids, emails, strict=True)],
    )
    _insert_all_if_absent(
        services, day_partition(day), [(summary_row(i), {"upload_id": upload_id}) for i in ids]
    )
    inflight: dict[str, Value] = {"upload_id": upload_id, "since": now, "resends": 0}
    # A retried ingest must not bring back the marker of a submission that finished meanwhile: the
    # sweeper would only drop it after the stuck limit.
    _insert_all_if_absent(
        services, INFLIGHT_PARTITION, [(i, inflight) for i, g in zip(ids, grading, strict=True) if g]
    )


def _insert_all_if_absent(
    services: Services, partition: str, rows: list[tuple[str, dict[str, Value]]]
) -> None:
    # A transaction may not touch one row twice.
    rows = list(dict(rows).items())
    for start in range(0, len(rows), MAX_TRANSACTION):
        chunk = rows[start : start + MAX_TRANSACTION]
        try:
            services.tables.insert_all(partition, chunk)
        except ConcurrencyConflict:
            # A retried ingest: keep the rows already there (graders may have updated them), add the rest.
            for row_key, props in chunk:
                _insert_if_absent(services, partition, row_key, props)


def _insert_if_absent(services: Services, partition: str, row: str, props: dict[str, Value]) -> None:
    try:
        services.tables.insert(partition, row, props)
    except ConcurrencyConflict:
        return


def _reject(
    services: Services, upload_id: str, message: str, problems: tuple[Problem, ...] | list[Problem]
) -> None:
    # A rejection always lists at least one problem, even when the parser could only say why.
    problems = list(problems) or [Problem(sheet="(file)", row=None, column=None, message=message)]
    upload = services.tables.get(upload_partition(upload_id), UPLOAD_ROW)
    services.tables.upsert(
        upload_partition(upload_id),
        UPLOAD_ROW,
        {
            **upload.properties,
            "status": UploadStatus.REJECTED.value,
            "message": message,
            "problems": problems_json(problems),
        },
    )
    services.tables.delete(INGESTING_PARTITION, upload_id)
    telemetry.instruments().workbooks_rejected.add(1)
    telemetry.event("upload rejected", upload_id=upload_id, problems=len(problems))
