"""The local host's pure rules: routes, binding expressions, schedules, settings and indexing.

These need no services; they live beside the host's integration tests because they test the same code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devstack.functions_host.config import (
    DEVELOPMENT_STORAGE,
    HostConfigError,
    connection_value,
    load_app_settings,
    load_host_options,
    parse_timespan,
)
from devstack.functions_host.expressions import (
    BindingExpressionError,
    match_blob_path,
    resolve_parameters,
    resolve_settings,
)
from devstack.functions_host.indexing import load_function_app
from devstack.functions_host.provisioning import required_resources
from devstack.functions_host.routes import RouteTemplate
from devstack.functions_host.timer_trigger import Schedule, is_past_due
from devstack.processes import free_port
from tests.integration.functions_host.conftest import APPS

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("items/{id:int}", "items/42", {"id": "42"}),
        ("items/{id:int}", "items/x", None),
        ("items/{id:int:min(10)}", "items/9", None),
        ("items/{id?}", "items", {}),
        ("items/{id=first}", "items", {"id": "first"}),
        ("files/{*path}", "files/a/b/c.txt", {"path": "a/b/c.txt"}),
        ("files/{*path}", "files", {}),
        (
            "Items/{id:guid}",
            "items/0b6b2a52-6c6b-4c8e-9c3e-5f3c1f0a9e11",
            {"id": "0b6b2a52-6c6b-4c8e-9c3e-5f3c1f0a9e11"},
        ),
        ("codes/{code:regex(^[A-Z]+$)}", "codes/ABC", {"code": "ABC"}),
        ("codes/{code:regex(^[A-Z]+$)}", "codes/abc", None),
        ("codes/{code:alpha:length(3)}", "codes/abc", {"code": "abc"}),
        ("items/{id}", "items/1/extra", None),
    ],
)
def test_route_templates_match_like_the_functions_host(template: str, path: str, expected: object) -> None:
    assert RouteTemplate.parse(template).match(path) == expected


@pytest.mark.parametrize("template", ["items/{id:bogus}", "files/{*path}/more", "items/x{id}"])
def test_malformed_route_templates_are_refused_at_start_up(template: str) -> None:
    with pytest.raises(HostConfigError):
        RouteTemplate.parse(template)


def test_blob_path_patterns_capture_their_named_parts() -> None:
    assert match_blob_path("uploads/{folder}/{name}.xlsx", "uploads", "2026/sheet.xlsx") == {
        "folder": "2026",
        "name": "sheet",
    }
    assert match_blob_path("uploads/{name}.xlsx", "uploads", "sheet.csv") is None
    assert match_blob_path("uploads/{name}", "other", "sheet.csv") is None


def test_parameters_resolve_case_insensitively_and_through_dotted_paths() -> None:
    data = {"Id": 7, "Metadata": {"Owner": "ana"}}
    assert resolve_parameters("rows/{id}/{metadata.owner}", data) == "rows/7/ana"
    with pytest.raises(BindingExpressionError, match="missing"):
        resolve_parameters("rows/{missing}", data)


def test_percent_expressions_read_app_settings_and_name_a_missing_one() -> None:
    assert resolve_settings("%QUEUE%-poison", {"QUEUE": "work"}) == "work-poison"
    with pytest.raises(HostConfigError, match="NOPE"):
        resolve_settings("%NOPE%", {})


def test_ncrontab_has_six_fields_with_seconds_first() -> None:
    schedule = Schedule.parse("*/10 * * * * *", None)
    assert schedule.next_after(datetime(2026, 1, 1, 12, 0, 3, tzinfo=UTC)) == datetime(
        2026, 1, 1, 12, 0, 10, tzinfo=UTC
    )
    with pytest.raises(HostConfigError, match="six fields"):
        Schedule.parse("0 6 * * *", None)


def test_timespan_schedules_repeat_at_their_interval() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert Schedule.parse("00:05:00", None).next_after(start) == start + timedelta(minutes=5)


def test_schedules_follow_website_time_zone() -> None:
    schedule = Schedule.parse("0 0 9 * * *", "Europe/Amsterdam")
    assert schedule.next_after(datetime(2026, 1, 15, 0, 0, tzinfo=UTC)) == datetime(
        2026, 1, 15, 8, 0, tzinfo=UTC
    )
    with pytest.raises(HostConfigError, match="time zone"):
        Schedule.parse("0 0 9 * * *", "Mars/Olympus")


def test_a_timer_is_past_due_when_its_next_run_passed_while_the_host_was_down() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert is_past_due({"Next": (now - timedelta(minutes=1)).isoformat()}, now)
    assert not is_past_due({"Next": (now + timedelta(minutes=1)).isoformat()}, now)
    assert not is_past_due({}, now)


def test_timespans_parse_days_and_fractions() -> None:
    assert parse_timespan("1.02:03:04.5") == timedelta(days=1, hours=2, minutes=3, seconds=4.5)
    with pytest.raises(HostConfigError):
        parse_timespan("five minutes")


def test_environment_wins_over_local_settings_and_overrides_win_over_both(tmp_path: Path) -> None:
    values = {"A": "file", "B": "file", "C": "file"}
    (tmp_path / "local.settings.json").write_text(
        json.dumps({"Values": values, "Host": {"LocalHttpPort": 7080}})
    )
    settings, host = load_app_settings(tmp_path, {"C": "override"}, {"B": "env"})
    assert (settings["A"], settings["B"], settings["C"]) == ("file", "env", "override")
    assert host == {"LocalHttpPort": 7080}


def test_host_json_options_are_read_and_bad_values_located(tmp_path: Path) -> None:
    document = {
        "version": "2.0",
        "functionTimeout": "00:02:00",
        "extensions": {"http": {"routePrefix": ""}, "serviceBus": {"maxConcurrentCalls": 3}},
        "logging": {"logLevel": {"default": "Warning", "Function.noisy": "None"}},
    }
    (tmp_path / "host.json").write_text(json.dumps(document))
    options = load_host_options(tmp_path)
    assert (options.route_prefix, options.function_timeout) == ("", timedelta(minutes=2))
    assert options.service_bus.max_concurrent_calls == 3
    assert (options.log_level("Function.noisy"), options.log_level("Function.other")) == ("None", "Warning")
    (tmp_path / "host.json").write_text('{"version": "2.0", "functionTimeout": "soon"}')
    with pytest.raises(HostConfigError, match=r"host\.json: 'soon' is not a TimeSpan"):
        load_host_options(tmp_path)


def test_app_settings_override_host_json_like_azure(tmp_path: Path) -> None:
    document = {"version": "2.0", "extensions": {"serviceBus": {"maxConcurrentCalls": 3, "prefetchCount": 1}}}
    (tmp_path / "host.json").write_text(json.dumps(document))
    settings = {
        "AzureFunctionsJobHost__extensions__servicebus__maxConcurrentCalls": "7",
        "AzureFunctionsJobHost__extensions__serviceBus__autoCompleteMessages": "false",
        "AzureFunctionsJobHost__functionTimeout": "00:00:30",
        "AzureFunctionsJobHost__logging__logLevel__Function.noisy": "Warning",
        "OtherSetting": "1",
    }
    options = load_host_options(tmp_path, settings)
    assert options.service_bus.max_concurrent_calls == 7
    assert options.service_bus.prefetch_count == 1
    assert options.service_bus.auto_complete_messages is False
    assert options.function_timeout == timedelta(seconds=30)
    assert options.log_level("Function.noisy") == "Warning"
    (tmp_path / "host.json").unlink()
    assert load_host_options(tmp_path, settings).service_bus.max_concurrent_calls == 7
    bad = {"AzureFunctionsJobHost__extensions__serviceBus__autoCompleteMessages": "sometimes"}
    with pytest.raises(HostConfigError, match=r"autoCompleteMessages.*'sometimes' is not true or false"):
        load_host_options(tmp_path, bad)


def test_connections_fall_back_to_the_azurewebjobs_prefix_and_development_storage() -> None:
    assert connection_value({"AzureWebJobsStore": "x=1"}, "Store") == "x=1"
    assert connection_value({"AzureWebJobsStorage": "UseDevelopmentStorage=true"}, "") == DEVELOPMENT_STORAGE
    with pytest.raises(HostConfigError, match="'Missing' is missing"):
        connection_value({}, "Missing")


def test_an_app_for_another_runtime_is_refused() -> None:
    with pytest.raises(HostConfigError, match="FUNCTIONS_WORKER_RUNTIME is node"):
        load_function_app(APPS / "storage_app", {"FUNCTIONS_WORKER_RUNTIME": "node"})


def test_the_resources_an_app_needs_come_from_its_bindings() -> None:
    settings = {"FUNCTIONS_WORKER_RUNTIME": "python", "INBOX_CONTAINER": "inbox"}
    resources = required_resources(load_function_app(APPS / "storage_app", settings), settings)
    assert {"inbox", "events", "copies", "timer-runs", "processed"} <= resources.containers["Storage"]
    assert resources.queues["Storage"] == {"work", "work-done"}
    assert resources.tables["Storage"] == {"items"}


PYTHON_RUNTIME = '{"Values": {"FUNCTIONS_WORKER_RUNTIME": "python"}}'


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "FUNCTIONS_WORKER_RUNTIME is missing"),
        ({"local.settings.json": PYTHON_RUNTIME}, "function_app.py does not exist"),
        ({"host.json": '{"version": "1.0"}'}, "host.json: 'version' must be \"2.0\""),
    ],
)
def test_a_host_that_cannot_start_says_why_in_one_line(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    argv = [sys.executable, "-m", "devstack.functions_host", "--app-dir", str(tmp_path)]
    run = subprocess.run(
        [*argv, "--port", str(free_port())], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
    )
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr
