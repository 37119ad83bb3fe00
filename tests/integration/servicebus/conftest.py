"""An emulator with one queue per test, so tests never see each other's messages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.servicebus import ServiceBusClient

from tests.fixtures.servicebus import RunningEmulator, StartEmulator

FAST_LOCK = {"LockDuration": "PT0.5S", "MaxDeliveryCount": 10}
SHORT_TTL = "PT0.5S"
QUEUES: dict[str, dict[str, Any]] = {
    "roundtrip": {},
    "batch": {},
    "receive-and-delete": {},
    "complete": {},
    "abandon": {},
    "dead-letter": {},
    "defer": {},
    "peek": {},
    "renew": {"LockDuration": "PT2S"},
    "lock-expiry": FAST_LOCK,
    "lock-lost": FAST_LOCK,
    "max-delivery": {"MaxDeliveryCount": 2},
    "ttl-dead-letter": {"DefaultMessageTimeToLive": "PT1S", "DeadLetteringOnMessageExpiration": True},
    "ttl-message": {},
    "ttl-drop": {"DefaultMessageTimeToLive": "PT1S", "DeadLetteringOnMessageExpiration": False},
    "dedup": {"RequiresDuplicateDetection": True, "DuplicateDetectionHistoryTimeWindow": "PT1M"},
    "no-dedup": {"RequiresDuplicateDetection": False},
    "scheduled": {},
    "cancel-scheduled": {},
    "Mixed-Case": {},
    "forward-source": {"MaxDeliveryCount": 1, "ForwardDeadLetteredMessagesTo": "forward-target"},
    "forward-target": {},
    "prefetch": {},
    "competing": {"LockDuration": "PT1M"},
    "async-roundtrip": {},
    "async-settle": {},
    "async-schedule": {},
    "docs-send-receive": {},
    "docs-dead-letter": {},
    "docs-schedule": {},
    "docs-defer": {},
}


@pytest.fixture(scope="session")
def sb(start_emulator: StartEmulator) -> RunningEmulator:
    """An in-memory emulator with every test queue."""
    return start_emulator(QUEUES)


@pytest.fixture
def client(sb: RunningEmulator) -> Iterator[ServiceBusClient]:
    """A sync SDK client for the test emulator."""
    with ServiceBusClient.from_connection_string(sb.connection_string) as sb_client:
        yield sb_client
