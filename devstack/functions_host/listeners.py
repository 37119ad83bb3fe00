"""One listener per trigger kind, behind one small protocol: run, stop, admin input, start-up line."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest

from devstack.functions_host.bindings import BindingRuntime
from devstack.functions_host.blob_trigger import HOSTS_CONTAINER, POISON_QUEUE, BlobTrigger
from devstack.functions_host.config import HostOptions
from devstack.functions_host.connections import Connections
from devstack.functions_host.expressions import resolve_settings
from devstack.functions_host.indexing import FunctionSpec
from devstack.functions_host.invoker import InvocationFailed, Invoker
from devstack.functions_host.queue_trigger import QueueTrigger
from devstack.functions_host.servicebus_trigger import ServiceBusTrigger, admin_message
from devstack.functions_host.timer_trigger import Schedule, TimerStatusStore, is_past_due

# An HTTP trigger without methods takes every method.
ALL_METHODS = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"


class Listener(Protocol):
    """What the host needs from the listener of one function, whatever its trigger."""

    spec: FunctionSpec

    async def run(self, started: Callable[[], None]) -> None:
        """Listen until the host stops; call ``started`` once listening; raise to be retried."""

    def stop(self) -> None:
        """Stop taking new work (the host's stopping event ends the polling ones too)."""

    async def admin_value(self, text: str) -> tuple[Any, dict[str, Any]]:
        """The trigger value and binding data for ``POST /admin/functions/{name}`` with this input."""

    def describe(self, base_url: str) -> str:
        """The start-up line Core Tools prints for this function."""

    def pending(self) -> set[asyncio.Task[None]]:
        """Work started outside the listener's own loop that shutdown should let finish."""


@dataclass
class ListenerContext:
    """What every listener shares: settings, the invoker and bindings, and the host's stop signal."""

    settings: dict[str, str]
    options: HostOptions
    invoker: Invoker
    runtime: BindingRuntime
    connections: Connections
    host_id: str
    stopping: asyncio.Event
    queue_wakeups: dict[str, asyncio.Event] = field(default_factory=dict)

    def seconds(self, key: str, default: float) -> float:
        """A number of seconds from a setting, ``default`` when unset."""
        return float(self.settings.get(key, "") or default)

    async def sleep(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        """Sleep until ``seconds`` pass, the host stops or ``wake`` is set."""
        waits = [asyncio.ensure_future(self.stopping.wait())]
        if wake is not None:
            waits.append(asyncio.ensure_future(wake.wait()))
        await asyncio.wait(waits, timeout=max(seconds, 0.0), return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()

    async def poll(
        self,
        poll_once: Callable[[], Awaitable[Any]],
        interval: float,
        started: Callable[[], None],
        wake: asyncio.Event | None = None,
    ) -> None:
        """Poll until the host stops; after finding work poll again at once, as the real host does."""
        while not self.stopping.is_set():
            if wake is not None:
                wake.clear()
            found = await poll_once()
            started()
            if not found:
                await self.sleep(interval, wake)

    async def invoke_quietly(self, spec: FunctionSpec, value: Any, data: dict[str, Any], reason: str) -> None:
        """Invoke, leaving a failure to the invoker's log (timer and admin runs have no retry)."""
        with contextlib.suppress(InvocationFailed):
            await self.invoker.invoke(spec, value, data, reason)


def http_url(base_url: str, spec: FunctionSpec, options: HostOptions) -> str:
    """The URL template of an HTTP function: ``<base>/<routePrefix>/<route>``."""
    route = str(spec.trigger.get("route") or spec.name).strip("/")
    prefix = f"{options.route_prefix}/" if options.route_prefix else ""
    return f"{base_url}/{prefix}{route}"


class _NoAdminInput:
    """The parts of the protocol listeners without anything special share."""

    spec: FunctionSpec

    def stop(self) -> None:
        """Polling listeners end with the host's stopping event."""

    def pending(self) -> set[asyncio.Task[None]]:
        """No work outside the listener's loop."""
        return set()

    def describe(self, base_url: str) -> str:
        """``name: triggerType``."""
        return f"{self.spec.name}: {self.spec.trigger.type}"


class HttpListener(_NoAdminInput):
    """HTTP functions are served by the HTTP front; the listener only reports and describes them."""

    def __init__(self, spec: FunctionSpec, context: ListenerContext) -> None:
        self.spec = spec
        self.context = context

    async def run(self, started: Callable[[], None]) -> None:
        """Ready at once; waits for the host to stop."""
        started()
        await self.context.stopping.wait()

    async def admin_value(self, text: str) -> tuple[Any, dict[str, Any]]:
        """HTTP functions are called over HTTP, not the admin route."""
        raise LookupError(f"'{self.spec.name}' is an HTTP function: call its route")

    def describe(self, base_url: str) -> str:
        """``name: [GET,POST] http://localhost:7071/api/route``."""
        methods = ",".join(m.upper() for m in self.spec.trigger.get("methods") or []) or ALL_METHODS
        return f"{self.spec.name}: [{methods}] {http_url(base_url, self.spec, self.context.options)}"


class BlobListener(_NoAdminInput):
    """Polls a container (or takes Event Grid events through the webhook) for one blob trigger."""

    def __init__(self, spec: FunctionSpec, context: ListenerContext) -> None:
        self.spec = spec
        self.context = context
        hosts = context.connections.blob_service("AzureWebJobsStorage")
        connection = str(spec.trigger.get("connection", ""))
        poison = context.connections.queue_service(connection).get_queue_client(POISON_QUEUE)
        self.trigger = BlobTrigger(
            spec, context.invoker, context.runtime, context.options, hosts, poison, context.host_id
        )

    async def run(self, started: Callable[[], None]) -> None:
        """Scan every ``FUNCTIONS_HOST_BLOB_POLL_SECONDS`` (2 s by default)."""
        interval = self.context.seconds("FUNCTIONS_HOST_BLOB_POLL_SECONDS", 2.0)
        await self.context.poll(self.trigger.poll_once, interval, started)

    async def admin_value(self, text: str) -> tuple[Any, dict[str, Any]]:
        """The blob ``container/name`` as the function's trigger value."""
        container, _, name = text.strip("/").partition("/")
        service = self.context.connections.blob_service(self.trigger.connection)
        client = service.get_blob_client(container, name)
        content = await self.context.invoker.in_io(lambda: client.download_blob().readall())
        annotation = self.spec.annotations.get(self.spec.trigger.name)
        value = self.context.runtime.blob_value(content, {"path": text}, annotation, client.url)
        return value, {"name": name, "BlobTrigger": text}

    def pending(self) -> set[asyncio.Task[None]]:
        """Blobs being processed."""
        return set(self.trigger.in_flight)


class QueueListener(_NoAdminInput):
    """Polls a storage queue; wakes at once when a function on this host writes to it."""

    def __init__(self, spec: FunctionSpec, context: ListenerContext) -> None:
        self.spec = spec
        self.context = context
        self.trigger = QueueTrigger(spec, context.invoker, context.runtime, context.options)
        self.wake = context.queue_wakeups.setdefault(self.trigger.queue.queue_name, asyncio.Event())

    async def run(self, started: Callable[[], None]) -> None:
        """Poll every ``maxPollingInterval`` unless woken."""
        interval = self.context.options.queues.max_polling_interval.total_seconds()
        await self.context.poll(self.trigger.poll_once, interval, started, self.wake)

    async def admin_value(self, text: str) -> tuple[Any, dict[str, Any]]:
        """A first-delivery queue message with the input as its body."""
        message = QueueMessage(body=text.encode(), dequeue_count=1)  # type: ignore[no-untyped-call]
        return message, {"QueueTrigger": text}


class ServiceBusListener(_NoAdminInput):
    """Receives from a Service Bus queue or subscription."""

    def __init__(self, spec: FunctionSpec, context: ListenerContext) -> None:
        self.spec = spec
        self.trigger = ServiceBusTrigger(spec, context.invoker, context.runtime, context.options)

    async def run(self, started: Callable[[], None]) -> None:
        """Receive until stopped."""
        await self.trigger.run(started)

    def stop(self) -> None:
        """Stop receiving; received messages are still settled."""
        self.trigger.stop()

    async def admin_value(self, text: str) -> tuple[Any, dict[str, Any]]:
        """A message with the input as its body."""
        return admin_message(text.encode()), {}


class TimerListener(_NoAdminInput):
    """Fires on the schedule, remembering the last run in storage for ``past_due``."""

    def __init__(self, spec: FunctionSpec, context: ListenerContext) -> None:
        self.spec = spec
        self.context = context

    async def run(self, started: Callable[[], None]) -> None:
        """Fire at each occurrence until the host stops."""
        context = self.context
        schedule = Schedule.parse(
            resolve_settings(str(self.spec.trigger.get("schedule", "")), context.settings),
            context.settings.get("WEBSITE_TIME_ZONE"),
        )
        hosts = context.connections.blob_service("AzureWebJobsStorage").get_container_client(HOSTS_CONTAINER)
        store = TimerStatusStore(hosts, context.host_id, self.spec.name)
        status = await context.invoker.in_io(store.read)
        started()
        now = datetime.now(UTC)
        if is_past_due(status, now) or bool(self.spec.trigger.get("runOnStartup")):
            await self._fire(store, schedule, past_due=is_past_due(status, now))
        while not context.stopping.is_set():
            following = schedule.next_after(datetime.now(UTC))
            await context.invoker.in_io(store.write, datetime.now(UTC), following)
            await context.sleep((following - datetime.now(UTC)).total_seconds())
            if not context.stopping.is_set():
                await self._fire(store, schedule, past_due=False)

    async def _fire(self, store: TimerStatusStore, schedule: Schedule, *, past_due: bool) -> None:
        now = datetime.now(UTC)
        request = TimerRequest(
            past_due=past_due,
            schedule={"AdjustForDST": True},
            schedule_status={"Last": now.isoformat(), "Next": schedule.next_after(now).isoformat()},
        )
        await self.context.invoke_quietly(self.spec, request, {}, "Timer fired")
        await self.context.invoker.in_io(store.write, now, schedule.next_after(now))

    async def admin_value(self, text: str) -> tuple[Any, dict[str, Any]]:
        """A timer request that is not past due."""
        return TimerRequest(past_due=False), {}


_LISTENERS: dict[str, Callable[[FunctionSpec, ListenerContext], Listener]] = {
    "httpTrigger": HttpListener,
    "blobTrigger": BlobListener,
    "queueTrigger": QueueListener,
    "serviceBusTrigger": ServiceBusListener,
    "timerTrigger": TimerListener,
}


def build_listener(spec: FunctionSpec, context: ListenerContext) -> Listener:
    """The listener for a supported function's trigger."""
    return _LISTENERS[spec.trigger.type](spec, context)
