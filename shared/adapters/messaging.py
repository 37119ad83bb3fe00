"""Sending grading messages to Service Bus in batches, with ids, correlation and trace context."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING

from azure.servicebus import ServiceBusMessage
from azure.servicebus.exceptions import (
    MessageSizeExceededError,
    OperationTimeoutError,
    ServiceBusConnectionError,
    ServiceBusError,
    ServiceBusServerBusyError,
)

from shared.errors import ServiceError, TransientServiceError
from shared.ports import OutgoingMessage

if TYPE_CHECKING:
    from azure.servicebus import ServiceBusClient
    from azure.servicebus import ServiceBusSender as SdkSender


def _message(m: OutgoingMessage) -> ServiceBusMessage:
    return ServiceBusMessage(
        m.body,
        message_id=m.message_id,
        correlation_id=m.correlation_id,
        content_type="application/json",
        application_properties=dict(m.application_properties),  # type: ignore[arg-type]
    )


class ServiceBusSender:
    """One queue's sender, opened once and shared by the worker's threads."""

    def __init__(self, client: ServiceBusClient, queue: str) -> None:
        self._client = client
        self._queue = queue
        self._sender: SdkSender | None = None
        # The SDK's sender is not thread-safe; sends are short, so one lock is enough.
        self._lock = threading.Lock()

    def _open(self) -> SdkSender:
        if self._sender is None:
            self._sender = self._client.get_queue_sender(self._queue)
        return self._sender

    def send(self, messages: Sequence[OutgoingMessage]) -> None:
        """Send every message in as few ``ServiceBusMessageBatch`` es as fit."""
        if not messages:
            return
        with self._lock:
            try:
                sender = self._open()
                batch = sender.create_message_batch()
                for m in messages:
                    message = _message(m)
                    try:
                        batch.add_message(message)
                    except MessageSizeExceededError:
                        sender.send_messages(batch)
                        batch = sender.create_message_batch()
                        batch.add_message(message)
                sender.send_messages(batch)
            except (ServiceBusConnectionError, OperationTimeoutError, ServiceBusServerBusyError) as err:
                self._reset()
                raise TransientServiceError(f"Service Bus queue {self._queue}: {err}") from err
            except ServiceBusError as err:
                self._reset()
                raise ServiceError(f"Service Bus queue {self._queue}: {err}") from err

    def _reset(self) -> None:
        if self._sender is not None:
            sender, self._sender = self._sender, None
            sender.close()

    def ping(self) -> None:
        """Raise unless the queue accepts a new sender link now (for the health route).

        A new link each time: a cached sender answers from memory (``create_message_batch`` on an
        open sender does no network I/O), so it would report ``ok`` through an outage.
        """
        sender = self._client.get_queue_sender(self._queue)
        try:
            sender.create_message_batch()
        except ServiceBusError as err:
            raise TransientServiceError(f"Service Bus queue {self._queue}: {err}") from err
        finally:
            with suppress(ServiceBusError):
                sender.close()
