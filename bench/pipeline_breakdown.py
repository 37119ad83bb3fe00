"""Where a submission's time goes: Table round trips, blob writes, messages, grading, rendering.

Runs the real handlers in this process against the local stack's Azurite, with every port wrapped
in a timer. The ingest's messages are collected instead of sent (the stack's graders would take
them) and handled here one by one, so the figures are one submission's work with nothing
overlapping; messages are counted, and the host log gives their cost per invocation.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from shared.ports import OutgoingMessage, Services

_T = TypeVar("_T")
# Not the container the stack's ingest trigger watches: this upload is ingested here only.
BREAKDOWN_CONTAINER = "bench-breakdown"


@dataclass
class Ledger:
    """Calls and seconds per category."""

    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def timed(self, category: str, call: Callable[[], _T]) -> _T:
        """Run ``call`` and book its time under ``category``."""
        start = time.perf_counter()
        try:
            return call()
        finally:
            self.calls[category] += 1
            self.seconds[category] += time.perf_counter() - start


class Timed:
    """Any port with each method booked under ``<prefix> <method>`` (reads and writes kept apart)."""

    def __init__(self, inner: object, prefix: str, ledger: Ledger, names: Mapping[str, str]) -> None:
        self._inner, self._prefix, self._ledger, self._names = inner, prefix, ledger, names

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        category = f"{self._prefix} {self._names.get(name, name)}"

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._ledger.timed(category, lambda: method(*args, **kwargs))

        return call


TABLE_CATEGORIES = {
    "get": "read",
    "query_partition": "read",
    "insert": "write",
    "upsert": "write",
    "replace": "write",
    "merge": "write",
    "delete": "write",
    "insert_all": "transaction",
    "upsert_all_and_merge": "transaction",
}


class _Collector:
    """A sender that keeps the messages for this process to handle."""

    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    def send(self, messages: Sequence[OutgoingMessage]) -> None:
        self.messages.extend(messages)


@dataclass(frozen=True)
class Breakdown:
    """Per-submission cost of ingest and grading, by category."""

    submissions: int
    messages: int
    rows: list[tuple[str, float, float]]  # category, calls per submission, ms per submission

    def text(self) -> str:
        """One line: messages per submission, then each category's calls and milliseconds."""
        parts = [f"{self.messages / self.submissions:.1f} messages"]
        parts += [f"{name} x{calls:.1f} {ms:.1f} ms" for name, calls, ms in self.rows]
        total = sum(ms for _, _, ms in self.rows)
        return f"per submission (in-process, {self.submissions} submissions, {total:.1f} ms): " + "; ".join(
            parts
        )


def measure(env: Mapping[str, str], workbook: bytes) -> Breakdown:
    """Ingest ``workbook`` and grade every submission in this process, booking each port's time."""
    from shared.adapters.blob_store import AzureBlobStore
    from shared.adapters.clients import SystemClock, blob_service, table_client
    from shared.adapters.core_engine import CoreEngine
    from shared.adapters.tables import AzureTableStore
    from shared.grading_flow import GradingWork, handle_grading_message
    from shared.ingest import ingest_blob
    from shared.settings import Settings

    settings = replace(Settings.from_env(env), answer_sheets_container=BREAKDOWN_CONTAINER)
    ledger = Ledger()
    blobs = AzureBlobStore(blob_service(settings.storage))
    sender = _Collector()
    engine = CoreEngine(settings)
    services = Services(
        tables=Timed(
            AzureTableStore(table_client(settings.storage, settings.table_prefix)),
            "table",
            ledger,
            TABLE_CATEGORIES,
        ),
        blobs=Timed(blobs, "blob", ledger, {}),
        sender=sender,
        engine=Timed(engine, "engine", ledger, {"finish": "finish (assess + render)"}),
        clock=SystemClock(),
        settings=settings,
    )
    # The SDKs log every request at INFO in this process; formatting those lines is not the pipeline's cost.
    logging.getLogger("azure").setLevel(logging.WARNING)
    name = f"breakdown-{time.time_ns()}.xlsx"
    blobs.write(BREAKDOWN_CONTAINER, name, workbook, "application/octet-stream")
    ledger.calls.clear()
    ledger.seconds.clear()
    ingest_blob(services, name)
    messages = list(sender.messages)
    for message in messages:
        handle_grading_message(services, GradingWork.from_json(message.body), {})
    count = len({GradingWork.from_json(m.body).submission_id for m in messages}) or 1
    rows = [
        (category, ledger.calls[category] / count, 1000 * ledger.seconds[category] / count)
        for category in sorted(ledger.seconds, key=lambda c: -ledger.seconds[c])
    ]
    return Breakdown(count, len(messages), rows)
