"""The local host: index the app, start a listener per trigger, serve HTTP, shut down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import logging
import os
import re
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import uvicorn
from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devstack.functions_host.bindings import BindingRuntime
from devstack.functions_host.blob_trigger import HOSTS_CONTAINER, POISON_QUEUE, BlobTrigger
from devstack.functions_host.config import HostOptions
from devstack.functions_host.connections import Connections
from devstack.functions_host.expressions import resolve_settings
from devstack.functions_host.indexing import FunctionSpec
from devstack.functions_host.invoker import InvocationFailed, Invoker
from devstack.functions_host.logs import HOST_LOGGER
from devstack.functions_host.queue_trigger import QueueTrigger
from devstack.functions_host.routes import RouteTemplate
from devstack.functions_host.servicebus_trigger import ServiceBusTrigger, admin_message
from devstack.functions_host.timer_trigger import Schedule, TimerStatusStore, is_past_due

log = logging.getLogger(HOST_LOGGER)


@dataclass
class HostSettings:
    """Everything the host needs to run an indexed app."""

    app_dir: Path
    port: int
    settings: Mapping[str, str]
    options: HostOptions
    functions: list[FunctionSpec]


def _poll_seconds(settings: Mapping[str, str], key: str, default: float) -> float:
    return float(settings.get(key, "") or default)


class LocalHost:
    """One running local host."""

    def __init__(self, config: HostSettings) -> None:
        self.config = config
        self.settings = config.settings
        self.connections = Connections(config.settings)
        self.runtime = BindingRuntime(config.settings, self.connections, config.options)
        threads = int(
            config.settings.get("PYTHON_THREADPOOL_THREAD_COUNT", "") or min(32, (os.cpu_count() or 1) + 4)
        )
        self.invoker = Invoker(self.runtime, config.options, threads)
        self.by_name = {spec.name.lower(): spec for spec in config.functions}
        self.listener_state: dict[str, str] = {}
        self.stopping = asyncio.Event()
        self.host_id = (
            re.sub(
                r"[^a-z0-9-]",
                "",
                config.settings.get("AzureFunctionsJobHost__hostId", "")
                or config.app_dir.resolve().name.lower(),
            )[:32]
            or "localhost"
        )
        self.blob_triggers: dict[str, BlobTrigger] = {}
        self.http_routes: list[tuple[RouteTemplate, FunctionSpec]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._servicebus: list[ServiceBusTrigger] = []

    # ---- HTTP -------------------------------------------------------------------------------------
    def _keys(self) -> tuple[str, list[str]]:
        master = self.settings.get("FUNCTIONS_HOST_MASTER_KEY", "").strip()
        function_keys = [
            k.strip() for k in self.settings.get("FUNCTIONS_HOST_FUNCTION_KEYS", "").split(",") if k.strip()
        ]
        return master, function_keys

    def _authorised(self, request: Request, level: str) -> bool:
        master, function_keys = self._keys()
        if level == "anonymous" or not (master or function_keys):
            return True
        given = request.headers.get("x-functions-key") or request.query_params.get("code") or ""
        allowed = [master] if level == "admin" else [master, *function_keys]
        return any(k and hmac.compare_digest(given, k) for k in allowed)

    def starlette_app(self) -> Starlette:
        """The HTTP surface: functions under the route prefix, the admin API and the blob webhook."""
        return Starlette(
            routes=[
                Route("/admin/host/status", self._status, methods=["GET"]),
                Route("/admin/functions/{name}", self._admin_invoke, methods=["POST"]),
                Route("/runtime/webhooks/blobs", self._blob_webhook, methods=["POST"]),
                Route(
                    "/{path:path}",
                    self._http_function,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                ),
            ]
        )

    async def _status(self, request: Request) -> Response:
        state = "Stopping" if self.stopping.is_set() else "Running"
        return JSONResponse(
            {
                "state": state,
                "functions": sorted(s.name for s in self.config.functions),
                "listeners": self.listener_state,
            }
        )

    async def _http_function(self, request: Request) -> Response:
        prefix = self.config.options.route_prefix
        path = request.url.path.strip("/")
        if prefix:
            if path != prefix and not path.startswith(prefix + "/"):
                return Response(status_code=404)
            path = path[len(prefix) :]
        for template, spec in self.http_routes:
            params = template.match(path)
            if params is None:
                continue
            methods = [m.upper() for m in spec.trigger.get("methods") or []]
            if methods and request.method not in methods:
                continue
            if not self._authorised(request, str(spec.trigger.get("authLevel", "FUNCTION")).lower()):
                return Response(status_code=401)
            return await self._run_http(request, spec, params)
        return Response(status_code=404)

    async def _run_http(self, request: Request, spec: FunctionSpec, params: dict[str, str]) -> Response:
        body = await request.body()
        query = dict(request.query_params)
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=query,
            route_params=params,
            body=body,
        )
        data: dict[str, Any] = {**query, **params, "Query": query, "Headers": dict(request.headers)}
        try:
            result = await self.invoker.invoke(
                spec, http_request, data, "This function was programmatically called via the host APIs."
            )
        except InvocationFailed:
            return Response(status_code=500)
        http_out = next((b for b in spec.outputs if b.type == "http"), None)
        value = (
            result.return_value
            if http_out is None or http_out.name == "$return"
            else result.outputs.get(http_out.name)
        )
        return _to_response(value)

    async def _admin_invoke(self, request: Request) -> Response:
        if not self._authorised(request, "admin"):
            return Response(status_code=401)
        spec = self.by_name.get(request.path_params["name"].lower())
        if spec is None or spec.trigger.type == "httpTrigger":
            return JSONResponse(
                {"error": f"no non-HTTP function named {request.path_params['name']!r}"}, status_code=404
            )
        try:
            document = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"error": 'body must be JSON such as {"input": "..."}'}, status_code=400)
        text = str(document.get("input", "") if isinstance(document, dict) else "")
        value, data = await self._admin_value(spec, text)
        task = asyncio.ensure_future(self._swallow(self.invoker.invoke(spec, value, data, "Manual trigger")))
        self._tasks.append(task)
        return Response(status_code=202)

    async def _admin_value(self, spec: FunctionSpec, text: str) -> tuple[Any, dict[str, Any]]:
        kind = spec.trigger.type
        if kind == "timerTrigger":
            return TimerRequest(past_due=False), {}
        if kind == "queueTrigger":
            return QueueMessage(  # type: ignore[no-untyped-call]
                body=text.encode(), dequeue_count=1
            ), {"QueueTrigger": text}
        if kind == "serviceBusTrigger":
            return admin_message(text.encode()), {}
        if kind == "blobTrigger":
            trigger = self.blob_triggers[spec.name]
            container, _, name = text.strip("/").partition("/")
            client = self.connections.blob_service(trigger.connection).get_blob_client(container, name)
            content = await self.invoker.in_io(lambda: client.download_blob().readall())
            value = self.runtime.blob_value(
                content, {"path": text}, spec.annotations.get(spec.trigger.name), client.url
            )
            return value, {"name": name, "BlobTrigger": text}
        return text, {}

    async def _blob_webhook(self, request: Request) -> Response:
        if not self._authorised(request, "admin") and not self._blob_key_ok(request):
            return Response(status_code=401)
        name = request.query_params.get("functionName", "").removeprefix("Host.Functions.")
        trigger = self.blob_triggers.get(name)
        if trigger is None:
            return JSONResponse({"error": f"no blob-triggered function named {name!r}"}, status_code=404)
        try:
            events = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "body must be an Event Grid event array"}, status_code=400)
        events = events if isinstance(events, list) else [events]
        if request.headers.get("aeg-event-type") == "SubscriptionValidation":
            code = (events[0].get("data") or {}).get("validationCode") if events else None
            return JSONResponse({"validationResponse": code})
        for event in events:
            blob = trigger.blob_from_event(event)
            if blob is None:
                continue
            try:
                await trigger.process(blob)
            except InvocationFailed:
                # Event Grid redelivers on a failure status.
                return Response(status_code=500)
        return Response(status_code=202)

    def _blob_key_ok(self, request: Request) -> bool:
        key = self.settings.get("FUNCTIONS_HOST_BLOBS_EXTENSION_KEY", "").strip()
        given = request.query_params.get("code", "")
        return bool(key) and hmac.compare_digest(key, given)

    @staticmethod
    async def _swallow(call: Awaitable[Any]) -> None:
        # A failure is already logged by the invoker.
        with contextlib.suppress(InvocationFailed):
            await call

    # ---- listeners --------------------------------------------------------------------------------
    def _start_listeners(self) -> None:
        hosts = None
        for spec in self.config.functions:
            unsupported = spec.unsupported()
            if unsupported:
                self.listener_state[spec.name] = f"not supported by the local host: {', '.join(unsupported)}"
                log.error(
                    "Function '%s' is disabled: the local host does not support its %s",
                    spec.full_name,
                    ", ".join(unsupported),
                )
                continue
            kind = spec.trigger.type
            if kind == "httpTrigger":
                route = str(spec.trigger.get("route") or spec.name)
                self.http_routes.append((RouteTemplate.parse(route), spec))
                self.listener_state[spec.name] = "running"
                continue
            if hosts is None:
                hosts = self.connections.blob_service("AzureWebJobsStorage")
            if kind == "blobTrigger":
                poison = self.connections.queue_service(
                    str(spec.trigger.get("connection", ""))
                ).get_queue_client(POISON_QUEUE)
                trigger = BlobTrigger(
                    spec, self.invoker, self.runtime, self.config.options, hosts, poison, self.host_id
                )
                self.blob_triggers[spec.name] = trigger
                interval = _poll_seconds(self.settings, "FUNCTIONS_HOST_BLOB_POLL_SECONDS", 2.0)
                self._supervise(spec, self._polling(spec, trigger.poll_once, interval))
            elif kind == "queueTrigger":
                queue = QueueTrigger(spec, self.invoker, self.runtime, self.config.options)
                interval = self.config.options.queues.max_polling_interval.total_seconds()
                self._supervise(spec, self._polling(spec, queue.poll_once, interval))
            elif kind == "serviceBusTrigger":
                sb = ServiceBusTrigger(spec, self.invoker, self.runtime, self.config.options)
                self._servicebus.append(sb)
                self._supervise(spec, functools.partial(sb.run, functools.partial(self._started, spec)))
            elif kind == "timerTrigger":
                self._supervise(spec, self._timer_loop(spec, hosts))

    def _polling(
        self, spec: FunctionSpec, poll: Callable[[], Awaitable[Any]], interval: float
    ) -> Callable[[], Awaitable[None]]:
        async def loop() -> None:
            while not self.stopping.is_set():
                found = await poll()
                self._started(spec)
                # Work found means more may be waiting: poll again at once, as the real host does.
                if not found:
                    await self._sleep(interval)

        return loop

    def _started(self, spec: FunctionSpec) -> None:
        if self.listener_state.get(spec.name) != "running":
            self.listener_state[spec.name] = "running"
            log.info("The listener for function '%s' started", spec.full_name)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), max(seconds, 0.0))

    def _supervise(self, spec: FunctionSpec, run: Callable[[], Awaitable[None]]) -> None:
        retry = _poll_seconds(self.settings, "FUNCTIONS_HOST_LISTENER_RETRY_SECONDS", 5.0)

        async def supervisor() -> None:
            while not self.stopping.is_set():
                try:
                    await run()
                except Exception as err:
                    self.listener_state[spec.name] = f"error: {_first_line(err)}"
                    log.error(
                        "The listener for function '%s' was unable to start (retrying in %.0f s): %s",
                        spec.full_name, retry, _first_line(err),
                    )  # fmt: skip
                    await self._sleep(retry)

        self.listener_state[spec.name] = "starting"
        self._tasks.append(asyncio.ensure_future(supervisor()))

    def _timer_loop(self, spec: FunctionSpec, hosts: Any) -> Callable[[], Awaitable[None]]:
        async def loop() -> None:
            schedule = Schedule.parse(
                resolve_settings(str(spec.trigger.get("schedule", "")), self.settings),
                self.settings.get("WEBSITE_TIME_ZONE"),
            )
            store = TimerStatusStore(hosts.get_container_client(HOSTS_CONTAINER), self.host_id, spec.name)
            status = await self.invoker.in_io(store.read)
            self._started(spec)
            now = datetime.now(UTC)
            if is_past_due(status, now) or bool(spec.trigger.get("runOnStartup")):
                await self._fire(spec, store, schedule, past_due=is_past_due(status, now))
            while not self.stopping.is_set():
                following = schedule.next_after(datetime.now(UTC))
                await self.invoker.in_io(store.write, datetime.now(UTC), following)
                await self._sleep((following - datetime.now(UTC)).total_seconds())
                if not self.stopping.is_set():
                    await self._fire(spec, store, schedule, past_due=False)

        return loop

    async def _fire(
        self, spec: FunctionSpec, store: TimerStatusStore, schedule: Schedule, *, past_due: bool
    ) -> None:
        now = datetime.now(UTC)
        request = TimerRequest(
            past_due=past_due,
            schedule={"AdjustForDST": True},
            schedule_status={"Last": now.isoformat(), "Next": schedule.next_after(now).isoformat()},
        )
        await self._swallow(self.invoker.invoke(spec, request, {}, "Timer fired"))
        await self.invoker.in_io(store.write, now, schedule.next_after(now))

    # ---- lifecycle --------------------------------------------------------------------------------
    async def serve(self, drain_seconds: float = 30.0) -> int:
        """Run until SIGINT/SIGTERM, then stop taking work and let running invocations finish."""
        server = _QuietServer(
            uvicorn.Config(
                self.starlette_app(),
                host="127.0.0.1",
                port=self.config.port,
                log_level="warning",
                lifespan="off",
            )
        )
        loop = asyncio.get_running_loop()

        def request_stop() -> None:
            log.info("Stopping the host: no new work is taken")
            self.stopping.set()
            for sb in self._servicebus:
                sb.stop()
            server.should_exit = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, request_stop)
        self._start_listeners()
        for spec in self.config.functions:
            log.info(
                "Functions: %s: [%s] %s",
                spec.name,
                spec.trigger.type,
                _describe_trigger(spec, self.config.options),
            )
        log.info("Host started on http://127.0.0.1:%d (host id %s)", self.config.port, self.host_id)
        await server.serve()
        work = [*self._tasks, *(t for trigger in self.blob_triggers.values() for t in trigger.in_flight)]
        _, left = await asyncio.wait(work, timeout=drain_seconds) if work else (set(), set())
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self.runtime.close)
        self.invoker.close()
        log.info(
            "Host stopped%s", f" ({len(left)} unfinished task(s) cancelled, to be retried)" if left else ""
        )
        return 0


class _QuietServer(uvicorn.Server):
    """Uvicorn without its own signal handling: the host drains work before exiting."""

    def install_signal_handlers(self) -> None:
        """The host installs its own handlers."""

    def capture_signals(self) -> Any:
        """The host installs its own handlers, so uvicorn must not re-raise signals after serving."""
        return contextlib.nullcontext()


def _describe_trigger(spec: FunctionSpec, options: HostOptions) -> str:
    if spec.trigger.type == "httpTrigger":
        methods = ",".join(spec.trigger.get("methods") or ["ALL"])
        route = str(spec.trigger.get("route") or spec.name)
        prefix = f"/{options.route_prefix}" if options.route_prefix else ""
        return f"{methods} {prefix}/{route}"
    return str(
        spec.trigger.get("path") or spec.trigger.get("queueName") or spec.trigger.get("schedule") or ""
    )


def _to_response(value: Any) -> Response:
    if isinstance(value, func.HttpResponse):
        headers = {k: v for k, v in value.headers.items() if k.lower() != "content-type"}
        media = value.headers.get("content-type") or value.mimetype
        if media and value.charset and "charset" not in media:
            media = f"{media}; charset={value.charset}"
        return Response(value.get_body(), status_code=value.status_code, headers=headers, media_type=media)
    if value is None:
        return Response(status_code=204)
    if isinstance(value, bytes):
        return Response(value, media_type="application/octet-stream")
    if isinstance(value, str):
        return Response(value, media_type="text/plain; charset=utf-8")
    return JSONResponse(value)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"
