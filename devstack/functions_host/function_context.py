"""The ``func.Context`` a function gets when it declares a ``context`` parameter no binding names."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions._abc import RetryContext, TraceContext

from devstack.functions_host.indexing import FunctionSpec


def wants_context(user_function: Callable[..., Any], bound: Mapping[str, Any]) -> bool:
    """True when the function has a ``context`` parameter that no binding fills (the worker's rule)."""
    try:
        parameters = inspect.signature(user_function).parameters
    except (TypeError, ValueError):
        return False
    return "context" in parameters and "context" not in bound


class _TraceContext(TraceContext):
    def __init__(self) -> None:
        self._attributes: dict[str, str] = {}

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return ""

    @property
    def attributes(self) -> dict[str, str]:
        return self._attributes


class _RetryContext(RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class InvocationContext(func.Context):
    """One invocation's context: its id, the function's name and folder, empty trace and retry data."""

    def __init__(self, invocation_id: str, function_name: str, function_directory: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._local = threading.local()

    @classmethod
    def for_invocation(cls, spec: FunctionSpec, invocation_id: str, app_dir: Path) -> InvocationContext:
        """The context for one invocation of ``spec``."""
        return cls(invocation_id, spec.name, str(app_dir))

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> TraceContext:
        return _TraceContext()

    @property
    def retry_context(self) -> RetryContext:
        return _RetryContext()
