"""The Table Storage layout of the pipeline's state (see docs/data-model.md).

One table holds every entity; partition keys are chosen for the queries the API, the
grader and the digest make, so each of them is a point read or one partition query.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from shared.errors import NotFound, Problem
from shared.ports import StoredEntity, TableStore, Value

UPLOAD_ROW = "upload"
SUBMISSION_ROW = "submission"
BLOB_ROW = "blob"
INFLIGHT_PARTITION = "inflight"
REVIEW_QUEUE_PARTITION = "reviews"
# Uploads received and not yet fanned out or rejected: what the sweeper checks for stalled ingests.
INGESTING_PARTITION = "ingesting"
# Azure caps a string property at 64 KiB (32 K UTF-16 units); long JSON is split into chunks.
_CHUNK = 30_000


class UploadStatus(StrEnum):
    """An upload's status; ``graded`` and ``partially_graded`` are derived from its submissions.

    ``failed`` is an ingest that could not finish (a service outage outlasted its retries); the
    admin re-ingest route takes it back to ``received``.
    """

    RECEIVED = "received"
    REJECTED = "rejected"
    FAILED = "failed"
    GRADING = "grading"
    GRADED = "graded"
    PARTIALLY_GRADED = "partially_graded"


class SubmissionStatus(StrEnum):
    """A submission's status."""

    GRADING = "grading"
    GRADED = "graded"
    FAILED = "failed"


def upload_partition(upload_id: str) -> str:
    """The partition of one upload and its submission summaries."""
    return f"upload|{upload_id}"


def submission_partition(submission_id: str) -> str:
    """The partition of one submission, its section results and its progress."""
    return f"sub|{submission_id}"


def day_partition(day: str) -> str:
    """The partition indexing the uploads and submissions received on one UTC day."""
    return f"day|{day}"


def candidate_id_for(email: str) -> str:
    """A candidate's stable id across uploads: a hash of the normalised email on the sheet."""
    return hashlib.sha256(f"candidate\n{email.strip().casefold()}".encode()).hexdigest()[:32]


def candidate_partition(candidate_id: str) -> str:
    """The partition indexing one candidate's graded attempts (one row per submission)."""
    return f"cand|{candidate_id}"


def attempt_row(started_at: str, submission_id: str) -> str:
    """An attempt's row in its candidate's partition: sorts by when the upload was received."""
    return f"{started_at}|{submission_id}"


def blob_partition(blob_name: str) -> str:
    """The partition mapping a blob name to its latest upload (names may hold '/', keys may not)."""
    return "blob|" + hashlib.sha256(blob_name.encode()).hexdigest()


def summary_row(submission_id: str) -> str:
    """The row of a submission's summary inside its upload's (or day's) partition."""
    return f"sub|{submission_id}"


def upload_row(upload_id: str) -> str:
    """The row of an upload inside a day's partition."""
    return f"upload|{upload_id}"


def result_row(section: str) -> str:
    """The row of one section's result inside a submission's partition."""
    return f"result|{section}"


def review_row(item_id: str) -> str:
    """The row of one item's review inside a submission's partition (the authoritative state)."""
    return f"review|{item_id}"


def queue_row(submission_id: str, item_id: str) -> str:
    """The row of one item's review in the review queue partition (a copy for listing)."""
    return f"{submission_id}|{item_id}"


def decision_row(submission_id: str, item_id: str, version: int) -> str:
    """The row of one reviewer decision inside the day partition of the day it was made."""
    return f"review|{submission_id}|{item_id}|{version:04d}"


def done_property(section: str) -> str:
    """The submission property that marks one section graded.

    One boolean per section, so recording progress merges a property of its own and graders
    of different sections never overwrite each other's progress.
    """
    return f"done_{section}"


def chunked(name: str, text: str) -> dict[str, Value]:
    """Split a long string over ``name0``, ``name1`` ... plus a ``name_parts`` count."""
    parts = [text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)] or [""]
    out: dict[str, Value] = {f"{name}{i}": part for i, part in enumerate(parts)}
    out[f"{name}_parts"] = len(parts)
    return out


def unchunked(name: str, properties: Mapping[str, Value]) -> str:
    """Join what :func:`chunked` split."""
    count = int(properties.get(f"{name}_parts", 0))
    return "".join(str(properties[f"{name}{i}"]) for i in range(count))


def problems_json(problems: Sequence[Problem]) -> str:
    """Problems as a JSON string property."""
    return json.dumps([p.to_dict() for p in problems])


def problems_from(properties: Mapping[str, Value]) -> list[dict[str, object]]:
    """The problems stored on an entity, as plain data."""
    raw = properties.get("problems")
    if not isinstance(raw, str) or not raw:
        return []
    loaded: list[dict[str, object]] = json.loads(raw)
    return loaded


@dataclass(frozen=True, slots=True)
class SubmissionRecord:
    """A submission's state entity, decoded."""

    submission_id: str
    upload_id: str
    status: SubmissionStatus
    sections: tuple[str, ...]
    done: frozenset[str]
    completed_by: str
    email: str
    day: str
    started_at: str
    scores: dict[str, object] | None
    reason: str
    payload: str
    etag: str = field(compare=False)

    @classmethod
    def from_entity(cls, entity: StoredEntity) -> SubmissionRecord:
        """Decode the stored entity."""
        p = entity.properties
        scores = p.get("scores")
        sections = tuple(s for s in str(p["sections"]).split(",") if s)
        return cls(
            submission_id=entity.partition_key.removeprefix("sub|"),
            upload_id=str(p["upload_id"]),
            status=SubmissionStatus(str(p["status"])),
            sections=sections,
            done=frozenset(s for s in sections if p.get(done_property(s)) is True),
            completed_by=str(p.get("completed_by", "")),
            email=str(p.get("email", "")),
            day=str(p.get("day", "")),
            started_at=str(p.get("started_at", "")),
            scores=json.loads(scores) if isinstance(scores, str) and scores else None,
            reason=str(p.get("reason", "")),
            payload=unchunked("payload", p),
            etag=entity.etag,
        )

    @property
    def complete(self) -> bool:
        """Every section has a stored result."""
        return self.done >= set(self.sections)

    def to_properties(self) -> dict[str, Value]:
        """The entity's properties."""
        props: dict[str, Value] = {
            "upload_id": self.upload_id,
            "status": self.status.value,
            "sections": ",".join(self.sections),
            "completed_by": self.completed_by,
            "email": self.email,
            "day": self.day,
            "started_at": self.started_at,
            "scores": json.dumps(self.scores) if self.scores is not None else "",
            "reason": self.reason,
        }
        props.update({done_property(s): s in self.done for s in self.sections})
        props.update(chunked("payload", self.payload))
        return props


def upload_state(upload: StoredEntity, summaries: Sequence[StoredEntity]) -> UploadStatus:
    """An upload's status: as stored until fanned out, then derived from its submissions."""
    stored = UploadStatus(str(upload.properties.get("status", UploadStatus.RECEIVED)))
    if stored is not UploadStatus.GRADING:
        return stored
    states = {str(s.properties.get("status")) for s in summaries}
    if SubmissionStatus.GRADING in states:
        return UploadStatus.GRADING
    if states <= {SubmissionStatus.GRADED}:
        return UploadStatus.GRADED
    return UploadStatus.PARTIALLY_GRADED


def load_submission(tables: TableStore, submission_id: str) -> SubmissionRecord:
    """The submission's state, or :class:`NotFound`."""
    return SubmissionRecord.from_entity(tables.get(submission_partition(submission_id), SUBMISSION_ROW))


def find_upload(tables: TableStore, upload_id: str) -> list[StoredEntity]:
    """The upload's partition (its entity first, then submission summaries), or :class:`NotFound`."""
    rows = tables.query_partition(upload_partition(upload_id))
    if not any(r.row_key == UPLOAD_ROW for r in rows):
        raise NotFound(f"upload {upload_id!r} does not exist")
    return sorted(rows, key=lambda r: r.row_key != UPLOAD_ROW)
