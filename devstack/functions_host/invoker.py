"""Run one invocation: read inputs, call the function, write outputs, log like Core Tools."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from devstack.functions_host.bindings import BindingRuntime
from devstack.functions_host.config import HostOptions
from devstack.functions_host.indexing import FunctionSpec
from devstack.functions_host.logs import HOST_LOGGER
from devstack.functions_host.worker import describe_failure
from devstack.functions_host.worker_pool import WorkerLost, WorkerPool
from devstack.functions_host.worker_wire import HttpRequestData, InvocationRequest

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
    """Invokes functions in worker processes; bindings are read and written here, in the host."""

    def __init__(self, runtime: BindingRuntime, options: HostOptions, workers: WorkerPool) -> None:
        self.runtime = runtime
        self.options = options
        self.workers = workers
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
        inputs = await self.in_io(self.runtime.read_inputs, spec, data)
        if isinstance(trigger_value, func.HttpRequest):
            trigger_value = HttpRequestData.of(trigger_value)
        request = InvocationRequest(
            call_id=self.workers.next_call_id(),
            invocation_id=invocation_id,
            function_name=spec.name,
            trigger_name=spec.trigger.name,
            trigger_value=trigger_value,
            inputs=inputs,
            outputs={binding.name: binding.type for binding in spec.outputs},
        )
        timeout = self.options.function_timeout.total_seconds() if self.options.function_timeout else None
        try:
            reply = await self.workers.invoke(request, timeout)
        except TimeoutError:
            raise InvocationFailed(
                f"Timeout value of {self.options.function_timeout} was exceeded by function: "
                f"{spec.full_name}; its worker process was restarted"
            ) from None
        except WorkerLost as err:
            raise InvocationFailed(f"Result: Failure\n  Exception: {err}") from None
        if reply.error is not None:
            raise InvocationFailed(reply.error)
        for binding in spec.outputs:
            datum = reply.outputs.get(binding.name)
            await self.in_io(self.runtime.write_output, binding, datum, data)
        values = {name: datum.value for name, datum in reply.outputs.items()}
        return InvocationResult(invocation_id, values.pop("$return", None), values)

    def close(self) -> None:
        """Stop the binding thread pool."""
        self.io_pool.shutdown(wait=False, cancel_futures=True)


def _describe(err: BaseException) -> str:
    return str(err) if isinstance(err, InvocationFailed) else describe_failure(err)
