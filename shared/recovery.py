"""Uploads whose ingest could not finish: failed visibly, found by the sweeper, re-ingested by an admin.

Two ways an ingest ends ``failed`` instead of staying ``received`` for ever:

- the host gives up on the blob after its retries (5 on the local host, as on Azure) and parks it in
  the ``webjobs-blobtrigger-poison`` queue; a queue trigger on that queue calls :func:`fail_poisoned_blob`
  at once, with the last error the ingest recorded;
- the poison message itself is lost (or the blob event never came): the sweeper's
  :func:`sweep_stalled_ingests` fails an upload still ``received`` after ``READYCHECK_STUCK_GRADING_MINUTES``.

``POST /api/uploads/{id}/reingest`` (admin) runs the ingest again once the cause is fixed. Every
step is idempotent: submissions an interrupted ingest already recorded keep their progress, and
messages already sent carry the same ids.
"""

from __future__ import annotations

import json
from datetime import timedelta

from shared import telemetry
from shared.api_handlers import not_found, valid_id
from shared.errors import ConcurrencyConflict, InvalidMessage, NotFound
from shared.grading_flow import parse_time
from shared.http_results import HttpResult, json_result, problem
from shared.ingest import ingest_blob, record_received
from shared.ports import Services, StoredEntity
from shared.records import (
    INGESTING_PARTITION,
    UPLOAD_ROW,
    UploadStatus,
    find_upload,
    upload_partition,
    upload_state,
)

_MAX_CONFLICT_RETRIES = 10


def reingest_url(upload_id: str) -> str:
    """The admin route that runs an upload's ingest again."""
    return f"/api/uploads/{upload_id}/reingest"


def fail_poisoned_blob(services: Services, body: str | bytes) -> str | None:
    """A blob the host parked as poison: its upload ends ``failed`` naming the blob and the last error."""
    try:
        message = json.loads(body)
        container, blob_name, etag = message["ContainerName"], message["BlobName"], message["ETag"]
    except (ValueError, KeyError, TypeError) as err:
        raise InvalidMessage(f"poison-blob message is malformed: {err}") from err
    if container != services.settings.answer_sheets_container:
        telemetry.event("poison message of another container ignored")
        return None
    # Recorded here too: an outage of the table itself can poison a blob before its upload exists.
    upload_id = record_received(services, str(blob_name), str(etag))
    reason = f"ingest of blob {container}/{blob_name} failed after the host's retries"
    _fail(services, upload_id, reason)
    return upload_id


def sweep_stalled_ingests(services: Services) -> int:
    """Fail uploads still ``received`` past the stuck limit; returns how many were failed."""
    settings = services.settings
    cutoff = services.clock.now() - timedelta(minutes=settings.stuck_grading_minutes)
    failed = 0
    for row in services.tables.query_partition(INGESTING_PARTITION):
        since = parse_time(str(row.properties.get("since", "")))
        if since is not None and since > cutoff:
            continue
        reason = (
            f"ingest of blob {settings.answer_sheets_container}/{row.properties.get('blob_name', '?')} "
            f"did not finish within {settings.stuck_grading_minutes} minutes"
        )
        failed += _fail(services, row.row_key, reason)
    return failed


def _fail(services: Services, upload_id: str, reason: str) -> int:
    """Mark a ``received`` upload failed (1), or leave a finished one alone (0); drops its marker."""
    partition = upload_partition(upload_id)
    for _ in range(_MAX_CONFLICT_RETRIES):
        try:
            upload = services.tables.get(partition, UPLOAD_ROW)
        except NotFound:
            services.tables.delete(INGESTING_PARTITION, upload_id)
            return 0
        if upload.properties.get("status") != UploadStatus.RECEIVED:
            services.tables.delete(INGESTING_PARTITION, upload_id)
            return 0
        last = str(upload.properties.get("last_error", ""))
        message = f"{reason}" + (f"; last error: {last}" if last else "")
        message += f". After the cause is fixed an admin can run it again: POST {reingest_url(upload_id)}"
        try:
            services.tables.merge(
                partition, UPLOAD_ROW, {"status": UploadStatus.FAILED.value, "message": message}, upload.etag
            )
        except ConcurrencyConflict:
            continue
        services.tables.delete(INGESTING_PARTITION, upload_id)
        telemetry.event("upload failed", upload_id=upload_id)
        return 1
    raise ConcurrencyConflict(f"upload {upload_id}: status kept conflicting; will retry")


def reingest_request(services: Services, upload_id: str) -> HttpResult:
    """``POST /api/uploads/{id}/reingest`` (admin): run a failed or stalled upload's ingest again now."""
    if not valid_id(upload_id):
        return not_found("upload")
    try:
        rows = find_upload(services.tables, upload_id)
    except NotFound:
        return not_found("upload")
    upload = rows[0]
    state = upload_state(upload, rows[1:])
    if state not in (UploadStatus.FAILED, UploadStatus.RECEIVED):
        return problem(409, "Conflict", f"the upload is {state.value}; only a failed ingest is run again")
    blob_name = str(upload.properties["blob_name"])
    try:
        _reopen(services, upload, blob_name)
    except ConcurrencyConflict:
        return problem(409, "Conflict", "the upload changed meanwhile; look at its status and try again")
    ingested = ingest_blob(services, blob_name)
    if ingested is None:
        return problem(410, "Gone", f"blob {blob_name} no longer exists; upload the workbook again")
    # An overwritten blob is a new version, so a new upload: the answer names the one ingested.
    rows = find_upload(services.tables, ingested)
    status_url = f"/api/uploads/{ingested}"
    return json_result(
        200,
        {"upload_id": ingested, "status": upload_state(rows[0], rows[1:]).value, "status_url": status_url},
        {"Location": status_url},
    )


def _reopen(services: Services, upload: StoredEntity, blob_name: str) -> None:
    """Back to ``received`` with its stall marker, so a new failure is caught the same way."""
    upload_id = upload.partition_key.removeprefix("upload|")
    services.tables.merge(
        upload.partition_key,
        UPLOAD_ROW,
        {"status": UploadStatus.RECEIVED.value, "message": "", "last_error": ""},
        upload.etag,
    )
    services.tables.upsert(
        INGESTING_PARTITION, upload_id, {"blob_name": blob_name, "since": services.clock.now().isoformat()}
    )
