"""The local host's supervision: index the app, run a listener per function, serve, shut down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from devstack.functions_host.bindings import BindingRuntime
from devstack.functions_host.config import HostOptions
from devstack.functions_host.connections import Connections
from devstack.functions_host.http_front import HttpFront
from devstack.functions_host.indexing import FunctionSpec
from devstack.functions_host.invoker import Invoker
from devstack.functions_host.listeners import Listener, ListenerContext, build_listener
from devstack.functions_host.logs import HOST_LOGGER
from devstack.functions_host.worker_pool import WorkerPool, default_process_count

log = logging.getLogger(HOST_LOGGER)


@dataclass
class HostSettings:
    """Everything the host needs to run an indexed app."""

    app_dir: Path
    port: int
    settings: Mapping[str, str]
    options: HostOptions
    functions: list[FunctionSpec]


def host_id_for(settings: Mapping[str, str], app_dir: Path) -> str:
    """``AzureFunctionsJobHost__hostId``, else the app folder's name, as a storage-safe id."""
    raw = settings.get("AzureFunctionsJobHost__hostId", "") or app_dir.resolve().name.lower()
    return re.sub(r"[^a-z0-9-]", "", raw)[:32] or "localhost"


class LocalHost:
    """One running local host: worker processes, one supervised listener per function, the HTTP front."""

    def __init__(self, config: HostSettings) -> None:
        self.config = config
        self.host_id = host_id_for(config.settings, config.app_dir)
        connections = Connections(config.settings)
        self.runtime = BindingRuntime(config.settings, connections, config.options)
        self.workers = WorkerPool(config.app_dir, default_process_count(config.settings))
        self.invoker = Invoker(self.runtime, config.options, self.workers)
        self.stopping = asyncio.Event()
        self.context = ListenerContext(
            dict(config.settings),
            config.options,
            self.invoker,
            self.runtime,
            connections,
            self.host_id,
            self.stopping,
        )
        self.listener_state: dict[str, str] = {}
        self.listeners: dict[str, Listener] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.runtime.on_queue_written = self._queue_written
        self.front = HttpFront(
            config.settings,
            config.options,
            config.functions,
            self.listeners,
            self.context,
            self.status,
            self._tasks.append,
        )

    def status(self) -> dict[str, Any]:
        """What ``GET /admin/host/status`` shows."""
        return {
            "state": "Stopping" if self.stopping.is_set() else "Running",
            "functions": sorted(s.name for s in self.config.functions),
            "listeners": self.listener_state,
            "workers": {"count": len(self.workers.workers), "ready": self.workers.ready_count()},
        }

    def _queue_written(self, queue_name: str) -> None:
        """A function of this host wrote to a queue: its listener polls now, as the real host's does."""
        wake = self.context.queue_wakeups.get(queue_name)
        if wake is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(wake.set)

    def _create_listeners(self) -> None:
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
            self.listeners[spec.name] = build_listener(spec, self.context)

    def _started(self, spec: FunctionSpec) -> None:
        if self.listener_state.get(spec.name) != "running":
            self.listener_state[spec.name] = "running"
            if spec.trigger.type != "httpTrigger":
                log.info("The listener for function '%s' started", spec.full_name)

    def _supervise(self, listener: Listener) -> None:
        spec = listener.spec
        retry = self.context.seconds("FUNCTIONS_HOST_LISTENER_RETRY_SECONDS", 5.0)

        async def supervisor() -> None:
            while not self.stopping.is_set():
                try:
                    await listener.run(lambda: self._started(spec))
                except Exception as err:
                    self.listener_state[spec.name] = f"error: {_first_line(err)}"
                    log.error(
                        "The listener for function '%s' was unable to start (retrying in %.0f s): %s",
                        spec.full_name, retry, _first_line(err),
                    )  # fmt: skip
                    await self.context.sleep(retry)

        self.listener_state[spec.name] = "starting"
        self._tasks.append(asyncio.ensure_future(supervisor()))

    async def serve(self, drain_seconds: float = 30.0) -> int:
        """Run until SIGINT/SIGTERM, then stop taking work and let running invocations finish."""
        server = _QuietServer(
            uvicorn.Config(
                self.front.app(),
                host="127.0.0.1",
                port=self.config.port,
                log_level="warning",
                lifespan="off",
            )
        )
        loop = asyncio.get_running_loop()
        self._loop = loop

        def request_stop() -> None:
            log.info("Stopping the host: no new work is taken")
            self.stopping.set()
            for listener in self.listeners.values():
                listener.stop()
            server.should_exit = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, request_stop)
        self.workers.start()
        self._create_listeners()
        for listener in self.listeners.values():
            self._supervise(listener)
        log.info("Functions:")
        for listener in self.listeners.values():
            log.info("        %s", listener.describe(f"http://localhost:{self.config.port}"))
        log.info("Host started on http://127.0.0.1:%d (host id %s)", self.config.port, self.host_id)
        await server.serve()
        work = [*self._tasks, *(t for listener in self.listeners.values() for t in listener.pending())]
        _, left = await asyncio.wait(work, timeout=drain_seconds) if work else (set(), set())
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self.runtime.close)
        self.invoker.close()
        await self.workers.close()
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


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"
