"""The composition root: settings read once, services built once from them, fakes passed in, routes served."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator

import azure.functions as func
import pytest

import function_app
from bootstrap import AppRoot, HealthChecks, app_root, use_root
from shared.ports import Services
from shared.settings import Settings
from tests.fakes import SETTINGS, World, drain

ENV = {
    "READYCHECK_STORAGE": "UseDevelopmentStorage=true",
    "READYCHECK_SERVICEBUS": "Endpoint=sb://localhost",
    "READYCHECK_TABLE_PREFIX": "fromenv",
}
ON = dataclasses.replace(SETTINGS, easy_auth_enabled=True, platform_auth_enabled=True)
ROUTES: dict[str, Callable[..., object]] = {
    name: f.get_user_function() for f in function_app.app.get_functions() if (name := f.get_function_name())
}


@pytest.fixture(autouse=True)
def _environment_root_afterwards() -> Iterator[None]:
    yield
    use_root(None)


def _counting(world: World) -> tuple[list[Settings], Callable[[Settings], Services]]:
    seen: list[Settings] = []

    def build(settings: Settings) -> Services:
        seen.append(settings)
        return dataclasses.replace(world.services, settings=settings)

    return seen, build


def _principal(*claims: tuple[str, str]) -> str:
    body = {"auth_typ": "aad", "claims": [{"typ": t, "val": v} for t, v in claims]}
    return base64.b64encode(json.dumps(body).encode()).decode()


def _get(route: str, headers: dict[str, str] | None = None, **route_params: str) -> func.HttpResponse:
    req = func.HttpRequest(
        "GET", "http://localhost/api/x", headers=headers, route_params=route_params, body=b""
    )
    response = ROUTES[route](req)
    assert isinstance(response, func.HttpResponse)
    return response


def test_the_services_are_built_once_from_the_roots_own_settings_even_under_concurrent_triggers() -> None:
    seen, build = _counting(World())
    root = AppRoot(ON, build, lambda _: {})
    got: list[Services] = []
    threads = [threading.Thread(target=lambda: got.append(root.services)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [ON]
    assert all(services is got[0] for services in got)
    assert root.services.settings is root.settings


def test_health_checks_are_built_once_and_never_build_the_services() -> None:
    seen, build = _counting(World())
    built: list[HealthChecks] = []

    def checks(settings: Settings) -> HealthChecks:
        built.append({"storage": lambda: None})
        return built[-1]

    root = AppRoot(SETTINGS, build, checks)
    assert root.health_checks is root.health_checks
    assert len(built) == 1
    assert seen == []


def test_the_environment_is_read_once_and_nothing_is_built_until_a_trigger_needs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    use_root(None)
    root = app_root()
    monkeypatch.setenv("READYCHECK_TABLE_PREFIX", "changed")
    assert app_root() is root
    assert root.settings == Settings.from_env(ENV)
    assert root.settings.table_prefix == "fromenv"


def test_routes_answer_from_the_fakes_passed_into_the_root() -> None:
    world = World()
    use_root(AppRoot.of(world.services))
    content = world.stage("ignored.xlsx", "Ada Lovelace")
    req = func.HttpRequest(
        "POST", "http://localhost/api/uploads", params={"filename": "a.xlsx"}, body=content
    )
    accepted = ROUTES["upload_workbook"](req)
    assert isinstance(accepted, func.HttpResponse)
    assert accepted.status_code == 202
    upload_id = json.loads(accepted.get_body())["upload_id"]
    assert json.loads(_get("get_upload", upload_id=upload_id).get_body())["status"] == "received"


def test_triggers_run_their_handlers_on_the_roots_services() -> None:
    world = World()
    use_root(AppRoot.of(world.services))
    world.stage("sheet.xlsx", "Ada Lovelace", "Alan Turing")
    ROUTES["ingest_workbook"](func.blob.InputStream(data=b"", name="answer-sheets/sheet.xlsx"))
    assert len(world.sender.sent) > 0
    drain(world)
    assert world.engine.finish_calls


def test_the_health_route_answers_from_the_roots_checks() -> None:
    use_root(AppRoot.of(World().services, {"storage": lambda: None}))
    response = _get("health")
    assert response.status_code == 200
    assert json.loads(response.get_body())["checks"] == {"storage": "ok"}


def test_access_control_judges_callers_with_the_settings_the_services_were_built_with() -> None:
    world = World(settings=ON)
    world.blobs.write(ON.digests_container, "2026-03-01.docx", b"digest", "x")
    use_root(AppRoot.of(world.services))
    assert _get("get_digest", day="2026-03-01").status_code == 401
    candidate = {"x-ms-client-principal": _principal(("email", "ada@example.com"))}
    denied = _get("get_digest", candidate, day="2026-03-01")
    assert denied.status_code == 403
    assert json.loads(denied.get_body())["detail"] == "digests are for reviewers"
    reviewer = {"x-ms-client-principal": _principal(("oid", "r-1"), ("roles", "Reviewer"))}
    assert _get("get_digest", reviewer, day="2026-03-01").get_body() == b"digest"


def test_a_setting_that_does_not_build_is_a_logged_500_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for key in [k for k in os.environ if k.startswith("READYCHECK_STORAGE")]:
        monkeypatch.delenv(key)
    use_root(None)
    with caplog.at_level(logging.ERROR, logger="readycheck"):
        response = _get("get_upload", upload_id="0" * 32)
    assert response.status_code == 500
    assert b"READYCHECK_STORAGE" not in response.get_body()
    assert any("ConfigurationError" in r.getMessage() and r.exc_info for r in caplog.records)
