"""The daily digest: what happened to the previous UTC day's uploads and how the cohort did.

Written once per day to ``digests/<date>.docx``; a rerun rebuilds it from the same stored
state, so it replaces the blob with identical content. An empty day gives a short digest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict

from shared.bank import Bank
from shared.errors import NotFound
from shared.grading import GradedSubmission
from shared.grading_flow import DOCX_CONTENT_TYPE
from shared.http_results import HttpResult, json_result
from shared.ports import Services, StoredEntity
from shared.readiness import CohortStats, Readiness, cohort_stats
from shared.records import (
    SUBMISSION_ROW,
    SubmissionRecord,
    SubmissionStatus,
    UploadStatus,
    day_partition,
    find_upload,
    result_row,
    submission_partition,
    unchunked,
    upload_state,
)
from shared.status import parse_day
from shared.submission import Submission

NEEDS_HELP = 5
_READERS = 16
_Frozen = ConfigDict(frozen=True, extra="forbid")


class HelpEntry(BaseModel):
    """A candidate who most needs help: lowest overall score first."""

    model_config = _Frozen
    name: str
    overall: float
    verdict: str
    weakest_topics: tuple[str, ...]


class DigestModel(BaseModel):
    """Everything the digest document shows."""

    model_config = _Frozen
    day: str
    counts: tuple[tuple[str, int], ...]
    stats: CohortStats | None
    needs_help: tuple[HelpEntry, ...]

    @property
    def empty(self) -> bool:
        """No upload arrived that day."""
        return all(n == 0 for _, n in self.counts)


COUNT_KEYS = (
    "uploads received",
    "uploads graded",
    "uploads partially graded",
    "uploads rejected",
    "uploads still grading",
    "submissions graded",
    "submissions failed",
    "submissions still grading",
)


def build_digest(
    day: str,
    counts: Mapping[str, int],
    graded: Sequence[GradedSubmission],
    assessments: Sequence[Readiness],
    bank: Bank,
) -> DigestModel:
    """The digest of one day from its counts and its graded, assessed submissions."""
    stats = cohort_stats(assessments, graded, bank) if assessments else None
    names = {g.submission_key: g.candidate.name for g in graded}
    lowest = sorted(assessments, key=lambda a: (a.overall, a.submission_key))[:NEEDS_HELP]
    help_entries = tuple(
        HelpEntry(
            name=names[a.submission_key],
            overall=a.overall,
            verdict=a.verdict.value,
            weakest_topics=tuple(t.name for t in sorted(a.topics, key=lambda t: (t.percent, t.topic_id))[:3]),
        )
        for a in lowest
    )
    return DigestModel(
        day=day,
        counts=tuple((k, int(counts.get(k, 0))) for k in COUNT_KEYS),
        stats=stats,
        needs_help=help_entries,
    )


def previous_day(services: Services) -> date:
    """The UTC day before now: the day a scheduled digest covers."""
    return services.clock.now().date() - timedelta(days=1)


def day_counts_and_graded(
    services: Services, day: str
) -> tuple[dict[str, int], list[tuple[Submission, Sequence[str]]]]:
    """The day's upload and submission counts, and each graded submission's answers and results."""
    counts: Counter[str] = Counter(dict.fromkeys(COUNT_KEYS, 0))
    rows = services.tables.query_partition(day_partition(day))
    uploads = [r.row_key.removeprefix("upload|") for r in rows if r.row_key.startswith("upload|")]
    submissions = [r.row_key.removeprefix("sub|") for r in rows if r.row_key.startswith("sub|")]
    # One partition query per submission (its record and its results), overlapped: they are round trips.
    with ThreadPoolExecutor(max_workers=_READERS) as pool:
        upload_states = list(pool.map(lambda u: _upload_state(services, u), uploads))
        partitions = list(pool.map(lambda s: _submission_rows(services, s), submissions))
    counts["uploads received"] += len(uploads)
    counts.update(upload_states)
    finished: list[tuple[Submission, Sequence[str]]] = []
    for partition in partitions:
        if SUBMISSION_ROW not in partition:
            continue
        record = SubmissionRecord.from_entity(partition[SUBMISSION_ROW])
        if record.status is SubmissionStatus.GRADED:
            counts["submissions graded"] += 1
            results = [unchunked("result", partition[result_row(s)].properties) for s in record.sections]
            finished.append((Submission.model_validate_json(record.payload), results))
        elif record.status is SubmissionStatus.FAILED:
            counts["submissions failed"] += 1
        else:
            counts["submissions still grading"] += 1
    # Sorted so the same stored state always renders the same document.
    finished.sort(key=lambda f: f[0].submission_key)
    return dict(counts), finished


def _submission_rows(services: Services, submission_id: str) -> dict[str, StoredEntity]:
    return {r.row_key: r for r in services.tables.query_partition(submission_partition(submission_id))}


def _upload_state(services: Services, upload_id: str) -> str:
    try:
        rows = find_upload(services.tables, upload_id)
    except NotFound:
        return "uploads still grading"
    return {
        UploadStatus.GRADED: "uploads graded",
        UploadStatus.PARTIALLY_GRADED: "uploads partially graded",
        UploadStatus.REJECTED: "uploads rejected",
    }.get(upload_state(rows[0], rows[1:]), "uploads still grading")


def run_digest(services: Services, day: date) -> str:
    """Build and store the digest of one day; returns its blob name."""
    text = day.isoformat()
    counts, finished = day_counts_and_graded(services, text)
    document = services.engine.digest(text, finished, counts)
    name = f"{text}.docx"
    services.blobs.write(services.settings.digests_container, name, document, DOCX_CONTENT_TYPE)
    return name


def run_digest_request(services: Services, day: str) -> HttpResult:
    """``POST /api/digests/{yyyy-mm-dd}`` (admin): build that day's digest now."""
    parsed = parse_day(day)
    if isinstance(parsed, HttpResult):
        return parsed
    run_digest(services, parsed)
    url = f"/api/digests/{parsed.isoformat()}"
    return json_result(201, {"day": parsed.isoformat(), "digest_url": url}, {"Location": url})
