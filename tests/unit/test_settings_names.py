"""Names held together: settings, queues, containers and tables in Bicep, the sample settings, the
local Service Bus emulator config, the docs and the code must agree, or Azure and the local stack drift.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import re
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MAIN_BICEP = ROOT / "infra" / "main.bicep"
FUNCTION_APP_BICEP = ROOT / "infra" / "modules" / "functionapp.bicep"
SERVICEBUS_BICEP = ROOT / "infra" / "modules" / "servicebus.bicep"
EMULATOR_CONFIG = ROOT / "infra" / "local" / "servicebus-config.json"
SAMPLE = ROOT / "local.settings.sample.json"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"

# Connections the app opens itself or through bindings; in Azure they take the identity-based
# `NAME__...` form instead of a connection string.
CONNECTIONS = {"AzureWebJobsStorage", "READYCHECK_STORAGE", "READYCHECK_SERVICEBUS"}
# Flex Consumption rejects this as an app setting: the runtime is functionAppConfig.runtime.name.
PLATFORM_SETTINGS = {"FUNCTIONS_WORKER_RUNTIME"}
# Settings only Azure needs: the user-assigned identity that the Functions host and the
# OpenTelemetry exporter use to authenticate to Application Insights (local auth is off there).
AZURE_ONLY_SETTINGS = {"APPLICATIONINSIGHTS_AUTHENTICATION_STRING"}
# Values that differ on purpose: Azure computes them from the deployment.
COMPUTED_IN_AZURE = {"READYCHECK_EASY_AUTH_ENABLED", "APPLICATIONINSIGHTS_CONNECTION_STRING"}
# Settings fields that hold connections or deployment-specific values, not names or limits.
DEPLOYMENT_FIELDS = {"storage", "servicebus", "app_insights_connection", "easy_auth_enabled"}
SETTING_NAME = re.compile(r"^(READYCHECK|APPLICATIONINSIGHTS|AzureWebJobs|FUNCTIONS)_?[A-Za-z0-9_]*$")


@functools.cache
def bicep_parser() -> BicepParser:
    """One parser for the whole run: building its grammar takes about a second."""
    return BicepParser()


@functools.cache
def parse(path: Path) -> Mapping[str, Any]:
    """A Bicep file as pycep's JSON model."""
    result: Mapping[str, Any] = bicep_parser().parse(text=path.read_text(encoding="utf-8"))
    return result


def default(name: str) -> Any:
    """The code's default for one field of :class:`Settings`."""
    (field,) = [f for f in dataclasses.fields(Settings) if f.name == name]
    return field.default


@functools.cache
def registered_bindings() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(function name, binding) for every binding of the app's functions.

    function_app.py runs afresh: a FunctionApp indexes its functions only once per instance, and other
    tests may already have indexed the imported one.
    """
    app = runpy.run_path(str(ROOT / "function_app.py"))["app"]
    return tuple(
        (function.get_function_name(), json.loads(binding))
        for function in app.get_functions()
        for binding in function.get_raw_bindings()
    )


def resolve(template: Mapping[str, Any], value: Any) -> Any:
    """A literal value, following a reference to a parameter's default or a variable; None if computed.

    pycep gives identifiers and string literals alike as strings, so a string that names a parameter or
    variable is taken as that reference (Bicep names here are camelCase, literals are not).
    """
    if isinstance(value, bool | int):
        return value
    if not isinstance(value, str) or "${" in value:
        return None
    if value in template.get("parameters", {}):
        return resolve(template, template["parameters"][value].get("default"))
    if value in template.get("variables", {}):
        return resolve(template, template["variables"][value]["value"])
    return value


def sample_settings() -> dict[str, str]:
    """The Values of local.settings.sample.json."""
    values: dict[str, str] = json.loads(SAMPLE.read_text(encoding="utf-8"))["Values"]
    return values


def bicep_app_settings() -> dict[str, Any]:
    """Every app setting the deployment sets: main.bicep's appSettings plus those the app module adds."""
    settings = dict(parse(MAIN_BICEP)["variables"]["appSettings"]["value"])
    module = parse(FUNCTION_APP_BICEP)
    (site,) = [r["config"] for r in module["resources"].values() if r["type"] == "Microsoft.Web/sites"]
    concat = site["properties"]["siteConfig"]["appSettings"]["function"]
    assert concat["type"] == "concat"
    for argument in concat["parameters"].values():
        if isinstance(argument, list):
            settings.update({entry["name"]: entry["value"] for entry in argument})
        else:
            # The other part is main.bicep's appSettings object, turned into name/value pairs.
            loop = module["variables"][argument]["value"]["loop_type"]
            assert loop == {
                "type": "object",
                "detail": {"item_name": "setting", "object_name": "appSettings"},
            }
    return settings


def main_values(names: dict[str, Any]) -> dict[str, Any]:
    """The Bicep app settings resolved to literals where they are literals."""
    template = parse(MAIN_BICEP)
    return {key: resolve(template, value) for key, value in names.items()}


def settings_read_by_code() -> set[str]:
    """Setting names the app's code spells as string constants (shared/, blueprints/, function_app.py)."""
    sources = [
        *(ROOT / "shared").rglob("*.py"),
        *(ROOT / "blueprints").rglob("*.py"),
        ROOT / "function_app.py",
    ]
    return {
        node.value
        for source in sources
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SETTING_NAME.match(node.value)
    }


def settings_read_by_bindings() -> set[str]:
    """Setting names the registered functions' bindings read (connections and %SETTING% expressions)."""
    names: set[str] = set()
    for _, binding in registered_bindings():
        if binding.get("connection"):
            names.add(binding["connection"])
        for value in binding.values():
            if isinstance(value, str):
                names.update(re.findall(r"%([A-Za-z0-9_]+)%", value))
    return names


def test_every_sample_setting_is_an_app_setting_in_bicep() -> None:
    bicep = set(bicep_app_settings())
    for key in sample_settings():
        if key in PLATFORM_SETTINGS:
            continue
        if key in CONNECTIONS:
            assert any(name.startswith(f"{key}__") for name in bicep), f"{key} has no identity-based form"
            assert key not in bicep, f"{key} must not be a connection string in Azure"
        else:
            assert key in bicep, f"{key} is missing from the Bicep app settings"


def test_every_bicep_app_setting_is_known_locally() -> None:
    sample = set(sample_settings())
    for key in bicep_app_settings():
        base = key.split("__", 1)[0]
        known = key in sample or (base in CONNECTIONS and base in sample) or key in AZURE_ONLY_SETTINGS
        assert known, f"{key} is set in Azure but not in local.settings.sample.json"


def test_identity_connections_name_the_user_assigned_identity() -> None:
    bicep = bicep_app_settings()
    for connection in CONNECTIONS:
        assert resolve(parse(MAIN_BICEP), bicep[f"{connection}__credential"]) == "managedidentity"
        assert f"{connection}__clientId" in bicep
    assert "READYCHECK_SERVICEBUS__fullyQualifiedNamespace" in bicep
    for service in ("blob", "queue", "table"):
        assert f"READYCHECK_STORAGE__{service}ServiceUri" in bicep
        assert f"AzureWebJobsStorage__{service}ServiceUri" in bicep


def test_worker_runtime_is_the_flex_consumption_runtime() -> None:
    (site,) = [
        r["config"]
        for r in parse(FUNCTION_APP_BICEP)["resources"].values()
        if r["type"] == "Microsoft.Web/sites"
    ]
    assert (
        site["properties"]["functionAppConfig"]["runtime"]["name"]
        == sample_settings()["FUNCTIONS_WORKER_RUNTIME"]
    )


def test_bicep_values_equal_the_sample_values() -> None:
    sample = sample_settings()
    resolved = main_values(bicep_app_settings())
    compared = 0
    for key, value in resolved.items():
        if key in sample and key not in COMPUTED_IN_AZURE and key not in CONNECTIONS:
            assert value == sample[key], f"{key}: Bicep {value!r}, sample {sample[key]!r}"
            compared += 1
    assert compared >= 15


def test_sample_values_are_the_code_defaults() -> None:
    sample = Settings.from_env(sample_settings())
    defaults = Settings.from_env({k: v for k, v in sample_settings().items() if k in CONNECTIONS})
    for field in dataclasses.fields(Settings):
        if field.name not in DEPLOYMENT_FIELDS:
            assert getattr(sample, field.name) == getattr(defaults, field.name), field.name


def test_every_setting_the_code_reads_is_in_the_sample() -> None:
    read = settings_read_by_code() | settings_read_by_bindings()
    assert "READYCHECK_GRADING_QUEUE" in read
    assert read - set(sample_settings()) == set()


def test_every_sample_setting_is_documented_for_deployment() -> None:
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    missing = [key for key in sample_settings() if f"`{key}`" not in doc]
    assert missing == []


def test_grading_queue_matches_the_emulator_config() -> None:
    (namespace,) = json.loads(EMULATOR_CONFIG.read_text(encoding="utf-8"))["UserConfig"]["Namespaces"]
    (emulated,) = namespace["Queues"]
    servicebus = parse(SERVICEBUS_BICEP)
    (queue,) = [r["config"] for r in servicebus["resources"].values() if r["type"].endswith("/queues")]
    queue_name = resolve(
        parse(MAIN_BICEP), parse(MAIN_BICEP)["modules"]["serviceBus"]["config"]["params"]["gradingQueueName"]
    )
    assert (
        emulated["Name"]
        == queue_name
        == sample_settings()["READYCHECK_GRADING_QUEUE"]
        == default("grading_queue")
    )
    for key, value in emulated["Properties"].items():
        if value == "":
            assert key[0].lower() + key[1:] not in queue["properties"], key
            continue
        assert queue["properties"][key[0].lower() + key[1:]] == value, key


@pytest.mark.parametrize(
    ("setting", "default"),
    [
        ("READYCHECK_ANSWER_SHEETS_CONTAINER", default("answer_sheets_container")),
        ("READYCHECK_REPORTS_CONTAINER", default("reports_container")),
        ("READYCHECK_DIGESTS_CONTAINER", default("digests_container")),
    ],
)
def test_containers_exist_under_the_names_the_app_uses(setting: str, default: str) -> None:
    main = parse(MAIN_BICEP)
    containers = [resolve(main, c) for c in main["modules"]["storage"]["config"]["params"]["containerNames"]]
    assert sample_settings()[setting] == default
    assert default in containers


def test_state_table_is_named_by_the_table_prefix() -> None:
    main = parse(MAIN_BICEP)
    tables = [resolve(main, t) for t in main["modules"]["storage"]["config"]["params"]["tableNames"]]
    assert tables
    assert all(t.startswith(default("table_prefix")) for t in tables), tables
    assert sample_settings()["READYCHECK_TABLE_PREFIX"] == default("table_prefix")


def test_event_grid_feeds_the_apps_event_grid_blob_trigger() -> None:
    main = parse(MAIN_BICEP)
    function_name = resolve(main, main["outputs"]["READYCHECK_INGEST_FUNCTION_NAME"]["value"])
    container = resolve(main, main["outputs"]["READYCHECK_ANSWER_SHEETS_CONTAINER"]["value"])
    triggers = {name: binding for name, binding in registered_bindings() if binding["type"] == "blobTrigger"}
    assert function_name in triggers, f"infra feeds {function_name}; the app registers {sorted(triggers)}"
    trigger = triggers[function_name]
    assert trigger.get("source") == "EventGrid"
    path = trigger["path"]
    assert path.startswith((f"{container}/", "%READYCHECK_ANSWER_SHEETS_CONTAINER%/")), path
