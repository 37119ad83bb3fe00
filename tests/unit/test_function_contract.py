"""ReadyCheck's function metadata held against the Functions host's rules and the local/Azure config.

Written over whatever functions ``function_app.py`` registers, so new functions are checked too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from devstack.functions_host.config import HostConfigError
from devstack.functions_host.expressions import resolve_settings, split_blob_path
from devstack.functions_host.indexing import Binding, FunctionSpec, load_function_app
from devstack.functions_host.routes import RouteTemplate
from devstack.functions_host.timer_trigger import Schedule

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SETTINGS: dict[str, str] = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
EMULATOR_CONFIG = json.loads((ROOT / "infra" / "local" / "servicebus-config.json").read_text())
BICEP = "\n".join(p.read_text() for p in sorted((ROOT / "infra").rglob("*.bicep")))

# Binding type -> (allowed directions, required properties).
RULES: dict[str, tuple[set[str], tuple[str, ...]]] = {
    "httpTrigger": ({"IN"}, ("authLevel",)),
    "http": ({"OUT"}, ()),
    "blobTrigger": ({"IN"}, ("path", "connection")),
    "blob": ({"IN", "OUT"}, ("path", "connection")),
    "queueTrigger": ({"IN"}, ("queueName", "connection")),
    "queue": ({"OUT"}, ("queueName", "connection")),
    "serviceBusTrigger": ({"IN"}, ("connection",)),
    "serviceBus": ({"OUT"}, ("connection",)),
    "timerTrigger": ({"IN"}, ("schedule",)),
    "table": ({"IN", "OUT"}, ("tableName", "connection")),
}
CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")


def _functions() -> list[FunctionSpec]:
    return load_function_app(ROOT, SAMPLE_SETTINGS)


FUNCTIONS = _functions()
BINDINGS = [(spec, b) for spec in FUNCTIONS for b in (spec.trigger, *spec.inputs, *spec.outputs)]


def _id(item: tuple[FunctionSpec, Binding]) -> str:
    return f"{item[0].name}.{item[1].name}"


def _resolved(binding: Binding, key: str) -> str:
    return resolve_settings(str(binding.get(key, "")), SAMPLE_SETTINGS)


def _emulator_queues(config: Mapping[str, Any]) -> set[str]:
    namespaces = config["UserConfig"]["Namespaces"]
    return {queue["Name"] for ns in namespaces for queue in ns["Queues"]}


def test_the_app_registers_functions() -> None:
    assert FUNCTIONS, "function_app.py registers no functions"


@pytest.mark.parametrize("item", BINDINGS, ids=_id)
def test_every_binding_has_a_known_type_and_direction(item: tuple[FunctionSpec, Binding]) -> None:
    _, binding = item
    assert binding.type in RULES, f"unknown binding type {binding.type!r}"
    assert binding.direction in RULES[binding.type][0], f"{binding.type} cannot be {binding.direction}"


@pytest.mark.parametrize("item", BINDINGS, ids=_id)
def test_every_binding_has_its_required_properties(item: tuple[FunctionSpec, Binding]) -> None:
    _, binding = item
    missing = [key for key in RULES.get(binding.type, (set(), ()))[1] if not binding.get(key)]
    if binding.type.startswith("serviceBus") and not (binding.get("queueName") or binding.get("topicName")):
        missing.append("queueName or topicName")
    assert not missing, f"{binding.type} binding misses {missing}"


@pytest.mark.parametrize("item", [i for i in BINDINGS if i[1].get("connection")], ids=_id)
def test_every_connection_setting_is_in_the_sample_settings(item: tuple[FunctionSpec, Binding]) -> None:
    name = str(item[1].get("connection"))
    known = {name, f"AzureWebJobs{name}"}
    assert any(key in known or key.startswith(f"{name}__") for key in SAMPLE_SETTINGS), (
        f"connection {name!r} is not in local.settings.sample.json"
    )


@pytest.mark.parametrize("item", BINDINGS, ids=_id)
def test_every_percent_setting_is_in_the_sample_settings(item: tuple[FunctionSpec, Binding]) -> None:
    for key, value in item[1].properties.items():
        if isinstance(value, str):
            try:
                resolve_settings(value, SAMPLE_SETTINGS)
            except HostConfigError as err:
                pytest.fail(f"property {key}: {err}")


@pytest.mark.parametrize("item", [i for i in BINDINGS if i[1].type.startswith("serviceBus")], ids=_id)
def test_service_bus_queues_exist_in_the_emulator_config_and_the_bicep(
    item: tuple[FunctionSpec, Binding],
) -> None:
    queue = _resolved(item[1], "queueName").split("/")[0]
    assert queue in _emulator_queues(EMULATOR_CONFIG), f"queue {queue!r} missing from servicebus-config.json"
    assert f"'{queue}'" in BICEP, f"queue {queue!r} is not declared in infra/*.bicep"


@pytest.mark.parametrize("item", [i for i in BINDINGS if i[1].type.startswith("blob")], ids=_id)
def test_blob_containers_are_valid_names_declared_in_the_bicep(item: tuple[FunctionSpec, Binding]) -> None:
    container, _ = split_blob_path(_resolved(item[1], "path"))
    if "{" in container:
        pytest.skip("container chosen per invocation")
    assert CONTAINER_NAME.match(container), f"{container!r} is not a valid container name"
    assert f"'{container}'" in BICEP, f"container {container!r} is not declared in infra/*.bicep"


@pytest.mark.parametrize(
    "spec", [s for s in FUNCTIONS if s.trigger.type == "timerTrigger"], ids=lambda s: s.name
)
def test_timer_schedules_are_six_field_ncrontab_or_timespans(spec: FunctionSpec) -> None:
    Schedule.parse(_resolved(spec.trigger, "schedule"), None)


def test_http_routes_parse_and_no_two_functions_share_a_route_and_method() -> None:
    seen: dict[tuple[str, str], str] = {}
    for spec in (s for s in FUNCTIONS if s.trigger.type == "httpTrigger"):
        route = str(spec.trigger.get("route") or spec.name)
        RouteTemplate.parse(route)
        for method in spec.trigger.get("methods") or ["*"]:
            key = (route.lower(), str(method).upper())
            assert key not in seen, f"{spec.name} and {seen[key]} both answer {method} {route}"
            seen[key] = spec.name


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.name)
def test_the_local_host_can_run_every_function(spec: FunctionSpec) -> None:
    assert spec.unsupported() == []
