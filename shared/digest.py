"""The daily digest: what happened to the previous UTC day's uploads and how the cohort did.

Written once per day to ``digests/<date>.docx``; a rerun rebuilds it from the same stored
state, so it replaces the blob with identical content. An empty day gives a short digest.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict

from shared.api_handlers import parse_day, report_url
from shared.attempts import previous_verdict
from shared.bank import Bank, ItemKind
from shared.errors import NotFound
from shared.grading import GradedSubmission, ItemStatus
from shared.grading_flow import DOCX_CONTENT_TYPE
from shared.http_results import HttpResult, json_result
from shared.moderation import overrides_of_day
from shared.ports import Services, StoredEntity
from shared.readiness import CohortStats, Readiness, Verdict, cohort_stats
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


class CandidateLine(BaseModel):
    """One candidate graded that day: score, verdict and where the report is."""

    model_config = _Frozen
    name: str
    overall: float
    verdict: str
    report_url: str


class ItemLine(BaseModel):
    """One item as the digest lists it: its question, how it did, and the most common wrong answer."""

    model_config = _Frozen
    number: int
    question: str
    topic: str
    difficulty: float
    discrimination: float
    common_wrong: str  # "" when no wrong answer was given twice (open answers differ every time)
    common_wrong_count: int
    answered: int


class MoveUp(BaseModel):
    """A candidate whose verdict moved up a band since their previous attempt."""

    model_config = _Frozen
    name: str
    before: str
    now: str


class DigestModel(BaseModel):
    """Everything the digest document shows."""

    model_config = _Frozen
    day: str
    counts: tuple[tuple[str, int], ...]
    stats: CohortStats | None
    needs_help: tuple[HelpEntry, ...]
    candidates: tuple[CandidateLine, ...] = ()
    items: tuple[ItemLine, ...] = ()  # weakest first
    moved_up: tuple[MoveUp, ...] = ()

    @property
    def empty(self) -> bool:
        """No upload arrived that day."""
        return all(n == 0 for _, n in self.counts)


COUNT_KEYS = (
    "uploads received",
    "uploads graded",
    "uploads partially graded",
    "uploads rejected",
    "uploads failed",
    "uploads still grading",
    "submissions graded",
    "submissions failed",
    "submissions still grading",
    "items overridden by reviewers",
)


def _item_lines(stats: CohortStats, graded: Sequence[GradedSubmission], bank: Bank) -> tuple[ItemLine, ...]:
    """Items by their question text, weakest first (fewest fully right, then least discriminating)."""
    numbers = {item.id: index for index, item in enumerate(bank.items, start=1)}
    items = {item.id: item for item in bank.items}
    topics = {topic.id: topic.name for topic in bank.topics}
    wrong: dict[str, Counter[str]] = {}
    for submission in graded:
        for r in submission.items:
            if r.status is not ItemStatus.CORRECT and r.answer_text and r.kind is not ItemKind.OPEN_ANSWER:
                wrong.setdefault(r.item_id, Counter())[r.answer_text] += 1
    lines = []
    for stat in sorted(stats.items, key=lambda i: (i.difficulty, i.discrimination, numbers[i.item_id])):
        common = wrong.get(stat.item_id, Counter()).most_common(1)
        text, count = common[0] if common and common[0][1] > 1 else ("", 0)
        lines.append(
            ItemLine(
                number=numbers[stat.item_id],
                question=items[stat.item_id].prompt,
                topic=topics.get(stat.topic, stat.topic),
                difficulty=stat.difficulty,
                discrimination=stat.discrimination,
                common_wrong=text,
                common_wrong_count=count,
                answered=stats.count,
            )
        )
    return tuple(lines)


def build_digest(
    day: str,
    counts: Mapping[str, int],
    graded: Sequence[GradedSubmission],
    assessments: Sequence[Readiness],
    bank: Bank,
    report_urls: Mapping[str, str] | None = None,
    earlier_verdicts: Mapping[str, str] | None = None,
) -> DigestModel:
    """The digest of one day from its counts and its graded, assessed submissions.

    ``report_urls`` maps a submission key to its report's API path, ``earlier_verdicts`` to the
    verdict of the candidate's previous attempt, where known.
    """
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
    urls = report_urls or {}
    sorted_assessments = sorted(
        assessments, key=lambda a: (names[a.submission_key].casefold(), a.submission_key)
    )
    candidates = tuple(
        CandidateLine(
            name=names[a.submission_key],
            overall=a.overall,
            verdict=a.verdict.value,
            report_url=urls.get(a.submission_key, ""),
        )
        for a in sorted_assessments
    )
    rank = {verdict.value: n for n, verdict in enumerate(reversed(Verdict))}
    earlier = earlier_verdicts or {}
    moved_up = tuple(
        MoveUp(name=c.name, before=earlier[a.submission_key], now=c.verdict)
        for a, c in zip(sorted_assessments, candidates, strict=True)
        if a.submission_key in earlier and rank[c.verdict] > rank.get(earlier[a.submission_key], len(rank))
    )
    return DigestModel(
        day=day,
        counts=tuple((k, int(counts.get(k, 0))) for k in COUNT_KEYS),
        stats=stats,
        needs_help=help_entries,
        candidates=candidates,
        items=_item_lines(stats, graded, bank) if stats is not None else (),
        moved_up=moved_up,
    )


def previous_day(services: Services) -> date:
    """The UTC day before now: the day a scheduled digest covers."""
    return services.clock.now().date() - timedelta(days=1)


def day_counts_and_graded(
    services: Services, day: str
) -> tuple[dict[str, int], list[tuple[Submission, Sequence[str]]], dict[str, str]]:
    """The day's upload and submission counts, each graded submission's answers and results, and
    its submission id by submission key."""
    counts: Counter[str] = Counter(dict.fromkeys(COUNT_KEYS, 0))
    rows = services.tables.query_partition(day_partition(day))
    uploads = [r.row_key.removeprefix("upload|") for r in rows if r.row_key.startswith("upload|")]
    submissions = [r.row_key.removeprefix("sub|") for r in rows if r.row_key.startswith("sub|")]
    # One partition query per submission (its record and its results), overlapped: they are round trips.
    with ThreadPoolExecutor(max_workers=_READERS) as pool:
        upload_states = list(pool.map(lambda u: _upload_state(services, u), uploads))
        partitions = list(pool.map(lambda s: _submission_rows(services, s), submissions))
    counts["uploads received"] += len(uploads)
    counts["items overridden by reviewers"] += overrides_of_day(rows)
    counts.update(upload_states)
    finished: list[tuple[Submission, Sequence[str]]] = []
    ids: dict[str, str] = {}
    for record, partition in _one_per_candidate(partitions):
        if record.status is SubmissionStatus.GRADED:
            counts["submissions graded"] += 1
            results = [unchunked("result", partition[result_row(s)].properties) for s in record.sections]
            submission = Submission.model_validate_json(record.payload)
            finished.append((submission, results))
            ids[submission.submission_key] = record.submission_id
        elif record.status is SubmissionStatus.FAILED:
            counts["submissions failed"] += 1
        else:
            counts["submissions still grading"] += 1
    # Sorted so the same stored state always renders the same document.
    finished.sort(key=lambda f: f[0].submission_key)
    return dict(counts), finished, ids


# A graded copy stands for its candidate before one still grading, and that before a failed one.
_PREFERENCE = {SubmissionStatus.GRADED: 0, SubmissionStatus.GRADING: 1, SubmissionStatus.FAILED: 2}


def _one_per_candidate(
    partitions: Sequence[Mapping[str, StoredEntity]],
) -> list[tuple[SubmissionRecord, Mapping[str, StoredEntity]]]:
    """One submission per submission key: identical bytes uploaded twice are one candidate, counted once.

    Each upload of the same file is graded on its own (its own ids and report); the day's counts and
    cohort statistics take the best-finished copy, the lowest id among equals, so reruns agree.
    """
    chosen: dict[str, tuple[SubmissionRecord, Mapping[str, StoredEntity]]] = {}
    for partition in partitions:
        if SUBMISSION_ROW not in partition:
            continue
        record = SubmissionRecord.from_entity(partition[SUBMISSION_ROW])
        key = str(json.loads(record.payload).get("submission_key", record.submission_id))
        held = chosen.get(key)
        if held is None or (_PREFERENCE[record.status], record.submission_id) < (
            _PREFERENCE[held[0].status],
            held[0].submission_id,
        ):
            chosen[key] = (record, partition)
    return list(chosen.values())


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
        UploadStatus.FAILED: "uploads failed",
    }.get(upload_state(rows[0], rows[1:]), "uploads still grading")


def run_digest(services: Services, day: date) -> str:
    """Build and store the digest of one day; returns its blob name."""
    text = day.isoformat()
    counts, finished, ids = day_counts_and_graded(services, text)
    urls = {key: report_url(submission_id) for key, submission_id in ids.items()}
    with ThreadPoolExecutor(max_workers=_READERS) as pool:
        before = dict(
            zip(ids, pool.map(lambda key: previous_verdict(services.tables, ids[key]), ids), strict=True)
        )
    earlier = {key: verdict for key, verdict in before.items() if verdict}
    document = services.engine.digest(text, finished, counts, urls, earlier)
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
