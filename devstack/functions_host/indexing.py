"""Index function_app.py the way the Python worker does: import, find the FunctionApp, read bindings."""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.functions_host.config import HostConfigError

TRIGGER_TYPES = frozenset({"httpTrigger", "blobTrigger", "queueTrigger", "serviceBusTrigger", "timerTrigger"})
INPUT_TYPES = frozenset({"blob", "table"})
OUTPUT_TYPES = frozenset({"http", "blob", "queue", "table", "serviceBus"})


@dataclass(frozen=True)
class Binding:
    """One binding of a function, as the raw JSON the host reads."""

    name: str
    type: str
    direction: str
    properties: Mapping[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        """A property of the binding's JSON, ``default`` when absent."""
        return self.properties.get(key, default)


@dataclass(frozen=True)
class FunctionSpec:
    """An indexed function: its name, user code, trigger and other bindings."""

    name: str
    func: Callable[..., Any]
    trigger: Binding
    inputs: tuple[Binding, ...]
    outputs: tuple[Binding, ...]
    annotations: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_async(self) -> bool:
        """True for ``async def`` functions, which run on the host's event loop."""
        return inspect.iscoroutinefunction(self.func)

    @property
    def full_name(self) -> str:
        """The name the host logs and webhooks use: ``Functions.<name>``."""
        return f"Functions.{self.name}"

    def return_binding(self) -> Binding | None:
        """The ``$return`` output binding, if the function has one."""
        return next((b for b in self.outputs if b.name == "$return"), None)

    def unsupported(self) -> list[str]:
        """Bindings the local host cannot drive, as readable descriptions."""
        problems = []
        if self.trigger.type not in TRIGGER_TYPES:
            problems.append(f"trigger type '{self.trigger.type}'")
        problems += [f"input binding type '{b.type}'" for b in self.inputs if b.type not in INPUT_TYPES]
        problems += [f"output binding type '{b.type}'" for b in self.outputs if b.type not in OUTPUT_TYPES]
        return problems


def find_function_app(module: Any) -> Any:
    """The one FunctionApp instance a module defines (a FunctionRegister, as the worker looks for)."""
    import azure.functions as func

    apps = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if len(apps) != 1:
        raise HostConfigError(f"function_app.py must define exactly one FunctionApp, found {len(apps)}")
    return apps[0]


def index_functions(function_app: Any) -> list[FunctionSpec]:
    """Every function of a FunctionApp with its parsed raw bindings."""
    specs = []
    try:
        functions = function_app.get_functions()
    except (ValueError, TypeError) as err:
        raise HostConfigError(f"function_app.py failed indexing: {err}") from None
    for function in functions:
        name = function.get_function_name()
        user_function = function.get_user_function()
        bindings = [_binding(json.loads(raw)) for raw in function.get_raw_bindings()]
        triggers = [b for b in bindings if b.type.endswith("Trigger") or b.type == "eventGridTrigger"]
        if len(triggers) != 1:
            raise HostConfigError(f"function '{name}' must have exactly one trigger, found {len(triggers)}")
        if sum(b.name == "$return" for b in bindings) > 1:
            raise HostConfigError(f"function '{name}' has more than one $return binding")
        specs.append(
            FunctionSpec(
                name=name,
                func=user_function,
                trigger=triggers[0],
                inputs=tuple(b for b in bindings if b.direction == "IN" and b is not triggers[0]),
                outputs=tuple(b for b in bindings if b.direction == "OUT"),
                annotations=_annotations(user_function),
            )
        )
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise HostConfigError(f"function names must be unique, repeated: {', '.join(duplicates)}")
    return specs


def load_function_app(app_dir: Path, settings: Mapping[str, str]) -> list[FunctionSpec]:
    """Import ``function_app.py`` from ``app_dir`` (after the runtime check) and index it."""
    runtime = settings.get("FUNCTIONS_WORKER_RUNTIME", "").strip().lower()
    if runtime != "python":
        shown = runtime or "missing"
        raise HostConfigError(
            f"FUNCTIONS_WORKER_RUNTIME is {shown}; set it to 'python' in local.settings.json"
        )
    script = app_dir / "function_app.py"
    if not script.exists():
        raise HostConfigError(f"{script} does not exist: the v2 model needs function_app.py")
    sys.path.insert(0, str(app_dir))
    sys.modules.pop("function_app", None)
    try:
        module = importlib.import_module("function_app")
    except Exception as err:
        raise HostConfigError(f"importing {script} failed: {type(err).__name__}: {err}") from err
    return index_functions(find_function_app(module))


def _binding(document: Mapping[str, Any]) -> Binding:
    return Binding(
        name=str(document["name"]),
        type=str(document["type"]),
        direction=str(document.get("direction", "IN")).upper(),
        properties=dict(document),
    )


def _annotations(user_function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(user_function)
    except (NameError, TypeError):
        # Unresolvable string annotations fall back to the raw ones, as the worker tolerates them.
        return dict(getattr(user_function, "__annotations__", {}))
