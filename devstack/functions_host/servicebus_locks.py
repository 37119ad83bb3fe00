"""Message lock renewal for a Service Bus listener: one renewal at a time on the receiver.

The SDK's ``AutoLockRenewer`` renews every message from its own task, so a burst of messages makes
as many concurrent management requests on one receiver; pyamqp's management link does not survive
that ("Management Operation error occurred", the receiver shuts down and every held message comes
back after its lock expires; azure-sdk-for-python issue 36203 shows the same error). Renewing from
one loop keeps the requests sequential.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.servicebus import ServiceBusReceivedMessage
from azure.servicebus.aio import ServiceBusReceiver
from azure.servicebus.exceptions import ServiceBusError

from devstack.functions_host.logs import HOST_LOGGER

log = logging.getLogger(HOST_LOGGER)
_TICK_SECONDS = 0.25


@dataclass
class _Held:
    message: ServiceBusReceivedMessage
    lock_span: float
    renew_until: float


def _seconds_left(message: ServiceBusReceivedMessage) -> float:
    until = message.locked_until_utc
    return 0.0 if until is None else (until - datetime.now(UTC)).total_seconds()


class LockKeeper:
    """Keeps the locks of held messages alive until released or ``max_renewal`` seconds have passed."""

    def __init__(self, receiver: ServiceBusReceiver, max_renewal: float, function_name: str) -> None:
        self.receiver = receiver
        self.max_renewal = max_renewal
        self.function_name = function_name
        self._held: dict[int, _Held] = {}

    def hold(self, message: ServiceBusReceivedMessage) -> None:
        """Start renewing a message's lock (call as soon as it is received)."""
        span = max(_seconds_left(message), 1.0)
        self._held[id(message)] = _Held(message, span, time.monotonic() + self.max_renewal)

    def release(self, message: ServiceBusReceivedMessage) -> None:
        """Stop renewing (the message is settled or given up)."""
        self._held.pop(id(message), None)

    async def run(self) -> None:
        """Renew, in turn, each held lock that has used half its span; runs until cancelled."""
        while True:
            await asyncio.sleep(_TICK_SECONDS)
            for key, held in list(self._held.items()):
                if key not in self._held or _seconds_left(held.message) > held.lock_span / 2:
                    continue
                if time.monotonic() >= held.renew_until:
                    self._held.pop(key, None)
                    continue
                try:
                    await self.receiver.renew_message_lock(held.message)
                except ServiceBusError as err:
                    self._held.pop(key, None)
                    log.warning(
                        "The lock of message %s for '%s' was not renewed: %s",
                        held.message.message_id, self.function_name, err,
                    )  # fmt: skip
