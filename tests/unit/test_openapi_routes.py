"""The OpenAPI document held against the route table the app registers: same routes, methods and keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devstack.functions_host.indexing import load_function_app
from shared.openapi import openapi_document

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SETTINGS: dict[str, str] = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
DOCUMENT: dict[str, Any] = json.loads(openapi_document())
# authLevel of the route -> the security the document must name for it.
SECURITY: dict[str, list[dict[str, list[str]]] | None] = {
    "anonymous": None,
    "function": [{"functionKey": []}],
    "admin": [{"masterKey": []}],
}


def _routes() -> dict[tuple[str, str], str]:
    """(path, method) -> authLevel of every HTTP-triggered function, as the host serves them."""
    routes: dict[tuple[str, str], str] = {}
    for spec in load_function_app(ROOT, SAMPLE_SETTINGS):
        if spec.trigger.type != "httpTrigger":
            continue
        path = "/api/" + str(spec.trigger.get("route") or spec.name)
        for method in spec.trigger.get("methods") or ["get", "post"]:
            routes[(path, str(method).lower())] = str(spec.trigger.get("authLevel")).lower()
    return routes


ROUTES = _routes()
DOCUMENTED = {(path, method) for path, ops in DOCUMENT["paths"].items() for method in ops}


def test_every_route_of_the_app_is_in_the_document() -> None:
    missing = sorted(set(ROUTES) - DOCUMENTED)
    assert not missing, f"routes the OpenAPI document lacks: {missing}"


def test_every_operation_of_the_document_is_a_route_of_the_app() -> None:
    extra = sorted(DOCUMENTED - set(ROUTES))
    assert not extra, f"operations in the OpenAPI document no route serves: {extra}"


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
def test_every_operation_names_the_key_its_route_requires(route: tuple[str, str]) -> None:
    path, method = route
    operation = DOCUMENT["paths"].get(path, {}).get(method)
    if operation is None:
        pytest.fail(f"{method.upper()} {path} is not in the document")
    assert operation.get("security") == SECURITY[ROUTES[route]]


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
def test_every_path_parameter_of_a_route_is_declared(route: tuple[str, str]) -> None:
    path, method = route
    operation = DOCUMENT["paths"].get(path, {}).get(method, {})
    declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
    in_path = {part[1:-1] for part in path.split("/") if part.startswith("{")}
    assert declared == in_path


def test_every_json_response_refers_to_a_generated_schema() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    refs = [
        media["schema"]["$ref"].rsplit("/", 1)[1]
        for ops in DOCUMENT["paths"].values()
        for operation in ops.values()
        for response in operation["responses"].values()
        for media in response.get("content", {}).values()
        if "$ref" in media.get("schema", {})
    ]
    assert refs
    assert all(ref in schemas for ref in refs)
