"""Storage queue triggers: poll, invoke, delete on success, poison after maxDequeueCount."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.functions.queue import QueueMessage

from devstack.functions_host.bindings import BindingRuntime
from devstack.functions_host.config import HostOptions
from devstack.functions_host.expressions import resolve_settings
from devstack.functions_host.indexing import FunctionSpec
from devstack.functions_host.invoker import InvocationFailed, Invoker
from devstack.functions_host.logs import HOST_LOGGER

log = logging.getLogger(HOST_LOGGER)


def json_properties(body: bytes) -> dict[str, Any]:
    """Top-level properties of a JSON object body, which the host offers as binding data."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return document if isinstance(document, dict) else {}


class QueueTrigger:
    """Drives one queue-triggered function from an Azure Storage queue."""

    def __init__(
        self, spec: FunctionSpec, invoker: Invoker, runtime: BindingRuntime, options: HostOptions
    ) -> None:
        self.spec = spec
        self.invoker = invoker
        self.runtime = runtime
        self.options = options.queues
        name = resolve_settings(str(spec.trigger.get("queueName", "")), runtime.settings)
        service = runtime.connections.queue_service(str(spec.trigger.get("connection", "")))
        self.queue = service.get_queue_client(name)
        self.poison = service.get_queue_client(f"{name}-poison")

    async def poll_once(self) -> int:
        """Receive one batch and process it; return how many messages it held."""
        messages = await self.invoker.in_io(self._receive)
        await asyncio.gather(*(self._handle(m) for m in messages))
        return len(messages)

    def _receive(self) -> list[Any]:
        # get_queue_properties fails on a missing queue, so the listener reports and retries.
        self.queue.get_queue_properties()
        return list(
            self.queue.receive_messages(
                messages_per_page=self.options.batch_size,
                max_messages=self.options.batch_size,
                visibility_timeout=60,
            )
        )

    def _decode(self, text: str) -> bytes:
        if self.options.base64_messages:
            try:
                return base64.b64decode(text, validate=True)
            except binascii.Error:
                pass  # the real host also accepts plain text it cannot decode
        return text.encode("utf-8")

    async def _handle(self, message: Any) -> None:
        body = self._decode(str(message.content))
        if message.dequeue_count > self.options.max_dequeue_count:
            await self.invoker.in_io(self._to_poison, message)
            return
        value = QueueMessage(  # type: ignore[no-untyped-call]
            id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on,
            insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )
        data = json_properties(body) | {
            "Id": message.id,
            "DequeueCount": message.dequeue_count,
            "PopReceipt": message.pop_receipt,
            "QueueTrigger": body.decode("utf-8", errors="replace"),
        }
        try:
            await self.invoker.invoke(
                self.spec, value, data, f"New queue message detected on '{self.queue.queue_name}'"
            )
        except InvocationFailed:
            if message.dequeue_count >= self.options.max_dequeue_count:
                await self.invoker.in_io(self._to_poison, message)
            else:
                timeout = int(self.options.visibility_timeout.total_seconds())
                await self.invoker.in_io(
                    lambda: self.queue.update_message(message, visibility_timeout=timeout)
                )
            return
        await self.invoker.in_io(self.queue.delete_message, message)

    def _to_poison(self, message: Any) -> None:
        log.error(
            "Message %s on '%s' failed %d times: moved to '%s'",
            message.id, self.queue.queue_name, message.dequeue_count, self.poison.queue_name,
        )  # fmt: skip
        with contextlib.suppress(ResourceExistsError):
            self.poison.create_queue()
        self.poison.send_message(message.content)
        self.queue.delete_message(message)
