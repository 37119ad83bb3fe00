"""The JSON bodies the HTTP API answers with, as pydantic models: the OpenAPI schemas come from these.

``shared/openapi.py`` generates the document's schemas from them (``model_json_schema``); the e2e tier
(tests/e2e/test_openapi_conformance.py) checks with schemathesis that the routes answer these shapes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ApiBody(BaseModel):
    """A response body: exactly its fields, so an undocumented key fails where the body is built."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Problem(ApiBody):
    """RFC 9457 problem details; some carry more (``errors``, ``etag``, ``submission_id``)."""

    model_config = ConfigDict(frozen=True, extra="allow")
    type: str
    title: str
    status: int
    detail: str


class Scores(ApiBody):
    """A submission's scores; ``provisional`` and ``awaiting_review`` once moderation has looked at it."""

    percent: float
    verdict: str
    areas: dict[str, float]
    provisional: bool = False
    awaiting_review: int = 0


class UploadAccepted(ApiBody):
    """``POST /api/uploads``: where to poll."""

    upload_id: str
    status_url: str
    blob: str


class SubmissionSummary(ApiBody):
    """One submission in an upload's status."""

    submission_id: str
    status: str
    scores: Scores | None
    reason: str
    report_url: str | None


class UploadStatusBody(ApiBody):
    """``GET /api/uploads/{upload_id}`` and ``GET /api/uploads?blob=``."""

    upload_id: str
    status: str
    received_at: str | None
    source_format: str | None
    message: str
    problems: list[dict[str, Any]]
    submissions: list[SubmissionSummary]


class SubmissionStatusBody(ApiBody):
    """``GET /api/submissions/{submission_id}``."""

    submission_id: str
    upload_id: str
    status: str
    sections_done: list[str]
    scores: Scores | None
    reason: str
    report_url: str | None


class ReportPending(ApiBody):
    """``GET /api/submissions/{submission_id}/report`` while grading (202)."""

    submission_id: str
    status: str


class AttemptBody(ApiBody):
    """One graded attempt in a candidate's history."""

    submission_id: str
    day: str
    overall: float
    verdict: str
    areas: dict[str, float]
    topics: dict[str, float]
    report_url: str


class CandidateHistory(ApiBody):
    """``GET /api/candidates/{candidate_id}/history``."""

    candidate_id: str
    attempts: list[AttemptBody]


class MyHistory(ApiBody):
    """``GET /api/candidates/me/history``: one history per email of the signed-in candidate."""

    candidates: list[CandidateHistory]


class DigestBuilt(ApiBody):
    """``POST /api/digests/{day}``."""

    day: str
    digest_url: str


class Replayed(ApiBody):
    """``POST /api/dead-letters/replay``."""

    replayed: int


class Reingested(ApiBody):
    """``POST /api/uploads/{upload_id}/reingest``."""

    upload_id: str
    status: str
    status_url: str


class ReviewedItem(ApiBody):
    """Which item of which submission a review is about, and where its review stands."""

    submission_id: str
    upload_id: str
    item_id: str
    section: str
    topic: str
    state: str


class ReviewEntry(ReviewedItem):
    """An item's review as the queue and a decision show it."""

    routed_because: str
    graded_points: float
    max_points: float
    points: float
    previous_points: float
    decision: str
    note: str
    reviewed_by: str
    reviewed_at: str
    opened_at: str
    etag: str
    url: str


class ReviewQueue(ApiBody):
    """``GET /api/reviews``."""

    status: str
    count: int
    reviews: list[ReviewEntry]


class ItemBody(ReviewedItem):
    """``GET /api/submissions/{submission_id}/items/{item_id}``."""

    answer_text: str
    key_text: str
    feedback: str
    graded_points: float
    max_points: float
    points: float
    routed_because: str
    decision: str
    note: str
    reviewed_by: str
    reviewed_at: str
    scores: Scores | None


class DecisionBody(ReviewEntry):
    """``PUT /api/submissions/{submission_id}/items/{item_id}``: the decision and the new scores."""

    scores: Scores | None


class Health(ApiBody):
    """``GET /api/health``: ``ok`` or ``degraded``, and each check's answer."""

    status: str
    checks: dict[str, str]
