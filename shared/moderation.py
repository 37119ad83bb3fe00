"""Human moderation: the review queue, reviewers' decisions on item points, and regenerated reports.

An item the grader routed to a person (``ItemResult.needs_review``) gets a review row in its
submission's partition when the submission completes: ``awaiting``. A reviewer's decision (keep
the points or override them, always with a reason) makes it ``reviewed``; a later decision on the
same item is allowed and gets the next version. Stored section results never change: decisions are
applied over them, so scores, verdict and report are regenerated from the same grading plus the
decisions. Layout: docs/data-model.md; rules: docs/grading.md ("Moderation").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from shared.errors import ConcurrencyConflict, InvalidMessage
from shared.grading import ItemResult, ItemStatus, SectionResult
from shared.ports import Services, StoredEntity, Value
from shared.records import (
    REVIEW_QUEUE_PARTITION,
    SubmissionRecord,
    queue_row,
    review_row,
    submission_partition,
)

# The submission property naming the decisions its current report and scores include.
APPLIED_PROPERTY = "reviews_applied"


class ReviewState(StrEnum):
    """Where an item is in moderation."""

    AWAITING = "awaiting"
    REVIEWED = "reviewed"


class Decision(StrEnum):
    """What a reviewer did with an item's points."""

    CONFIRMED = "confirmed"
    OVERRIDDEN = "overridden"


class ReviewRequest(BaseModel):
    """The body of ``PUT /api/submissions/{id}/items/{item_id}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    # Strict: a string or a boolean is a mistake to report, not a number to guess.
    points: float = Field(ge=0, allow_inf_nan=False, strict=True)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


@dataclass(frozen=True, slots=True)
class ItemReview:
    """One item's review row, decoded; ``version`` counts the decisions made on it."""

    submission_id: str
    upload_id: str
    item_id: str
    section: str
    topic: str
    state: ReviewState
    routed_because: str
    graded_points: float
    max_points: float
    points: float
    previous_points: float
    decision: str
    note: str
    reviewed_by: str
    reviewed_at: str
    version: int
    opened_at: str = ""
    etag: str = ""

    @classmethod
    def from_entity(cls, submission_id: str, entity: StoredEntity) -> ItemReview:
        """Decode a stored review row (from a submission's partition or the queue)."""
        p = entity.properties
        return cls(
            submission_id=submission_id,
            upload_id=str(p["upload_id"]),
            item_id=str(p["item_id"]),
            section=str(p["section"]),
            topic=str(p.get("topic", "")),
            state=ReviewState(str(p["state"])),
            routed_because=str(p.get("routed_because", "")),
            graded_points=float(p["graded_points"]),
            max_points=float(p["max_points"]),
            points=float(p["points"]),
            previous_points=float(p.get("previous_points", p["graded_points"])),
            decision=str(p.get("decision", "")),
            note=str(p.get("note", "")),
            reviewed_by=str(p.get("reviewed_by", "")),
            reviewed_at=str(p.get("reviewed_at", "")),
            version=int(p.get("version", 0)),
            opened_at=str(p.get("opened_at", "")),
            etag=entity.etag,
        )

    @property
    def http_etag(self) -> str:
        """The ETag a reviewer sends back as ``If-Match``: the decision count, quoted."""
        return f'"v{self.version}"'

    def to_properties(self) -> dict[str, Value]:
        """The stored row's properties."""
        return {
            "upload_id": self.upload_id,
            "item_id": self.item_id,
            "section": self.section,
            "topic": self.topic,
            "state": self.state.value,
            "routed_because": self.routed_because,
            "graded_points": self.graded_points,
            "max_points": self.max_points,
            "points": self.points,
            "previous_points": self.previous_points,
            "decision": self.decision,
            "note": self.note,
            "reviewed_by": self.reviewed_by,
            "reviewed_at": self.reviewed_at,
            "version": self.version,
            "opened_at": self.opened_at,
        }

    def to_json(self) -> dict[str, object]:
        """What the API shows of it."""
        return {
            "submission_id": self.submission_id,
            **{k: v for k, v in self.to_properties().items() if k != "version"},
            "etag": self.http_etag,
            "url": item_url(self.submission_id, self.item_id),
        }


def item_url(submission_id: str, item_id: str) -> str:
    """The API path of one item of a submission."""
    return f"/api/submissions/{submission_id}/items/{item_id}"


def section_results(results: Sequence[str]) -> list[SectionResult]:
    """Stored section results decoded; :class:`InvalidMessage` if one is unreadable."""
    try:
        return [SectionResult.model_validate_json(r) for r in results]
    except ValidationError as err:
        raise InvalidMessage("a stored section result is unreadable") from err


def new_review(record: SubmissionRecord, item: ItemResult, opened_at: str) -> ItemReview:
    """An item's review before any decision: awaiting, with the grader's points."""
    return ItemReview(
        submission_id=record.submission_id,
        upload_id=record.upload_id,
        item_id=item.item_id,
        section=item.section.value,
        topic=item.topic,
        state=ReviewState.AWAITING,
        routed_because=item.review_reason or item.feedback,
        graded_points=item.points,
        max_points=item.max_points,
        points=item.points,
        previous_points=item.points,
        decision="",
        note="",
        reviewed_by="",
        reviewed_at="",
        version=0,
        opened_at=opened_at,
    )


def open_reviews(services: Services, record: SubmissionRecord, results: Sequence[str]) -> int:
    """Record an awaiting review for every routed item and list it in the queue; returns how many.

    Insert-if-absent: a redelivered completion finds its rows and copies them to the queue again.
    """
    partition = submission_partition(record.submission_id)
    routed = [i for r in section_results(results) for i in r.items if i.needs_review]
    now = services.clock.now().isoformat()
    for item in routed:
        review = new_review(record, item, now)
        try:
            services.tables.insert(partition, review_row(item.item_id), review.to_properties())
        except ConcurrencyConflict:
            stored = services.tables.get(partition, review_row(item.item_id))
            review = ItemReview.from_entity(record.submission_id, stored)
        copy_to_queue(services, review)
    return len(routed)


def copy_to_queue(services: Services, review: ItemReview) -> None:
    """Copy a review row to the queue partition that ``GET /api/reviews`` lists (upsert)."""
    services.tables.upsert(
        REVIEW_QUEUE_PARTITION,
        queue_row(review.submission_id, review.item_id),
        review.to_properties(),
    )


def reviews_in(submission_id: str, rows: Mapping[str, StoredEntity]) -> dict[str, ItemReview]:
    """The review rows among a submission partition's rows, by item id."""
    return {
        review.item_id: review
        for review in (
            ItemReview.from_entity(submission_id, row)
            for key, row in rows.items()
            if key.startswith("review|")
        )
    }


def _status_for(points: float, max_points: float, before: ItemStatus) -> ItemStatus:
    if points >= max_points:
        return ItemStatus.CORRECT
    if points > 0:
        return ItemStatus.PARTIAL
    return ItemStatus.UNANSWERED if before is ItemStatus.UNANSWERED else ItemStatus.WRONG


def _reviewed_item(item: ItemResult, review: ItemReview) -> ItemResult:
    if review.decision == Decision.OVERRIDDEN:
        note = f"A reviewer changed the points from {item.points:g} to {review.points:g}: {review.note}"
    else:
        note = f"A reviewer confirmed the points: {review.note}"
    return item.model_copy(
        update={
            "points": review.points,
            "status": _status_for(review.points, item.max_points, item.status),
            "needs_review": False,
            "feedback": f"{item.feedback} {note}".strip(),
        }
    )


def apply_decisions(results: Sequence[str], reviews: Mapping[str, ItemReview]) -> list[str]:
    """The section results with every reviewed item's points, status and feedback set by its decision."""
    decided = {k: v for k, v in reviews.items() if v.state is ReviewState.REVIEWED}
    if not decided:
        return list(results)
    out = []
    for result in section_results(results):
        items = tuple(
            _reviewed_item(i, decided[i.item_id]) if i.item_id in decided else i for i in result.items
        )
        out.append(result.model_copy(update={"items": items}).model_dump_json())
    return out


def applied_marker(reviews: Mapping[str, ItemReview]) -> str:
    """Names the decisions a report includes: ``item:version`` of each decided item, sorted."""
    return ",".join(sorted(f"{r.item_id}:{r.version}" for r in reviews.values() if r.version > 0))


def awaiting(reviews: Mapping[str, ItemReview]) -> int:
    """How many items still await a reviewer."""
    return sum(r.state is ReviewState.AWAITING for r in reviews.values())


def provisional_scores(scores: Mapping[str, object], awaiting_items: int) -> dict[str, object]:
    """Scores plus whether the verdict is provisional (an item still awaits a reviewer)."""
    return {**scores, "provisional": awaiting_items > 0, "awaiting_review": awaiting_items}


def overrides_of_day(rows: Sequence[StoredEntity]) -> int:
    """How many of a day partition's rows are reviewer overrides (for the digest)."""
    return sum(
        r.row_key.startswith("review|") and r.properties.get("decision") == Decision.OVERRIDDEN for r in rows
    )
