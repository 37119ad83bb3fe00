"""The review routes: the queue, an item's review, a reviewer's decision, the export; re-rendering.

Each handler returns an :class:`HttpResult` (problem details on errors). Only reviewers (or every
key holder, with access control off) may use them; a candidate gets ``403``. See docs/api.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from pydantic import ValidationError

from shared import api_models as api
from shared import telemetry
from shared.access import Viewer
from shared.api_handlers import not_found, parse_day
from shared.attempts import earlier_attempts
from shared.errors import AccessDenied, ConcurrencyConflict
from shared.grading import ItemResult
from shared.grading_flow import DOCX_CONTENT_TYPE, parse_submission, publish, report_blob_name
from shared.http_results import HttpResult, model_result, problem
from shared.moderation import (
    APPLIED_PROPERTY,
    Decision,
    ItemReview,
    ReviewRequest,
    ReviewState,
    applied_marker,
    apply_decisions,
    awaiting,
    copy_to_queue,
    new_review,
    provisional_scores,
    reviews_in,
    section_results,
)
from shared.ports import Services, StoredEntity, Value
from shared.records import (
    REVIEW_QUEUE_PARTITION,
    SUBMISSION_ROW,
    SubmissionRecord,
    SubmissionStatus,
    day_partition,
    decision_row,
    result_row,
    review_row,
    submission_partition,
    unchunked,
)

_SUBMISSION_ID = re.compile(r"^[0-9a-f]{32}$")
_ITEM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# Two or three reviewers of one submission at a time at most: a few rounds settle any race.
_MAX_RENDER_ROUNDS = 10
# Azure caps a string property at 64 KiB; an exported answer is cut below that.
_MAX_ANSWER = 30_000
_MAX_EXPORT_DAYS = 366
_DEFAULT_EXPORT_DAYS = 30
JSON_LINES = "application/jsonl"


def regenerate(services: Services, submission_id: str) -> SubmissionRecord:
    """Re-render the report and scores of a graded submission with every decision made so far.

    The report blob's name is fixed, so there is one report; concurrent renderers settle on the
    last state: whoever wrote a report must then record it with an ETag-guarded merge, and a
    renderer that loses that race (or sees a decision newer than it rendered) renders again.
    """
    partition = submission_partition(submission_id)
    force = False
    for _ in range(_MAX_RENDER_ROUNDS):
        rows = {r.row_key: r for r in services.tables.query_partition(partition)}
        record = SubmissionRecord.from_entity(rows[SUBMISSION_ROW])
        reviews = reviews_in(submission_id, rows)
        marker = applied_marker(reviews)
        if not force and rows[SUBMISSION_ROW].properties.get(APPLIED_PROPERTY, "") == marker:
            # Current already; the summary copy may lag behind after a crash, so publish again.
            publish(services, record)
            return record
        results = [unchunked("result", rows[result_row(s)].properties) for s in record.sections]
        history = earlier_attempts(services.tables, record)
        finished = services.engine.finish(
            parse_submission(record), apply_decisions(results, reviews), history
        )
        services.blobs.write(
            services.settings.reports_container,
            report_blob_name(submission_id),
            finished.report,
            DOCX_CONTENT_TYPE,
        )
        scores = provisional_scores(finished.scores.to_dict(), awaiting(reviews))
        try:
            services.tables.merge(
                partition,
                SUBMISSION_ROW,
                {"scores": json.dumps(scores), APPLIED_PROPERTY: marker},
                record.etag,
            )
        except ConcurrencyConflict:
            force = True
            continue
        force = False
        telemetry.event("report regenerated", submission_id=submission_id)
    raise ConcurrencyConflict(f"submission {submission_id}: re-rendering kept conflicting; try again")


def reviewer_name(viewer: Viewer) -> str:
    """Who decided, as recorded: the reviewer's email, else what kind of caller it was."""
    if viewer.identity:
        return viewer.identity
    return "reviewer (no email claim)" if viewer.reviewer else "key holder (access control off)"


def _forbidden() -> AccessDenied:
    return AccessDenied("the review queue and overrides are for reviewers")


@dataclass(frozen=True, slots=True)
class _Item:
    """A graded submission's partition, read once, and one of its items."""

    record: SubmissionRecord
    item: ItemResult
    review: ItemReview | None
    bank: tuple[str, str]


def _load_item(services: Services, submission_id: str, item_id: str) -> _Item | HttpResult:
    if not _SUBMISSION_ID.match(submission_id):
        return not_found("submission")
    if not _ITEM_ID.match(item_id):
        return problem(404, "Not Found", "no item with this id in this submission")
    rows = {r.row_key: r for r in services.tables.query_partition(submission_partition(submission_id))}
    if SUBMISSION_ROW not in rows:
        return not_found("submission")
    record = SubmissionRecord.from_entity(rows[SUBMISSION_ROW])
    if record.status is not SubmissionStatus.GRADED:
        return problem(
            409, "Conflict", f"the submission is {record.status.value}: only graded submissions are reviewed"
        )
    results = section_results([unchunked("result", rows[result_row(s)].properties) for s in record.sections])
    found = [(r, i) for r in results for i in r.items if i.item_id == item_id]
    if not found:
        return problem(404, "Not Found", f"no item {item_id!r} in this submission")
    result, item = found[0]
    review = reviews_in(submission_id, rows).get(item_id)
    return _Item(record, item, review, (result.bank_id, result.bank_version))


def _item_body(loaded: _Item) -> dict[str, object]:
    item, review = loaded.item, loaded.review
    state = review.state.value if review is not None else "not_routed"
    return {
        "submission_id": loaded.record.submission_id,
        "upload_id": loaded.record.upload_id,
        "item_id": item.item_id,
        "section": item.section.value,
        "topic": item.topic,
        "state": state,
        "answer_text": item.answer_text,
        "key_text": item.key_text,
        "feedback": item.feedback,
        "graded_points": item.points,
        "max_points": item.max_points,
        "points": review.points if review is not None else item.points,
        "routed_because": review.routed_because if review is not None else "",
        "decision": review.decision if review is not None else "",
        "note": review.note if review is not None else "",
        "reviewed_by": review.reviewed_by if review is not None else "",
        "reviewed_at": review.reviewed_at if review is not None else "",
        "scores": loaded.record.scores,
    }


def _etag(review: ItemReview | None) -> str:
    return review.http_etag if review is not None else '"v0"'


def item_review(services: Services, submission_id: str, item_id: str, viewer: Viewer) -> HttpResult:
    """``GET /api/submissions/{id}/items/{item_id}``: an item, its answer and review, with its ETag."""
    if not viewer.may_review:
        raise _forbidden()
    loaded = _load_item(services, submission_id, item_id)
    if isinstance(loaded, HttpResult):
        return loaded
    return model_result(200, api.ItemBody.model_validate(_item_body(loaded)), {"ETag": _etag(loaded.review)})


def _parse_request(body: bytes) -> ReviewRequest | HttpResult:
    try:
        return ReviewRequest.model_validate_json(body or b"{}")
    except ValidationError as err:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"]}
            for e in err.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(
            400, "Bad Request", f'send {{"points": <number>, "reason": "<why>"}}: {detail}', errors=errors
        )


def _matches(if_match: str, etag: str) -> bool:
    tags = {t.strip() for t in if_match.split(",")}
    return etag in tags or "*" in tags


def _repeat_of(review: ItemReview | None, request: ReviewRequest, who: str) -> ItemReview | None:
    """The stored decision if the request repeats it (same points, reason and reviewer)."""
    if review is None or review.state is not ReviewState.REVIEWED:
        return None
    same = (review.points, review.note, review.reviewed_by) == (request.points, request.reason, who)
    return review if same else None


def decide_item(
    services: Services,
    submission_id: str,
    item_id: str,
    if_match: str | None,
    body: bytes,
    viewer: Viewer,
) -> HttpResult:
    """``PUT /api/submissions/{id}/items/{item_id}``: keep or override an item's points, with a reason."""
    if not viewer.may_review:
        raise _forbidden()
    request = _parse_request(body)
    if isinstance(request, HttpResult):
        return request
    loaded = _load_item(services, submission_id, item_id)
    if isinstance(loaded, HttpResult):
        return loaded
    if request.points > loaded.item.max_points:
        return problem(
            422,
            "Unprocessable Content",
            f"points {request.points:g} are above the item's maximum of {loaded.item.max_points:g}",
            errors=[{"field": "points", "message": f"must be between 0 and {loaded.item.max_points:g}"}],
        )
    who = reviewer_name(viewer)
    repeated = _repeat_of(loaded.review, request, who)
    if repeated is not None:
        # A repeat changes nothing; it only finishes what a crashed first attempt may have left.
        return _finish(services, loaded, repeated)
    current = _etag(loaded.review)
    if not if_match:
        return problem(
            428, "Precondition Required", f"send If-Match: {current} (the item's ETag) to change it"
        )
    if not _matches(if_match, current):
        return _changed(current)
    decided = _decision(services, loaded, request, who)
    partition = submission_partition(submission_id)
    try:
        if loaded.review is None:
            etag = services.tables.insert(partition, review_row(item_id), decided.to_properties())
        else:
            etag = services.tables.merge(
                partition, review_row(item_id), decided.to_properties(), loaded.review.etag
            )
    except ConcurrencyConflict:
        fresh = services.tables.get(partition, review_row(item_id))
        return _changed(ItemReview.from_entity(submission_id, fresh).http_etag)
    telemetry.event("item reviewed", submission_id=submission_id, item_id=item_id, decision=decided.decision)
    return _finish(services, loaded, replace(decided, etag=etag))


def _changed(current: str) -> HttpResult:
    result = problem(
        412,
        "Precondition Failed",
        "someone changed this item since you read it: read it again (its ETag is in this response)",
        etag=current,
    )
    return HttpResult(result.status, result.body, result.content_type, {"ETag": current})


def _decision(services: Services, loaded: _Item, request: ReviewRequest, who: str) -> ItemReview:
    now = services.clock.now().isoformat()
    base = loaded.review or new_review(loaded.record, loaded.item, now)
    overridden = request.points != loaded.item.points
    return replace(
        base,
        state=ReviewState.REVIEWED,
        points=request.points,
        previous_points=base.points,
        decision=(Decision.OVERRIDDEN if overridden else Decision.CONFIRMED).value,
        note=request.reason,
        reviewed_by=who,
        reviewed_at=now,
        version=base.version + 1,
    )


def _finish(services: Services, loaded: _Item, decided: ItemReview) -> HttpResult:
    """Log the decision, copy it to the queue and regenerate the report (each step idempotent)."""
    _log(services, loaded, decided)
    copy_to_queue(services, decided)
    record = regenerate(services, decided.submission_id)
    body = api.DecisionBody.model_validate({**decided.to_json(), "scores": record.scores})
    return model_result(200, body, {"ETag": decided.http_etag})


def _log(services: Services, loaded: _Item, decided: ItemReview) -> None:
    """The decision in its day's partition: the digest counts it, the export reads it (insert-if-absent)."""
    bank_id, bank_version = loaded.bank
    row: dict[str, Value] = {
        "submission_id": decided.submission_id,
        "upload_id": decided.upload_id,
        "item_id": decided.item_id,
        "section": decided.section,
        "topic": decided.topic,
        "bank_id": bank_id,
        "bank_version": bank_version,
        "decision": decided.decision,
        "graded_points": decided.graded_points,
        "old_points": decided.previous_points,
        "points": decided.points,
        "max_points": decided.max_points,
        "note": decided.note,
        "reviewed_by": decided.reviewed_by,
        "reviewed_at": decided.reviewed_at,
        "routed_because": decided.routed_because,
        "answer_text": loaded.item.answer_text[:_MAX_ANSWER],
        "version": decided.version,
    }
    try:
        services.tables.insert(
            day_partition(decided.reviewed_at[:10]),
            decision_row(decided.submission_id, decided.item_id, decided.version),
            row,
        )
    except ConcurrencyConflict:
        return


def review_queue(services: Services, viewer: Viewer, status: str, upload_id: str) -> HttpResult:
    """``GET /api/reviews[?status=awaiting|reviewed|all][&upload=<id>]``: the review queue."""
    if not viewer.may_review:
        raise _forbidden()
    states = {"awaiting": {ReviewState.AWAITING}, "reviewed": {ReviewState.REVIEWED}, "all": set(ReviewState)}
    wanted = states.get(status or "awaiting")
    if wanted is None:
        return problem(400, "Bad Request", f"status must be awaiting, reviewed or all, not {status[:20]!r}")
    if upload_id and not _SUBMISSION_ID.match(upload_id):
        return problem(400, "Bad Request", "upload must be an upload id (32 hex characters)")
    reviews = [
        ItemReview.from_entity(row.row_key.split("|", 1)[0], row)
        for row in services.tables.query_partition(REVIEW_QUEUE_PARTITION)
    ]
    chosen = [r for r in reviews if r.state in wanted and (not upload_id or r.upload_id == upload_id)]
    # Oldest first: the order a queue is worked in.
    chosen.sort(key=lambda r: (r.opened_at, r.submission_id, r.item_id))
    shown = [api.ReviewEntry.model_validate(r.to_json()) for r in chosen]
    return model_result(200, api.ReviewQueue(status=status or "awaiting", count=len(shown), reviews=shown))


def _export_range(since: str, until: str, today: date) -> tuple[date, date] | HttpResult:
    last = parse_day(until) if until else today
    if isinstance(last, HttpResult):
        return last
    first = parse_day(since) if since else last - timedelta(days=_DEFAULT_EXPORT_DAYS - 1)
    if isinstance(first, HttpResult):
        return first
    if first > last:
        return problem(400, "Bad Request", "from must not be after to")
    if (last - first).days >= _MAX_EXPORT_DAYS:
        return problem(400, "Bad Request", f"export at most {_MAX_EXPORT_DAYS} days at a time")
    return first, last


# Provenance kept as stored; the answer, the reviewer's points and reason take the names the
# validity files use (tests/validity/*.jsonl: id, item_id, answer, grade, reason).
_PROVENANCE = (
    "submission_id",
    "upload_id",
    "section",
    "topic",
    "bank_id",
    "bank_version",
    "decision",
    "graded_points",
    "old_points",
    "max_points",
    "reviewed_by",
    "reviewed_at",
    "routed_because",
    "version",
)


def export_line(row: StoredEntity) -> dict[str, object]:
    """One logged decision as an export line, shaped like a validity answer plus its provenance."""
    p = row.properties
    return {
        "id": f"{p['submission_id']}:{p['item_id']}:v{p['version']}",
        "item_id": p["item_id"],
        "answer": p.get("answer_text", ""),
        "grade": p["points"],
        "reason": p.get("note", ""),
        **{k: p.get(k) for k in _PROVENANCE},
    }


def export_decisions(services: Services, viewer: Viewer, since: str, until: str) -> HttpResult:
    """``GET /api/reviews/export[?from=&to=]``: every decision of those days as JSON lines, oldest first."""
    if not viewer.may_review:
        raise _forbidden()
    span = _export_range(since, until, services.clock.now().date())
    if isinstance(span, HttpResult):
        return span
    first, last = span
    lines = []
    for offset in range((last - first).days + 1):
        day = (first + timedelta(days=offset)).isoformat()
        rows = [
            r for r in services.tables.query_partition(day_partition(day)) if r.row_key.startswith("review|")
        ]
        for row in sorted(rows, key=lambda r: (str(r.properties.get("reviewed_at", "")), r.row_key)):
            lines.append(json.dumps(export_line(row), ensure_ascii=False))
    name = f"readycheck-reviews-{first.isoformat()}-to-{last.isoformat()}.jsonl"
    return HttpResult(
        200,
        "".join(f"{line}\n" for line in lines).encode(),
        JSON_LINES,
        {"Content-Disposition": f'attachment; filename="{name}"'},
    )
