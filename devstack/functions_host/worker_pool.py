"""Language worker processes, supervised: a worker that dies fails its invocations and is restarted."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import devstack
from devstack.functions_host.logs import HOST_LOGGER
from devstack.functions_host.worker_wire import (
    InvocationReply,
    InvocationRequest,
    WorkerReady,
    encode,
    read_frame,
)

log = logging.getLogger(HOST_LOGGER)
_PACKAGE_ROOT = str(Path(devstack.__file__).resolve().parent.parent)


class WorkerLost(Exception):
    """The worker running an invocation exited or was stopped before it answered."""


def default_process_count(settings: dict[str, str] | Any) -> int:
    """``FUNCTIONS_WORKER_PROCESS_COUNT`` (1 to 10), 1 when unset, as Azure's default for Python."""
    text = str(settings.get("FUNCTIONS_WORKER_PROCESS_COUNT", "") or "1").strip()
    return max(1, min(10, int(text)))


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"


class WorkerProcess:
    """One slot of the pool: starts its worker, restarts it when it dies, matches replies to calls."""

    def __init__(self, slot: int, app_dir: Path, restart_delay: float) -> None:
        self.slot = slot
        self.app_dir = app_dir
        self.restart_delay = restart_delay
        self.ready = asyncio.Event()
        self.pending: dict[int, asyncio.Future[InvocationReply]] = {}
        self.process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start supervising (the first worker starts at once)."""
        self._task = asyncio.ensure_future(self._supervise())

    async def _supervise(self) -> None:
        while not self._closing:
            started = asyncio.get_running_loop().time()
            try:
                code = await self._run_once()
            except OSError as err:
                code = None
                log.error("Language worker %d could not start: %s", self.slot, err)
            self.ready.clear()
            self._fail_pending(f"the language worker process exited ({_exit_text(code)})")
            if self._closing:
                return
            log.error("Language worker process %d exited (%s); restarting it", self.slot, _exit_text(code))
            # A worker that dies at once (say, a broken import) must not spin.
            if asyncio.get_running_loop().time() - started < self.restart_delay:
                await asyncio.sleep(self.restart_delay)

    async def _run_once(self) -> int | None:
        host_end, worker_end = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "devstack.functions_host.worker",
                "--app-dir", str(self.app_dir), "--fd", str(worker_end.fileno()),
                pass_fds=(worker_end.fileno(),), env=env, cwd=str(self.app_dir),
            )  # fmt: skip
        finally:
            worker_end.close()
        reader, self._writer = await asyncio.open_connection(sock=host_end)
        try:
            hello = await read_frame(reader)
            if isinstance(hello, WorkerReady):
                log.info("Language worker process %d started (pid %d)", self.slot, hello.pid)
                self.ready.set()
                while True:
                    reply = await read_frame(reader)
                    future = self.pending.pop(reply.call_id, None)
                    if future is not None and not future.done():
                        future.set_result(reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.ready.clear()
            self._writer.close()
        return await self.process.wait()

    def _fail_pending(self, reason: str) -> None:
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(WorkerLost(reason))

    async def call(self, request: InvocationRequest) -> InvocationReply:
        """Send one request and wait for its reply; WorkerLost if the worker dies first."""
        await self.ready.wait()
        assert self._writer is not None
        future: asyncio.Future[InvocationReply] = asyncio.get_running_loop().create_future()
        self.pending[request.call_id] = future
        self._writer.write(encode(request))
        return await future

    def kill(self) -> None:
        """End the worker at once (a timed-out invocation); supervision starts a new one."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()

    async def close(self, grace: float) -> None:
        """Stop supervising and end the worker: EOF first, then SIGKILL after ``grace`` seconds."""
        self._closing = True
        if self._writer is not None:
            self._writer.close()
        if self.process is not None and self.process.returncode is None:
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                self.kill()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


class WorkerPool:
    """``count`` worker processes; each invocation goes to the live worker with the fewest in flight."""

    def __init__(self, app_dir: Path, count: int, restart_delay: float = 1.0) -> None:
        self.workers = [WorkerProcess(slot, app_dir, restart_delay) for slot in range(count)]
        self._ids = itertools.count(1)
        # When workers are equally busy the one picked longest ago goes next, so invocations spread
        # over every worker whether or not they overlap.
        self._picked = itertools.count(1)
        self._last_pick: dict[int, int] = {}

    def start(self) -> None:
        """Start every worker."""
        for worker in self.workers:
            worker.start()

    def ready_count(self) -> int:
        """How many workers are up and taking invocations."""
        return sum(w.ready.is_set() for w in self.workers)

    def next_call_id(self) -> int:
        """A call id unique within this host."""
        return next(self._ids)

    async def _pick(self) -> WorkerProcess:
        while True:
            live = [w for w in self.workers if w.ready.is_set()]
            if live:
                chosen = min(live, key=lambda w: (len(w.pending), self._last_pick.get(id(w), 0)))
                self._last_pick[id(chosen)] = next(self._picked)
                return chosen
            waits = [asyncio.ensure_future(w.ready.wait()) for w in self.workers]
            _, rest = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for wait in rest:
                wait.cancel()

    async def invoke(self, request: InvocationRequest, timeout: float | None) -> InvocationReply:
        """Run a request on a worker; on timeout the worker is killed (its other calls fail too)."""
        worker = await self._pick()
        call = asyncio.ensure_future(worker.call(request))
        try:
            return await asyncio.wait_for(asyncio.shield(call), timeout)
        except TimeoutError:
            # Only ending the process stops a synchronous function, as the real host restarts its worker.
            worker.kill()
            with contextlib.suppress(WorkerLost):
                await call
            raise

    async def close(self, grace: float = 5.0) -> None:
        """End every worker."""
        await asyncio.gather(*(w.close(grace) for w in self.workers))
