"""Queue semantics (locks, delivery counts, dead-lettering, deferral, scheduling, TTL, duplicates).

Pure state: no sockets and no clock of its own, so every rule is decided from the ``now`` it is given.
"""

from __future__ import annotations

import heapq
import uuid
from dataclasses import dataclass, field
from typing import Any

from devstack.servicebus_emulator.amqp_codec import (
    ParsedMessage,
    build_message,
    encode_int,
    encode_long,
    encode_string,
    encode_timestamp,
    encode_uuid,
    parse_message,
)
from devstack.servicebus_emulator.config import QueueConfig
from devstack.servicebus_emulator.persistence import MessageRow, Persistence

ACTIVE = "active"
SCHEDULED = "scheduled"
DEFERRED = "deferred"
DEAD_LETTER_SUFFIX = "/$deadletterqueue"


@dataclass
class StoredMessage:
    """A message in an entity, with the broker's bookkeeping."""

    seq: int
    parsed: ParsedMessage
    enqueued_at: float
    expires_at: float
    scheduled_at: float | None = None
    delivery_count: int = 0
    state: str = ACTIVE
    dead_letter_reason: str | None = None
    dead_letter_description: str | None = None
    dead_letter_source: str | None = None
    lock_token: uuid.UUID | None = None
    locked_until: float = 0.0
    lock_owner: Any = field(default=None, repr=False)


class Settlement:
    """The settlements a receiver can ask for."""

    COMPLETE = "complete"
    ABANDON = "abandon"
    DEFER = "defer"
    DEAD_LETTER = "dead-letter"
    RELEASE = "release"


class Entity:
    """A queue or its dead-letter sub-queue."""

    def __init__(self, path: str, config: QueueConfig, store: Persistence, *, is_dead_letter: bool) -> None:
        self.path = path
        self.config = config
        self.store = store
        self.is_dead_letter = is_dead_letter
        self.dead_letter_target: Entity | None = None
        self.messages: dict[int, StoredMessage] = {}
        self._ready: list[int] = []
        self._scheduled: list[tuple[float, int]] = []
        self._expiring: list[tuple[float, int]] = []
        self._lock_expiries: list[tuple[float, uuid.UUID]] = []
        self.locks: dict[uuid.UUID, StoredMessage] = {}
        self._recent_ids: dict[str, float] = {}
        rows, self._next_seq = store.load(path)
        for row in rows:
            self._restore(row)

    # -- storage -------------------------------------------------------------------------------

    def _row(self, msg: StoredMessage) -> MessageRow:
        """The persisted form of a message."""
        return MessageRow(
            self.path,
            msg.seq,
            msg.parsed.raw,
            msg.enqueued_at,
            msg.expires_at,
            msg.scheduled_at,
            msg.delivery_count,
            msg.state,
            msg.dead_letter_reason,
            msg.dead_letter_description,
            msg.dead_letter_source,
        )

    def _restore(self, row: MessageRow) -> None:
        """Bring a persisted message back after a restart (locks do not survive one)."""
        msg = StoredMessage(
            seq=row.seq,
            parsed=parse_message(row.raw),
            enqueued_at=row.enqueued_at,
            expires_at=row.expires_at,
            scheduled_at=row.scheduled_at,
            delivery_count=row.delivery_count,
            state=row.state,
            dead_letter_reason=row.dead_letter_reason,
            dead_letter_description=row.dead_letter_description,
            dead_letter_source=row.dead_letter_source,
        )
        self._index(msg)
        if msg.parsed.message_id is not None:
            self._recent_ids[msg.parsed.message_id] = msg.enqueued_at

    def _index(self, msg: StoredMessage) -> None:
        """Make a message findable according to its state."""
        self.messages[msg.seq] = msg
        heapq.heappush(self._expiring, (msg.expires_at, msg.seq))
        if msg.state == SCHEDULED and msg.scheduled_at is not None:
            heapq.heappush(self._scheduled, (msg.scheduled_at, msg.seq))
        elif msg.state == ACTIVE:
            heapq.heappush(self._ready, msg.seq)

    def _remove(self, msg: StoredMessage) -> None:
        """Delete a message for good (completed, received-and-deleted, expired, moved)."""
        self.messages.pop(msg.seq, None)
        if msg.lock_token is not None:
            self.locks.pop(msg.lock_token, None)
            msg.lock_token = None
        self.store.delete(self.path, msg.seq)

    # -- sending -------------------------------------------------------------------------------

    def enqueue(self, parsed: ParsedMessage, now: float, *, dead_letter: StoredMessage | None = None) -> int:
        """Store a message and return its sequence number (0 when dropped as a duplicate)."""
        if self.config.requires_duplicate_detection and parsed.message_id is not None and dead_letter is None:
            seen = self._recent_ids.get(parsed.message_id)
            if seen is not None and now - seen < self.config.duplicate_detection_window:
                return 0
            self._recent_ids[parsed.message_id] = now
        ttl = self.config.default_ttl
        if parsed.ttl_ms is not None and dead_letter is None:
            ttl = min(ttl, parsed.ttl_ms / 1000)
        scheduled = parsed.scheduled_enqueue_ms
        msg = StoredMessage(
            seq=self._next_seq,
            parsed=parsed,
            enqueued_at=now,
            # Dead-lettered messages never expire, as in Azure.
            expires_at=float("inf") if dead_letter is not None else now + ttl,
        )
        if dead_letter is not None:
            msg.delivery_count = dead_letter.delivery_count
            msg.dead_letter_reason = dead_letter.dead_letter_reason
            msg.dead_letter_description = dead_letter.dead_letter_description
            msg.dead_letter_source = dead_letter.dead_letter_source
        elif scheduled is not None and scheduled / 1000 > now:
            msg.state = SCHEDULED
            msg.scheduled_at = scheduled / 1000
        self._next_seq += 1
        self._index(msg)
        self.store.save(self._row(msg))
        self.store.save_next_sequence(self.path, self._next_seq)
        return msg.seq

    def cancel_scheduled(self, seqs: list[int]) -> None:
        """Remove scheduled messages that have not been enqueued yet."""
        for seq in seqs:
            msg = self.messages.get(seq)
            if msg is not None and msg.state == SCHEDULED:
                self._remove(msg)

    # -- receiving -----------------------------------------------------------------------------

    def take(self, now: float, owner: Any, *, peek_lock: bool) -> StoredMessage | None:
        """The next available message, locked for ``owner`` (or removed in receive-and-delete mode)."""
        while self._ready:
            seq = heapq.heappop(self._ready)
            msg = self.messages.get(seq)
            if msg is None or msg.state != ACTIVE or msg.lock_token is not None:
                continue
            if msg.expires_at <= now:
                self._expire(msg, now)
                continue
            self._deliver(msg, now, owner, peek_lock=peek_lock)
            return msg
        return None

    def _deliver(self, msg: StoredMessage, now: float, owner: Any, *, peek_lock: bool) -> None:
        """Lock a message for a receiver and count the delivery."""
        msg.delivery_count += 1
        if peek_lock:
            msg.lock_token = uuid.uuid4()
            msg.locked_until = now + self.config.lock_duration
            msg.lock_owner = owner
            self.locks[msg.lock_token] = msg
            heapq.heappush(self._lock_expiries, (msg.locked_until, msg.lock_token))
        else:
            self._remove(msg)

    def deferred_available(self, seqs: list[int]) -> bool:
        """True when every sequence number names a deferred message that is not locked."""
        return all(
            (msg := self.messages.get(seq)) is not None and msg.state == DEFERRED and msg.lock_token is None
            for seq in seqs
        )

    def receive_deferred(
        self, seqs: list[int], now: float, owner: Any, *, peek_lock: bool
    ) -> list[StoredMessage]:
        """Lock (or remove) deferred messages by sequence number."""
        found = []
        for seq in seqs:
            msg = self.messages.get(seq)
            if msg is None or msg.state != DEFERRED or msg.lock_token is not None:
                continue
            self._deliver(msg, now, owner, peek_lock=peek_lock)
            found.append(msg)
        return found

    def peek(self, from_seq: int, count: int, now: float) -> list[StoredMessage]:
        """Up to ``count`` messages from ``from_seq`` on, without locking them."""
        result = []
        for seq in sorted(s for s in self.messages if s >= from_seq):
            msg = self.messages[seq]
            if msg.expires_at <= now and msg.lock_token is None:
                continue
            result.append(msg)
            if len(result) >= count:
                break
        return result

    def delivered_bytes(self, msg: StoredMessage, *, peeked: bool = False) -> bytes:
        """The message as a receiver sees it, with the annotations the SDK reads."""
        annotations = {
            "x-opt-sequence-number": encode_long(msg.seq),
            "x-opt-enqueued-time": encode_timestamp(msg.enqueued_at),
        }
        if msg.lock_token is not None and not peeked:
            annotations["x-opt-locked-until"] = encode_timestamp(msg.locked_until)
            annotations["x-opt-lock-token"] = encode_uuid(msg.lock_token)
        if msg.dead_letter_source is not None:
            annotations["x-opt-deadletter-source"] = encode_string(msg.dead_letter_source)
        if msg.state == DEFERRED:
            annotations["x-opt-message-state"] = encode_int(1)
        extra = None
        if msg.dead_letter_reason is not None or msg.dead_letter_description is not None:
            extra = {
                "DeadLetterReason": msg.dead_letter_reason or "",
                "DeadLetterErrorDescription": msg.dead_letter_description or "",
            }
        # The header's delivery-count is the number of earlier deliveries (0 the first time); a message
        # being delivered has already counted this delivery, a peeked one has not.
        earlier = msg.delivery_count if peeked else msg.delivery_count - 1
        ttl = self.config.default_ttl * 1000
        if msg.parsed.ttl_ms is not None:
            ttl = min(ttl, msg.parsed.ttl_ms)
        return build_message(
            msg.parsed,
            delivery_count=max(earlier, 0),
            broker_annotations=annotations,
            extra_application_properties=extra,
            ttl_ms=int(ttl) if ttl != float("inf") else None,
        )

    # -- settling ------------------------------------------------------------------------------

    def lock_is_held(self, token: uuid.UUID, now: float) -> bool:
        """True while ``token`` still locks a message."""
        msg = self.locks.get(token)
        return msg is not None and msg.locked_until > now

    def settle(
        self,
        token: uuid.UUID,
        outcome: str,
        now: float,
        *,
        reason: str | None = None,
        description: str | None = None,
    ) -> bool:
        """Apply a settlement; False when the lock was lost (expired or unknown)."""
        if not self.lock_is_held(token, now):
            return False
        msg = self.locks.pop(token)
        msg.lock_token = None
        msg.lock_owner = None
        if outcome == Settlement.COMPLETE:
            self._remove(msg)
        elif outcome == Settlement.DEAD_LETTER:
            self.dead_letter(msg, reason, description, now)
        elif outcome == Settlement.DEFER:
            msg.state = DEFERRED
            self.store.save(self._row(msg))
        elif outcome == Settlement.RELEASE:
            # Released deliveries were never processed, so they do not count as attempts.
            msg.delivery_count -= 1
            if msg.state == ACTIVE:
                heapq.heappush(self._ready, msg.seq)
        else:
            self._unlock_failed(msg, now)
        return True

    def _unlock_failed(self, msg: StoredMessage, now: float) -> None:
        """A failed attempt (abandon or lock expiry): make it available again or dead-letter it."""
        if msg.delivery_count >= self.config.max_delivery_count and not self.is_dead_letter:
            self.dead_letter(
                msg,
                "MaxDeliveryCountExceeded",
                f"Message could not be consumed after {self.config.max_delivery_count} delivery attempts.",
                now,
            )
            return
        if msg.state == DEFERRED:
            self.store.save(self._row(msg))
            return
        self.store.save(self._row(msg))
        heapq.heappush(self._ready, msg.seq)

    def renew(self, token: uuid.UUID, now: float) -> float | None:
        """Extend a held lock by the lock duration; the new expiry, or None if the lock was lost."""
        if not self.lock_is_held(token, now):
            return None
        msg = self.locks[token]
        msg.locked_until = now + self.config.lock_duration
        heapq.heappush(self._lock_expiries, (msg.locked_until, token))
        return msg.locked_until

    def dead_letter(
        self, msg: StoredMessage, reason: str | None, description: str | None, now: float
    ) -> None:
        """Move a message to the dead-letter target with its reason."""
        self._remove(msg)
        if self.dead_letter_target is None:
            return
        msg.dead_letter_reason = reason
        msg.dead_letter_description = description
        msg.dead_letter_source = self.config.name
        self.dead_letter_target.enqueue(msg.parsed, now, dead_letter=msg)

    def _expire(self, msg: StoredMessage, now: float) -> None:
        """A message outlived its time to live."""
        if self.config.dead_letter_on_expiration and not self.is_dead_letter:
            self.dead_letter(msg, "TTLExpiredException", "The message expired and was dead lettered.", now)
        else:
            self._remove(msg)

    def tick(self, now: float) -> bool:
        """Expire locks and messages and enqueue due scheduled messages; True if anything changed."""
        changed = False
        while self._lock_expiries and self._lock_expiries[0][0] <= now:
            _, token = heapq.heappop(self._lock_expiries)
            msg = self.locks.get(token)
            if msg is None or msg.locked_until > now:
                continue
            del self.locks[token]
            msg.lock_token = None
            msg.lock_owner = None
            self._unlock_failed(msg, now)
            changed = True
        while self._scheduled and self._scheduled[0][0] <= now:
            _, seq = heapq.heappop(self._scheduled)
            msg = self.messages.get(seq)
            if msg is not None and msg.state == SCHEDULED:
                msg.state = ACTIVE
                msg.enqueued_at = now
                self.store.save(self._row(msg))
                heapq.heappush(self._ready, seq)
                changed = True
        while self._expiring and self._expiring[0][0] <= now:
            _, seq = heapq.heappop(self._expiring)
            msg = self.messages.get(seq)
            if (
                msg is not None
                and msg.expires_at <= now
                and msg.lock_token is None
                and msg.state != SCHEDULED
            ):
                self._expire(msg, now)
                changed = True
        return changed

    def has_ready(self) -> bool:
        """True when a receiver could be given a message now (may include stale heap entries)."""
        return bool(self._ready)
