"""The candidate index: each candidate's graded attempts across uploads (see docs/data-model.md).

The completing grader reads the candidate's earlier attempts before it renders (the report shows
the trend) and records this attempt after the report is stored; the row key is fixed per
submission, so a redelivered message rewrites the same row. The candidate is the normalised email
on the sheet (``shared.records.candidate_id_for``); a sheet without an email has no history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from shared.ports import FinishedSubmission, StoredEntity, TableStore, Value
from shared.records import (
    SubmissionRecord,
    attempt_row,
    candidate_id_for,
    candidate_partition,
    load_submission,
)


class Attempt(BaseModel):
    """A candidate's graded submission: when, the overall, area and topic scores, and the verdict."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    submission_id: str
    started_at: str
    day: str
    overall: float
    verdict: str
    areas: dict[str, float]
    topics: dict[str, float]  # topic name -> percent

    @property
    def order(self) -> tuple[str, str]:
        """Attempts sort by when their upload was received, ties by id."""
        return (self.started_at, self.submission_id)

    def to_properties(self) -> dict[str, Value]:
        """The index entity's properties (nested scores as JSON strings)."""
        return {
            "submission_id": self.submission_id,
            "started_at": self.started_at,
            "day": self.day,
            "overall": self.overall,
            "verdict": self.verdict,
            "areas": json.dumps(self.areas, sort_keys=True),
            "topics": json.dumps(self.topics, sort_keys=True),
        }

    @classmethod
    def from_entity(cls, entity: StoredEntity) -> Attempt:
        """Decode an index entity."""
        p: Mapping[str, Value] = entity.properties
        return cls(
            submission_id=str(p["submission_id"]),
            started_at=str(p["started_at"]),
            day=str(p["day"]),
            overall=float(p["overall"]),
            verdict=str(p["verdict"]),
            areas=json.loads(str(p["areas"])),
            topics=json.loads(str(p["topics"])),
        )


def candidate_attempts(tables: TableStore, candidate_id: str) -> list[Attempt]:
    """Every graded attempt of one candidate, oldest first."""
    rows = tables.query_partition(candidate_partition(candidate_id))
    return sorted((Attempt.from_entity(r) for r in rows), key=lambda a: a.order)


def earlier_attempts(tables: TableStore, record: SubmissionRecord) -> tuple[Attempt, ...]:
    """The candidate's graded attempts received before this submission, oldest first."""
    if not record.email:
        return ()
    mine = (record.started_at, record.submission_id)
    return tuple(a for a in candidate_attempts(tables, candidate_id_for(record.email)) if a.order < mine)


def record_attempt(tables: TableStore, record: SubmissionRecord, finished: FinishedSubmission) -> None:
    """Add (or rewrite) this graded submission in its candidate's index."""
    if not record.email:
        return
    attempt = Attempt(
        submission_id=record.submission_id,
        started_at=record.started_at,
        day=record.day,
        overall=finished.scores.percent,
        verdict=finished.scores.verdict,
        areas=dict(finished.scores.areas),
        topics=dict(finished.topics),
    )
    tables.upsert(
        candidate_partition(candidate_id_for(record.email)),
        attempt_row(record.started_at, record.submission_id),
        attempt.to_properties(),
    )


def previous_verdict(tables: TableStore, submission_id: str) -> str:
    """The verdict of the attempt before this submission's in its candidate's index ("" if none)."""
    record = load_submission(tables, submission_id)
    earlier = earlier_attempts(tables, record)
    return earlier[-1].verdict if earlier else ""
