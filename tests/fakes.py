"""In-memory fakes of the pipeline's ports (shared/ports.py) for unit tests."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared.attempts import Attempt
from shared.bank import ItemKind, Section
from shared.errors import ConcurrencyConflict, NotFound, WorkbookRejected
from shared.grading import ItemResult, ItemStatus, SectionResult
from shared.ports import (
    BlobInfo,
    FinishedSubmission,
    OutgoingMessage,
    Scores,
    Services,
    StoredEntity,
    Value,
)
from shared.settings import Settings
from shared.submission import Candidate, ParseResult, SheetFormat, Submission, submission_key

_etags = itertools.count(1)


class FakeTables:
    """A thread-safe table with real ETag semantics; ``before_write`` lets a test inject a race.

    The hook runs once, before the next conditional or batch write (a replace, a merge, an insert_all);
    ``partition_queries`` counts partition queries.
    """

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], StoredEntity] = {}
        self.lock = threading.Lock()
        self.before_write: Callable[[str], None] | None = None
        self.partition_queries = 0

    def _store(self, pk: str, rk: str, props: Mapping[str, Value]) -> str:
        etag = f'W/"{next(_etags)}"'
        self.rows[(pk, rk)] = StoredEntity(pk, rk, dict(props), etag)
        return etag

    def get(self, partition_key: str, row_key: str) -> StoredEntity:
        with self.lock:
            try:
                return self.rows[(partition_key, row_key)]
            except KeyError:
                raise NotFound(f"{partition_key}/{row_key}") from None

    def query_partition(self, partition_key: str) -> list[StoredEntity]:
        with self.lock:
            self.partition_queries += 1
            return sorted(
                (e for (pk, _), e in self.rows.items() if pk == partition_key), key=lambda e: e.row_key
            )

    def insert(self, partition_key: str, row_key: str, properties: Mapping[str, Value]) -> str:
        with self.lock:
            if (partition_key, row_key) in self.rows:
                raise ConcurrencyConflict(f"{partition_key}/{row_key} exists")
            return self._store(partition_key, row_key, properties)

    def upsert(self, partition_key: str, row_key: str, properties: Mapping[str, Value]) -> str:
        with self.lock:
            return self._store(partition_key, row_key, properties)

    def _hook(self, partition_key: str) -> None:
        if self.before_write is not None:
            hook, self.before_write = self.before_write, None
            hook(partition_key)

    def _current(self, partition_key: str, row_key: str, etag: str) -> StoredEntity:
        current = self.rows.get((partition_key, row_key))
        if current is None or current.etag != etag:
            raise ConcurrencyConflict(f"{partition_key}/{row_key} changed")
        return current

    def replace(self, partition_key: str, row_key: str, properties: Mapping[str, Value], etag: str) -> str:
        self._hook(partition_key)
        with self.lock:
            self._current(partition_key, row_key, etag)
            return self._store(partition_key, row_key, properties)

    def merge(self, partition_key: str, row_key: str, properties: Mapping[str, Value], etag: str) -> str:
        self._hook(partition_key)
        with self.lock:
            current = self._current(partition_key, row_key, etag)
            return self._store(partition_key, row_key, {**current.properties, **properties})

    def insert_all(self, partition_key: str, rows: Sequence[tuple[str, Mapping[str, Value]]]) -> None:
        self._hook(partition_key)
        assert len(rows) <= 100, "Table Storage refuses transactions of more than 100 operations"
        assert len({row for row, _ in rows}) == len(rows), "a transaction may not touch one row twice"
        with self.lock:
            if any((partition_key, row) in self.rows for row, _ in rows):
                raise ConcurrencyConflict(f"a row of {partition_key} exists")
            for row, props in rows:
                self._store(partition_key, row, props)

    def upsert_all_and_merge(
        self,
        partition_key: str,
        rows: Sequence[tuple[str, Mapping[str, Value]]],
        row_key: str,
        properties: Mapping[str, Value],
        etag: str,
    ) -> str:
        self._hook(partition_key)
        assert len(rows) + 1 <= 100, "Table Storage refuses transactions of more than 100 operations"
        keys = [row for row, _ in rows] + [row_key]
        assert len(set(keys)) == len(keys), "a transaction may not touch one row twice"
        with self.lock:
            stored = self._current(partition_key, row_key, etag)
            for row, props in rows:
                self._store(partition_key, row, props)
            return self._store(partition_key, row_key, {**stored.properties, **properties})

    def delete(self, partition_key: str, row_key: str) -> None:
        with self.lock:
            self.rows.pop((partition_key, row_key), None)


class FakeBlobs:
    """Blobs in a dict; ETags change on every write; ``after_write`` lets a test inject a race."""

    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], tuple[bytes, str, str]] = {}
        self.writes: list[tuple[str, str]] = []
        self.fail_writes = False
        self.after_write: Callable[[str, str], None] | None = None

    def info(self, container: str, name: str) -> BlobInfo:
        try:
            data, etag, content_type = self.blobs[(container, name)]
        except KeyError:
            raise NotFound(f"{container}/{name}") from None
        return BlobInfo(len(data), etag, content_type)

    def read(self, container: str, name: str) -> bytes:
        try:
            return self.blobs[(container, name)][0]
        except KeyError:
            raise NotFound(f"{container}/{name}") from None

    def write(self, container: str, name: str, data: bytes, content_type: str) -> BlobInfo:
        if self.fail_writes:
            raise RuntimeError(f"worker killed while writing {container}/{name}")
        etag = f'"0x{next(_etags):X}"'
        self.blobs[(container, name)] = (data, etag, content_type)
        self.writes.append((container, name))
        if self.after_write is not None:
            hook, self.after_write = self.after_write, None
            hook(container, name)
        return BlobInfo(len(data), etag, content_type)


class FakeSender:
    """Collects sent messages; like the broker, drops a message id it has already seen."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self.batches = 0
        self.fail_next: Exception | None = None

    def send(self, messages: Sequence[OutgoingMessage]) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        seen = {m.message_id for m in self.sent}
        self.batches += 1
        self.sent.extend(m for m in messages if m.message_id not in seen)

    def take(self) -> list[OutgoingMessage]:
        """Every queued message, removing them (as a receiver would)."""
        taken, self.sent = self.sent, []
        return taken


FAKE_ITEM_MAX = 7.0


def fake_item_id(section: Section) -> str:
    """The id of the fake engine's one item per section (routed to review in ``review_sections``)."""
    return f"fake-{section.value.replace('_', '-')}"


@dataclass
class FakeEngine:
    """Parses by lookup, grades one item per section, and renders a report naming the points."""

    parsed: dict[bytes, ParseResult | WorkbookRejected] = field(default_factory=dict)
    failing_sections: set[Section] = field(default_factory=set)
    review_sections: set[Section] = field(default_factory=set)
    grade_calls: list[tuple[str, Section]] = field(default_factory=list)
    finish_calls: list[str] = field(default_factory=list)
    histories: list[tuple[Attempt, ...]] = field(default_factory=list)
    digest_links: list[tuple[dict[str, str], dict[str, str]]] = field(default_factory=list)
    digests: list[tuple[str, list[str], dict[str, int]]] = field(default_factory=list)

    def parse(self, data: bytes, source_name: str) -> ParseResult:
        outcome = self.parsed[data]
        if isinstance(outcome, WorkbookRejected):
            raise outcome
        return outcome

    def grade(self, submission: Submission, section: Section) -> str:
        if section in self.failing_sections:
            raise RuntimeError(f"section {section} cannot be graded")
        self.grade_calls.append((submission.submission_key, section))
        points = float(sum(len(a.text) for a in submission.answers) % 7)
        item = ItemResult(
            item_id=fake_item_id(section),
            topic="fake-topic",
            section=section,
            kind=ItemKind.SHORT_ANSWER,
            points=points,
            max_points=FAKE_ITEM_MAX,
            status=ItemStatus.PARTIAL if points else ItemStatus.WRONG,
            feedback="graded by the fake engine",
            needs_review=section in self.review_sections,
            review_reason="the fake grader was unsure" if section in self.review_sections else "",
            key_text="the key",
        )
        result = SectionResult(
            bank_id="fake-bank",
            bank_version="1",
            submission_key=submission.submission_key,
            section=section,
            items=(item,),
        )
        return result.model_dump_json()

    def finish(
        self, submission: Submission, section_results: Sequence[str], history: Sequence[Attempt] = ()
    ) -> FinishedSubmission:
        self.finish_calls.append(submission.submission_key)
        self.histories.append(tuple(history))
        items = [i for r in section_results for i in SectionResult.model_validate_json(r).items]
        points = round(sum(i.points for i in items), 2)
        provisional = " (provisional)" if any(i.needs_review for i in items) else ""
        report = f"report for {submission.candidate.name}: {points:g} points{provisional}".encode()
        return FinishedSubmission(
            report, Scores(points, "Not yet", {"python": points}), {"Python core": points}
        )

    def digest(
        self,
        day: str,
        finished: Sequence[tuple[Submission, Sequence[str]]],
        counts: Mapping[str, int],
        report_urls: Mapping[str, str] | None = None,
        earlier_verdicts: Mapping[str, str] | None = None,
    ) -> bytes:
        names = sorted(s.candidate.name for s, _ in finished)
        self.digests.append((day, names, dict(counts)))
        self.digest_links.append((dict(report_urls or {}), dict(earlier_verdicts or {})))
        return json.dumps({"day": day, "names": names, "counts": dict(counts)}, sort_keys=True).encode()

    def template(self) -> bytes:
        return b"PK\x03\x04template"


class FakeClock:
    """A clock that only moves when told."""

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.current += timedelta(**delta)


SETTINGS = Settings.from_env(
    {"READYCHECK_STORAGE": "UseDevelopmentStorage=true", "READYCHECK_SERVICEBUS": "Endpoint=sb://localhost"}
)


@dataclass
class World:
    """Fakes wired together, plus helpers to stage workbooks."""

    tables: FakeTables = field(default_factory=FakeTables)
    blobs: FakeBlobs = field(default_factory=FakeBlobs)
    sender: FakeSender = field(default_factory=FakeSender)
    engine: FakeEngine = field(default_factory=FakeEngine)
    clock: FakeClock = field(default_factory=FakeClock)
    settings: Settings = SETTINGS

    @property
    def services(self) -> Services:
        """The handlers' view of this world."""
        return Services(self.tables, self.blobs, self.sender, self.engine, self.clock, self.settings)

    def stage(self, blob_name: str, *candidates: str, data: bytes | None = None) -> bytes:
        """Put a workbook whose parse yields one submission per candidate name."""
        content = data or b"PK\x03\x04" + f"workbook {blob_name} {candidates}".encode()
        digest = str(hash(content))
        self.engine.parsed[content] = ParseResult(
            source_format=SheetFormat.TEMPLATE,
            submissions=tuple(submission_for(name, digest) for name in candidates),
        )
        self.blobs.write(
            self.settings.answer_sheets_container, blob_name, content, "application/octet-stream"
        )
        return content


def submission_for(name: str, digest: str = "d") -> Submission:
    """A parsed submission of one candidate (email derived from the name)."""
    email = f"{name.lower().replace(' ', '.')}@example.com"
    return Submission(
        submission_key=submission_key(digest, email),
        candidate=Candidate(name=name, email=email),
        source_format=SheetFormat.TEMPLATE,
    )


def drain(world: World) -> list[str]:
    """Deliver every queued grading message (and those they cause) like a single-threaded broker."""
    from shared.grading_flow import GradingWork, handle_grading_message

    outcomes: list[str] = []
    while messages := world.sender.take():
        for message in messages:
            work = GradingWork.from_json(message.body)
            outcomes.append(handle_grading_message(world.services, work, message.application_properties))
    return outcomes
