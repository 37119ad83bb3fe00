"""Run one invocation: read inputs, call the function, write outputs, log like Core Tools."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from devstack.functions_host.bindings import BindingRuntime, OutValue
from devstack.functions_host.config import HostOptions
from devstack.functions_host.indexing import FunctionSpec
from devstack.functions_host.logs import CURRENT_FUNCTION, HOST_LOGGER

log = logging.getLogger(HOST_LOGGER)


class InvocationFailed(Exception):
    """A function raised, timed out or its bindings failed; the message is the reason."""


@dataclass(frozen=True)
class InvocationResult:
    """What an invocation produced: its id and the value for the ``$return`` binding."""

    invocation_id: str
    return_value: Any
    outputs: Mapping[str, Any]


class Invoker:
    """Invokes functions: sync ones on a thread pool, async ones on the event loop."""

    def __init__(self, runtime: BindingRuntime, options: HostOptions, threads: int) -> None:
        self.runtime = runtime
        self.options = options
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="function")
        self.io_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="binding")

    async def in_io(self, call: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking SDK call off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.io_pool, functools.partial(call, *args))

    async def invoke(
        self, spec: FunctionSpec, trigger_value: Any, data: Mapping[str, Any], reason: str
    ) -> InvocationResult:
        """Invoke ``spec`` once; raise InvocationFailed (already logged) when it does not succeed."""
        return await self._invoke(spec, trigger_value, data, reason)

    async def _invoke(
        self, spec: FunctionSpec, trigger_value: Any, data: Mapping[str, Any], reason: str
    ) -> InvocationResult:
        invocation_id = str(uuid.uuid4())
        log.info("Executing '%s' (Reason='%s', Id=%s)", spec.full_name, reason, invocation_id)
        started = time.monotonic()
        try:
            result = await self._run(spec, trigger_value, data, invocation_id)
        except Exception as err:
            duration = (time.monotonic() - started) * 1000
            message = _describe(err)
            log.error(
                "Executed '%s' (Failed, Id=%s, Duration=%.0fms)\n  %s",
                spec.full_name, invocation_id, duration, message,
            )  # fmt: skip
            raise InvocationFailed(message) from err
        duration = (time.monotonic() - started) * 1000
        log.info("Executed '%s' (Succeeded, Id=%s, Duration=%.0fms)", spec.full_name, invocation_id, duration)
        return result

    async def _run(
        self, spec: FunctionSpec, trigger_value: Any, data: Mapping[str, Any], invocation_id: str
    ) -> InvocationResult:
        args = await self.in_io(self.runtime.read_inputs, spec, data)
        args[spec.trigger.name] = trigger_value
        outs = {b.name: OutValue() for b in spec.outputs if b.name != "$return"}
        args.update(outs)
        timeout = self.options.function_timeout.total_seconds() if self.options.function_timeout else None
        token = CURRENT_FUNCTION.set(spec.name)
        try:
            if spec.is_async:
                call = spec.func(**args)
                returned = await asyncio.wait_for(call, timeout)
            else:
                context = contextvars.copy_context()
                future = asyncio.get_running_loop().run_in_executor(
                    self.pool, functools.partial(context.run, spec.func, **args)
                )
                returned = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise InvocationFailed(f"Timeout value of {self.options.function_timeout} was exceeded") from None
        finally:
            CURRENT_FUNCTION.reset(token)
        values = {name: out.get() for name, out in outs.items()}
        for binding in spec.outputs:
            value = returned if binding.name == "$return" else values.get(binding.name)
            await self.in_io(self.runtime.write_output, binding, value, data)
        return InvocationResult(invocation_id, returned, values)

    def close(self) -> None:
        """Stop the thread pools without waiting for abandoned sync functions."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.io_pool.shutdown(wait=False, cancel_futures=True)


def _describe(err: BaseException) -> str:
    if isinstance(err, InvocationFailed):
        return str(err)
    return f"Result: Failure\n  Exception: {type(err).__name__}: {err}"
