"""The HTTP API's handlers, free of ``azure.functions``: status, reports, digests, uploads.

Each returns an :class:`HttpResult`; errors are RFC 9457 problem details. A caller who may not
see a submission gets the same 404 as for an unknown id, so ids cannot be probed.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Mapping
from datetime import date

from shared import api_models as api
from shared.access import Viewer
from shared.errors import AccessDenied, NotFound, ReadyCheckError
from shared.grading_flow import DOCX_CONTENT_TYPE, parse_submission, report_blob_name
from shared.http_results import HttpResult, model_result, problem
from shared.ingest import http_blob_name, record_received, safe_file_name, upload_id_for
from shared.ports import Services, StoredEntity
from shared.records import (
    UPLOAD_ROW,
    SubmissionRecord,
    SubmissionStatus,
    blob_partition,
    find_upload,
    load_submission,
    problems_from,
    upload_partition,
    upload_state,
)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ID = re.compile(r"^[0-9a-f]{32}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZIP_MAGIC = b"PK\x03\x04"


def valid_id(text: str) -> bool:
    """True when the text has the shape of an upload or submission id (32 hex digits)."""
    return _ID.match(text) is not None


def not_found(what: str) -> HttpResult:
    """The one 404 for unknown and hidden ids alike."""
    return problem(404, "Not Found", f"no {what} with this id")


def report_url(submission_id: str) -> str:
    """The API path of a submission's report."""
    return f"/api/submissions/{submission_id}/report"


def upload_status(services: Services, upload_id: str, viewer: Viewer) -> HttpResult:
    """``GET /api/uploads/{id}``: status, problems and the submissions the caller may see."""
    if not _ID.match(upload_id):
        return not_found("upload")
    try:
        rows = find_upload(services.tables, upload_id)
    except NotFound:
        return not_found("upload")
    upload, summaries = rows[0], rows[1:]
    uploader = str(upload.properties.get("uploaded_by", ""))
    visible = [s for s in summaries if viewer.may_see(str(s.properties.get("email", "")), uploader)]
    if not visible and not viewer.may_see_digests and not viewer.uploaded(uploader):
        return not_found("upload")
    return model_result(
        200, api.UploadStatusBody.model_validate(_upload_body(upload_id, upload, summaries, visible))
    )


def _upload_body(
    upload_id: str, upload: StoredEntity, summaries: list[StoredEntity], visible: list[StoredEntity]
) -> dict[str, object]:
    p = upload.properties
    return {
        "upload_id": upload_id,
        "status": upload_state(upload, summaries).value,
        "received_at": p.get("received_at"),
        "source_format": p.get("source_format"),
        "message": p.get("message", ""),
        "problems": problems_from(p),
        "submissions": [_summary(s) for s in visible],
    }


def _summary(row: StoredEntity) -> dict[str, object]:
    submission_id = row.row_key.removeprefix("sub|")
    p = row.properties
    scores = p.get("scores")
    status = str(p.get("status"))
    return {
        "submission_id": submission_id,
        "status": status,
        "scores": json.loads(scores) if isinstance(scores, str) and scores else None,
        "reason": p.get("reason", ""),
        "report_url": report_url(submission_id) if status == SubmissionStatus.GRADED else None,
    }


def upload_by_blob(services: Services, blob_name: str, etag: str, viewer: Viewer) -> HttpResult:
    """``GET /api/uploads?blob=NAME&etag=ETAG``: the latest upload of a blob put straight into storage.

    A blob name can be guessed, so it proves nothing: only a reviewer, or a caller who gives the ETag
    storage returned when the blob was written, learns the upload's ids. Anyone else gets the 404 of
    an unknown blob, so names cannot be probed either.
    """
    if not blob_name:
        return problem(
            400,
            "Bad Request",
            "give the blob name and its ETag as ?blob=<name under answer-sheets>&etag=<etag>",
        )
    try:
        index = services.tables.get(blob_partition(blob_name), "blob")
    except NotFound:
        return not_found("upload")
    upload_id = str(index.properties["upload_id"])
    if not viewer.reviewer and not hmac.compare_digest(upload_id_for(blob_name, etag), upload_id):
        return not_found("upload")
    return upload_status(services, upload_id, viewer)


def _visible_submission(services: Services, submission_id: str, viewer: Viewer) -> SubmissionRecord | None:
    """The submission if its id is well-formed, it exists and the viewer may see it; else None (one 404)."""
    if not _ID.match(submission_id):
        return None
    try:
        record = load_submission(services.tables, submission_id)
        if viewer.may_see(record.email):
            return record
        upload = services.tables.get(upload_partition(record.upload_id), UPLOAD_ROW)
    except NotFound:
        return None
    return record if viewer.uploaded(str(upload.properties.get("uploaded_by", ""))) else None


def submission_status(services: Services, submission_id: str, viewer: Viewer) -> HttpResult:
    """``GET /api/submissions/{id}``: status and scores."""
    record = _visible_submission(services, submission_id, viewer)
    if record is None:
        return not_found("submission")
    return model_result(
        200,
        api.SubmissionStatusBody(
            submission_id=submission_id,
            upload_id=record.upload_id,
            status=record.status.value,
            sections_done=sorted(record.done),
            scores=api.Scores.model_validate(record.scores) if record.scores is not None else None,
            reason=record.reason,
            report_url=report_url(submission_id) if record.status is SubmissionStatus.GRADED else None,
        ),
    )


def report_download(
    services: Services, submission_id: str, if_none_match: str | None, viewer: Viewer
) -> HttpResult:
    """``GET /api/submissions/{id}/report``: the .docx, 304, 202 while grading, 422 when failed."""
    record = _visible_submission(services, submission_id, viewer)
    if record is None:
        return not_found("submission")
    retry = str(services.settings.report_retry_after_seconds)
    if record.status is SubmissionStatus.GRADING:
        return model_result(
            202,
            api.ReportPending(submission_id=submission_id, status=record.status.value),
            {"Retry-After": retry, "Location": report_url(submission_id)},
        )
    if record.status is SubmissionStatus.FAILED:
        return problem(
            422, "Unprocessable Content", record.reason or "grading failed", submission_id=submission_id
        )
    container = services.settings.reports_container
    info = services.blobs.info(container, report_blob_name(submission_id))
    etag = info.etag if info.etag.startswith('"') else f'"{info.etag}"'
    tags = {t.strip() for t in (if_none_match or "").split(",")}
    if etag in tags or "*" in tags:
        return HttpResult(304, headers={"ETag": etag})
    name = safe_file_name(f"readiness-report-{parse_submission(record).candidate.name}.docx", "report.docx")
    return HttpResult(
        200,
        services.blobs.read(container, report_blob_name(submission_id)),
        DOCX_CONTENT_TYPE,
        {"ETag": etag, "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private"},
    )


def parse_day(text: str) -> date | HttpResult:
    """A ``yyyy-mm-dd`` path segment as a date, or the 400 problem saying what is wrong."""
    if not _DAY.match(text):
        return problem(400, "Bad Request", f"{text[:20]!r} is not a date like 2026-01-31")
    try:
        return date.fromisoformat(text)
    except ValueError:
        return problem(400, "Bad Request", f"{text!r} is not a valid calendar date")


def digest_download(services: Services, day: str, viewer: Viewer) -> HttpResult:
    """``GET /api/digests/{yyyy-mm-dd}``: a day's digest, reviewers only."""
    parsed = parse_day(day)
    if isinstance(parsed, HttpResult):
        return parsed
    if not viewer.may_see_digests:
        raise AccessDenied("digests are for reviewers")
    try:
        data = services.blobs.read(services.settings.digests_container, f"{day}.docx")
    except NotFound:
        return problem(404, "Not Found", f"no digest for {day}")
    return HttpResult(
        200,
        data,
        DOCX_CONTENT_TYPE,
        {"Content-Disposition": f'attachment; filename="readycheck-digest-{day}.docx"'},
    )


def template_download(template: bytes) -> HttpResult:
    """``GET /api/template``: the blank answer sheet."""
    return HttpResult(
        200,
        template,
        XLSX_CONTENT_TYPE,
        {"Content-Disposition": 'attachment; filename="readycheck-answer-sheet.xlsx"'},
    )


def accept_upload(services: Services, data: bytes, filename: str, viewer: Viewer) -> HttpResult:
    """``POST /api/uploads``: store the workbook and answer 202 with where to poll."""
    limit = services.settings.limits.max_upload_bytes
    if not data:
        return problem(400, "Bad Request", "the request body is empty: send the .xlsx file as the body")
    if len(data) > limit:
        return problem(413, "Content Too Large", f"the file is {len(data):,} bytes; the limit is {limit:,}")
    if not data.startswith(_ZIP_MAGIC):
        return problem(415, "Unsupported Media Type", "the body is not an .xlsx workbook")
    blob_name = http_blob_name(filename or "answer-sheet.xlsx")
    info = services.blobs.write(services.settings.answer_sheets_container, blob_name, data, XLSX_CONTENT_TYPE)
    upload_id = record_received(services, blob_name, info.etag, uploaded_by=viewer.identity)
    status_url = f"/api/uploads/{upload_id}"
    return model_result(
        202,
        api.UploadAccepted(upload_id=upload_id, status_url=status_url, blob=blob_name),
        {"Location": status_url, "Retry-After": str(services.settings.report_retry_after_seconds)},
    )


def health(checks: Mapping[str, Callable[[], None]]) -> HttpResult:
    """``GET /api/health``: 200 when every dependency answers, 503 naming the ones that do not."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
        except ReadyCheckError as err:
            results[name] = f"unavailable: {err}"
        else:
            results[name] = "ok"
    healthy = all(v == "ok" for v in results.values())
    return model_result(
        200 if healthy else 503, api.Health(status="ok" if healthy else "degraded", checks=results)
    )
