"""Where queue contents live: nowhere (in-memory mode) or a SQLite file synced before each acknowledgement."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class MessageRow:
    """A stored message as persisted: its original bytes plus the broker's bookkeeping."""

    entity: str
    seq: int
    raw: bytes
    enqueued_at: float
    expires_at: float
    scheduled_at: float | None
    delivery_count: int
    state: str
    dead_letter_reason: str | None
    dead_letter_description: str | None
    dead_letter_source: str | None


class Persistence(Protocol):
    """Durable storage of queue contents; ``commit`` returns once the changes are on disk."""

    def save(self, row: MessageRow) -> None:
        """Insert or replace one message."""

    def delete(self, entity: str, seq: int) -> None:
        """Forget one message."""

    def save_next_sequence(self, entity: str, next_seq: int) -> None:
        """Remember the next sequence number of an entity."""

    def commit(self) -> None:
        """Make every change so far durable."""

    def load(self, entity: str) -> tuple[list[MessageRow], int]:
        """An entity's messages in sequence order and its next sequence number."""


class MemoryPersistence:
    """Keeps nothing: for tests that do not restart the emulator."""

    def save(self, row: MessageRow) -> None:
        """Nothing to do in memory."""

    def delete(self, entity: str, seq: int) -> None:
        """Nothing to do in memory."""

    def save_next_sequence(self, entity: str, next_seq: int) -> None:
        """Nothing to do in memory."""

    def commit(self) -> None:
        """Nothing to do in memory."""

    def load(self, entity: str) -> tuple[list[MessageRow], int]:
        """Nothing survives a restart in memory."""
        return [], 1


_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    entity TEXT NOT NULL, seq INTEGER NOT NULL, raw BLOB NOT NULL, enqueued_at REAL NOT NULL,
    expires_at REAL NOT NULL, scheduled_at REAL, delivery_count INTEGER NOT NULL, state TEXT NOT NULL,
    dead_letter_reason TEXT, dead_letter_description TEXT, dead_letter_source TEXT,
    PRIMARY KEY (entity, seq));
CREATE TABLE IF NOT EXISTS sequences (entity TEXT PRIMARY KEY, next_seq INTEGER NOT NULL);
"""


class SqlitePersistence:
    """A SQLite database in WAL mode with synchronous=FULL, so a commit survives a crash."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._in_transaction = False

    def _begin(self) -> None:
        """Open a transaction on the first change after a commit."""
        if not self._in_transaction:
            self._db.execute("BEGIN")
            self._in_transaction = True

    def save(self, row: MessageRow) -> None:
        """Insert or replace one message."""
        self._begin()
        self._db.execute(
            "INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.entity,
                row.seq,
                row.raw,
                row.enqueued_at,
                row.expires_at,
                row.scheduled_at,
                row.delivery_count,
                row.state,
                row.dead_letter_reason,
                row.dead_letter_description,
                row.dead_letter_source,
            ),
        )

    def delete(self, entity: str, seq: int) -> None:
        """Forget one message."""
        self._begin()
        self._db.execute("DELETE FROM messages WHERE entity = ? AND seq = ?", (entity, seq))

    def save_next_sequence(self, entity: str, next_seq: int) -> None:
        """Remember the next sequence number of an entity."""
        self._begin()
        self._db.execute("INSERT OR REPLACE INTO sequences VALUES (?, ?)", (entity, next_seq))

    def commit(self) -> None:
        """Commit (and, with synchronous=FULL, fsync) every change so far."""
        if self._in_transaction:
            self._db.execute("COMMIT")
            self._in_transaction = False

    def load(self, entity: str) -> tuple[list[MessageRow], int]:
        """An entity's messages in sequence order and its next sequence number."""
        rows = [
            MessageRow(*row)
            for row in self._db.execute("SELECT * FROM messages WHERE entity = ? ORDER BY seq", (entity,))
        ]
        found = self._db.execute("SELECT next_seq FROM sequences WHERE entity = ?", (entity,)).fetchone()
        return rows, int(found[0]) if found else 1

    def close(self) -> None:
        """Commit and close the database."""
        self.commit()
        self._db.close()
