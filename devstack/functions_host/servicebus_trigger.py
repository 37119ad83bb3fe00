"""Service Bus triggers: peek-lock receive, bounded concurrency, lock renewal, complete or abandon."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

import azure.functions as func
from azure.functions.servicebus import ServiceBusMessage as FunctionMessage
from azure.servicebus import ServiceBusReceivedMessage
from azure.servicebus.aio import ServiceBusClient, ServiceBusReceiver

from devstack.functions_host.bindings import BindingRuntime
from devstack.functions_host.config import HostOptions
from devstack.functions_host.expressions import resolve_settings
from devstack.functions_host.indexing import FunctionSpec
from devstack.functions_host.invoker import InvocationFailed, Invoker
from devstack.functions_host.logs import HOST_LOGGER
from devstack.functions_host.queue_trigger import json_properties
from devstack.functions_host.servicebus_locks import LockKeeper

log = logging.getLogger(HOST_LOGGER)


def _text(value: Any) -> Any:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def to_function_message(message: ServiceBusReceivedMessage) -> func.ServiceBusMessage:
    """The ``func.ServiceBusMessage`` the worker builds from a received message, every property set."""
    body = b"".join(message.body) if not isinstance(message.body, bytes | str) else message.body
    body = body.encode() if isinstance(body, str) else bytes(body)
    properties = {str(_text(k)): _text(v) for k, v in (message.application_properties or {}).items()}
    return FunctionMessage(
        body=body,
        trigger_metadata=None,
        application_properties=properties,
        content_type=message.content_type,
        correlation_id=message.correlation_id,
        dead_letter_error_description=message.dead_letter_error_description,
        dead_letter_reason=message.dead_letter_reason,
        dead_letter_source=message.dead_letter_source,
        # AMQP counts earlier deliveries (0 first); the Functions host reports attempts (1 first).
        delivery_count=(message.delivery_count or 0) + 1,
        enqueued_sequence_number=message.enqueued_sequence_number,
        enqueued_time_utc=message.enqueued_time_utc,
        expires_at_utc=message.expires_at_utc,
        label=message.subject,
        locked_until=message.locked_until_utc,
        lock_token=str(message.lock_token) if message.lock_token else None,
        message_id=str(message.message_id),
        partition_key=message.partition_key,
        reply_to=message.reply_to,
        reply_to_session_id=message.reply_to_session_id,
        scheduled_enqueue_time_utc=message.scheduled_enqueue_time_utc,
        sequence_number=message.sequence_number,
        session_id=message.session_id,
        state=int(message.state),
        subject=message.subject,
        time_to_live=message.time_to_live,
        to=message.to,
        transaction_partition_key=None,
        user_properties=properties,
    )


def binding_data(message: func.ServiceBusMessage) -> dict[str, Any]:
    """The names a Service Bus trigger offers to ``{...}`` expressions: properties and JSON body fields."""
    return json_properties(message.get_body()) | {
        "MessageId": message.message_id,
        "CorrelationId": message.correlation_id,
        "ContentType": message.content_type,
        "DeliveryCount": message.delivery_count,
        "SequenceNumber": message.sequence_number,
        "EnqueuedTimeUtc": message.enqueued_time_utc,
        "LockToken": message.lock_token,
        "SessionId": message.session_id,
        "Subject": message.subject,
        "ApplicationProperties": dict(message.application_properties),
        "UserProperties": dict(message.application_properties),
    }


class ServiceBusTrigger:
    """Drives one Service Bus-triggered function from a queue or a topic subscription."""

    def __init__(
        self, spec: FunctionSpec, invoker: Invoker, runtime: BindingRuntime, options: HostOptions
    ) -> None:
        self.spec = spec
        self.invoker = invoker
        self.options = options.service_bus
        self.queue = resolve_settings(str(spec.trigger.get("queueName") or ""), runtime.settings)
        self.topic = resolve_settings(str(spec.trigger.get("topicName") or ""), runtime.settings)
        self.subscription = resolve_settings(
            str(spec.trigger.get("subscriptionName") or ""), runtime.settings
        )
        self.target = runtime.connections.servicebus_target(str(spec.trigger.get("connection", "")))
        self._stopping = asyncio.Event()

    def _client(self) -> ServiceBusClient:
        target, is_namespace = self.target
        if is_namespace:
            from azure.identity.aio import DefaultAzureCredential

            return ServiceBusClient(target, DefaultAzureCredential())
        return ServiceBusClient.from_connection_string(target)

    def _receiver(self, client: ServiceBusClient) -> ServiceBusReceiver:
        prefetch = self.options.prefetch_count
        if self.topic:
            return client.get_subscription_receiver(self.topic, self.subscription, prefetch_count=prefetch)
        return client.get_queue_receiver(self.queue, prefetch_count=prefetch)

    def stop(self) -> None:
        """Stop receiving; messages already received are still settled."""
        self._stopping.set()

    async def run(self, started: Callable[[], None]) -> None:
        """Receive and process until stopped; errors propagate so the listener can report and retry.

        The receiver is iterated, as the SDK's own processing loop does, and only when a slot is free:
        iteration grants the broker credit for one message at a time, so no message is locked while
        the host is not ready to run it. ``receive_messages(max_wait_time=...)`` in a loop can return
        empty yet leave credit behind (azure-sdk-for-python issue 35591): the broker then locks
        messages nobody renews, and they come back only after the lock expires.
        """
        slots = asyncio.Semaphore(self.options.max_concurrent_calls)
        running: set[asyncio.Task[None]] = set()
        async with self._client() as client, self._receiver(client) as receiver:
            # Peeking proves the entity exists before the listener counts as started.
            await receiver.peek_messages(max_message_count=1)
            log.info(
                "Service Bus listener for '%s' started on '%s'", self.spec.full_name, self.queue or self.topic
            )
            started()
            locks = LockKeeper(
                receiver, self.options.max_auto_lock_renewal.total_seconds(), self.spec.full_name
            )
            renewing = asyncio.ensure_future(locks.run())
            stopping = asyncio.ensure_future(self._stopping.wait())
            messages = aiter(receiver)
            try:
                while not self._stopping.is_set():
                    await slots.acquire()
                    arriving = asyncio.ensure_future(anext(messages))
                    await asyncio.wait({arriving, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if not arriving.done():
                        # Closing the receiver releases a message caught mid-transfer.
                        arriving.cancel()
                        slots.release()
                        break
                    message = arriving.result()
                    locks.hold(message)
                    task = asyncio.ensure_future(self._handle(receiver, message, locks, slots))
                    running.add(task)
                    task.add_done_callback(running.discard)
            finally:
                stopping.cancel()
                if running:
                    await asyncio.wait(running)
                renewing.cancel()

    async def _handle(
        self,
        receiver: ServiceBusReceiver,
        message: ServiceBusReceivedMessage,
        locks: LockKeeper,
        slots: asyncio.Semaphore,
    ) -> None:
        try:
            value = to_function_message(message)
            entity = self.queue or f"{self.topic}/{self.subscription}"
            try:
                await self.invoker.invoke(
                    self.spec, value, binding_data(value), f"New ServiceBus message on '{entity}'"
                )
            except InvocationFailed:
                if self.options.auto_complete_messages:
                    await receiver.abandon_message(message)
                return
            if self.options.auto_complete_messages:
                await receiver.complete_message(message)
        except Exception as err:
            # A lost lock or a dropped link: the broker redelivers the message after the lock expires.
            log.warning(
                "Settling message %s for '%s' failed: %s", message.message_id, self.spec.full_name, err
            )
        finally:
            locks.release(message)
            slots.release()


def admin_message(body: bytes) -> func.ServiceBusMessage:
    """A message for the admin endpoint's ``input``, with the properties a broker would set."""
    return FunctionMessage(
        body=body,
        application_properties={},
        message_id=uuid.uuid4().hex,
        delivery_count=1,
        user_properties={},
    )
