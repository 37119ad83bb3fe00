"""A language worker process: imports the app, runs the invocations the host sends, converts outputs."""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import functools
import inspect
import logging
import os
import signal
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from devstack.functions_host.bindings import OutValue
from devstack.functions_host.config import HostConfigError, load_host_options
from devstack.functions_host.function_context import InvocationContext, wants_context
from devstack.functions_host.indexing import FunctionSpec, load_function_app
from devstack.functions_host.logs import CURRENT_FUNCTION, configure_logging
from devstack.functions_host.output_conversion import encode_output
from devstack.functions_host.worker_wire import (
    HttpRequestData,
    InvocationReply,
    InvocationRequest,
    WorkerReady,
    encode,
    read_frame,
)

log = logging.getLogger(__name__)


def default_thread_count() -> int:
    """``PYTHON_THREADPOOL_THREAD_COUNT``, else Python's own default for a thread pool."""
    configured = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "").strip()
    return int(configured) if configured else min(32, (os.cpu_count() or 1) + 4)


class Worker:
    """Runs invocations for one indexed app: sync functions on a thread pool, async ones on the loop."""

    def __init__(self, app_dir: Path, functions: list[FunctionSpec], writer: asyncio.StreamWriter) -> None:
        self.app_dir = app_dir
        self.functions = {spec.name: spec for spec in functions}
        self.writer = writer
        self.pool = ThreadPoolExecutor(max_workers=default_thread_count(), thread_name_prefix="function")
        self.running: set[asyncio.Task[None]] = set()

    def start(self, request: InvocationRequest) -> None:
        """Run one request in the background and reply when it ends."""
        task = asyncio.ensure_future(self._reply(request))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _reply(self, request: InvocationRequest) -> None:
        try:
            outputs = await self._run(request)
            reply = InvocationReply(request.call_id, outputs=outputs)
            frame = encode(reply)
        except Exception as err:
            frame = encode(InvocationReply(request.call_id, error=describe_failure(err)))
        self.writer.write(frame)
        await self.writer.drain()

    async def _run(self, request: InvocationRequest) -> dict[str, Any]:
        spec = self.functions[request.function_name]
        trigger = request.trigger_value
        if isinstance(trigger, HttpRequestData):
            trigger = trigger.rebuild()
        args = {**request.inputs, spec.trigger.name: trigger}
        outs = {name: OutValue() for name in request.outputs if name != "$return"}
        args.update(outs)
        if wants_context(spec.func, args):
            args["context"] = InvocationContext.for_invocation(spec, request.invocation_id, self.app_dir)
        token = CURRENT_FUNCTION.set(spec.name)
        try:
            if inspect.iscoroutinefunction(spec.func):
                returned = await spec.func(**args)
            else:
                call = functools.partial(contextvars.copy_context().run, spec.func, **args)
                returned = await asyncio.get_running_loop().run_in_executor(self.pool, call)
        finally:
            CURRENT_FUNCTION.reset(token)
        values = {name: out.get() for name, out in outs.items()}
        values["$return"] = returned
        return {
            name: encode_output(kind, values.get(name))
            for name, kind in request.outputs.items()
            if values.get(name) is not None
        }


def describe_failure(err: BaseException) -> str:
    """The failure text the host logs, as Core Tools shows a function's exception."""
    return f"Result: Failure\n  Exception: {type(err).__name__}: {err}"


async def serve(app_dir: Path, fd: int) -> None:
    """Index the app, announce readiness, then run requests until the host closes the channel."""
    functions = load_function_app(app_dir, os.environ)
    reader, writer = await asyncio.open_connection(sock=socket.socket(fileno=fd))
    worker = Worker(app_dir, functions, writer)
    writer.write(encode(WorkerReady(os.getpid(), tuple(worker.functions))))
    await writer.drain()
    while True:
        try:
            request = await read_frame(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        worker.start(request)


def main(argv: list[str] | None = None) -> int:
    """Entry point the host starts: ``python -m devstack.functions_host.worker --app-dir D --fd N``."""
    parser = argparse.ArgumentParser(prog="devstack.functions_host.worker")
    parser.add_argument("--app-dir", type=Path, required=True)
    parser.add_argument("--fd", type=int, required=True)
    args = parser.parse_args(argv)
    # The host owns shutdown: a Ctrl-C or SIGTERM to the process group must not end invocations early.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        # The host started this worker with the app settings in its environment.
        configure_logging(load_host_options(args.app_dir, os.environ))
        os.chdir(args.app_dir)
        asyncio.run(serve(args.app_dir, args.fd))
    except HostConfigError as err:
        print(f"worker error: {err}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    # Threads still running abandoned sync functions must not keep a worker the host has left.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
