"""ASGI and WSGI apps (FastAPI, plain WSGI) wrapped in AsgiFunctionApp/WsgiFunctionApp serve their routes."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.fixtures.functions_host import RunningHost
from tests.integration.functions_host.conftest import APPS

pytestmark = pytest.mark.integration


def test_a_fastapi_app_in_asgi_function_app_serves_its_routes(
    functions_host: Callable[..., RunningHost], storage_settings: dict[str, str]
) -> None:
    host = functions_host(APPS / "asgi_app", storage_settings)
    got = httpx.get(f"{host.base_url}/api/hello/Ada", params={"greeting": "Hi"}, timeout=30)
    assert (got.status_code, got.json()) == (200, {"message": "Hi, Ada"})
    posted = httpx.post(f"{host.base_url}/api/echo", json={"n": 1}, timeout=30)
    assert (posted.status_code, posted.json()) == (200, {"received": {"n": 1}})
    missing = httpx.get(f"{host.base_url}/api/nowhere", timeout=30)
    assert missing.status_code == 404


def test_a_wsgi_app_in_wsgi_function_app_serves_its_routes(
    functions_host: Callable[..., RunningHost], storage_settings: dict[str, str]
) -> None:
    host = functions_host(APPS / "wsgi_app", storage_settings)
    got = httpx.post(f"{host.base_url}/any/path", timeout=30)
    assert (got.status_code, got.text) == (200, "POST /any/path")
