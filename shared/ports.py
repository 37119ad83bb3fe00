"""The small interfaces the pipeline handlers need; adapters implement them, tests pass fakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shared.bank import Section
from shared.settings import Settings
from shared.submission import ParseResult, Submission

if TYPE_CHECKING:
    # shared.attempts decodes StoredEntity from here; the engine's signature only names it.
    from shared.attempts import Attempt

# Table Storage property values the pipeline writes: no nested data, JSON goes in strings.
Value = str | int | float | bool


@dataclass(frozen=True, slots=True)
class StoredEntity:
    """One table entity as read back: its keys, properties and ETag."""

    partition_key: str
    row_key: str
    properties: Mapping[str, Value]
    etag: str


# Table Storage caps an entity group transaction at 100 operations.
MAX_TRANSACTION = 100


class TableStore(Protocol):
    """Entities keyed by (partition key, row key) with ETag-conditional writes."""

    def get(self, partition_key: str, row_key: str) -> StoredEntity:
        """The entity, or :class:`~shared.errors.NotFound`."""
        ...

    def query_partition(self, partition_key: str) -> list[StoredEntity]:
        """Every entity of one partition, in row-key order."""
        ...

    def insert(self, partition_key: str, row_key: str, properties: Mapping[str, Value]) -> str:
        """Create the entity and return its ETag; :class:`ConcurrencyConflict` if it exists."""
        ...

    def upsert(self, partition_key: str, row_key: str, properties: Mapping[str, Value]) -> str:
        """Create or replace the entity unconditionally and return its ETag."""
        ...

    def replace(self, partition_key: str, row_key: str, properties: Mapping[str, Value], etag: str) -> str:
        """Replace the entity only if its ETag still matches; :class:`ConcurrencyConflict` otherwise."""
        ...

    def merge(self, partition_key: str, row_key: str, properties: Mapping[str, Value], etag: str) -> str:
        """Update only these properties if the ETag still matches; :class:`ConcurrencyConflict` if not."""
        ...

    def insert_all(self, partition_key: str, rows: Sequence[tuple[str, Mapping[str, Value]]]) -> None:
        """Create up to 100 entities of one partition in one transaction.

        :class:`ConcurrencyConflict`, and nothing written, when any of them exists.
        """
        ...

    def upsert_all_and_merge(
        self,
        partition_key: str,
        rows: Sequence[tuple[str, Mapping[str, Value]]],
        row_key: str,
        properties: Mapping[str, Value],
        etag: str,
    ) -> str:
        """In one transaction: upsert ``rows`` and merge ``properties`` into ``row_key`` if its ETag
        still matches; returns that row's new ETag.

        :class:`ConcurrencyConflict`, and nothing written, when the ETag no longer matches.
        """
        ...

    def delete(self, partition_key: str, row_key: str) -> None:
        """Delete the entity; deleting a missing entity is not an error."""
        ...


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """What is known about a stored blob without downloading it."""

    size: int
    etag: str
    content_type: str


class BlobStore(Protocol):
    """Named blobs in containers."""

    def info(self, container: str, name: str) -> BlobInfo:
        """Size, ETag and content type, or :class:`~shared.errors.NotFound`."""
        ...

    def read(self, container: str, name: str) -> bytes:
        """The blob's bytes, or :class:`~shared.errors.NotFound`."""
        ...

    def write(self, container: str, name: str, data: bytes, content_type: str) -> BlobInfo:
        """Create or overwrite the blob."""
        ...


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message for the grading queue: deterministic id, correlation id and trace context."""

    message_id: str
    correlation_id: str
    body: str
    application_properties: Mapping[str, str] = field(default_factory=dict)


class MessageSender(Protocol):
    """Sends messages to the grading queue (in batches)."""

    def send(self, messages: Sequence[OutgoingMessage]) -> None:
        """Send every message; raises :class:`~shared.errors.ServiceError` on failure."""
        ...


class Clock(Protocol):
    """The current time, in UTC."""

    def now(self) -> datetime:
        """Now, timezone-aware UTC."""
        ...


@dataclass(frozen=True, slots=True)
class Scores:
    """What the API and the digest show of a graded submission."""

    percent: float
    verdict: str
    areas: Mapping[str, float]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready data."""
        return {"percent": self.percent, "verdict": self.verdict, "areas": dict(self.areas)}


@dataclass(frozen=True, slots=True)
class FinishedSubmission:
    """A rendered report, the scores it shows, and each topic's percentage (for the candidate index)."""

    report: bytes
    scores: Scores
    topics: Mapping[str, float] = field(default_factory=dict)


class GradingEngine(Protocol):
    """The core's parsing, grading and rendering, behind one seam so handlers stay testable."""

    def parse(self, data: bytes, source_name: str) -> ParseResult:
        """Parse and validate a workbook; raises :class:`~shared.errors.WorkbookRejected`."""
        ...

    def grade(self, submission: Submission, section: Section) -> str:
        """Grade one section and return its result as JSON (stored as-is)."""
        ...

    def finish(
        self, submission: Submission, section_results: Sequence[str], history: Sequence[Attempt] = ()
    ) -> FinishedSubmission:
        """Assemble the section results, assess readiness and render the report (with the trend
        over the candidate's earlier ``history``)."""
        ...

    def digest(
        self,
        day: str,
        finished: Sequence[tuple[Submission, Sequence[str]]],
        counts: Mapping[str, int],
        report_urls: Mapping[str, str] | None = None,
        earlier_verdicts: Mapping[str, str] | None = None,
    ) -> bytes:
        """Render the daily digest (.docx) of the day's graded submissions and upload counts."""
        ...

    def template(self) -> bytes:
        """The blank answer sheet (.xlsx)."""
        ...


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a pipeline handler talks to, passed in so tests can use fakes."""

    tables: TableStore
    blobs: BlobStore
    sender: MessageSender
    engine: GradingEngine
    clock: Clock
    settings: Settings
