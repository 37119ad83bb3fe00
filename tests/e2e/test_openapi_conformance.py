"""schemathesis against the app on the local stack: every route of the OpenAPI document, generated
requests (valid and invalid), no 5xx and every answer's status, content type and body as documented.

The document is ``shared.openapi``'s, the one the running app serves (checked below), so what is
checked is what callers read. Bounded: a few examples per operation, derandomized, so a run is repeatable.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from samples.workbooks import template_workbook
from shared.bank import ItemKind, load_bank
from shared.openapi import openapi_document
from shared.records import candidate_id_for
from shared.submission import Candidate
from tests.e2e.conftest import FUNCTION_KEY, MASTER_KEY, Stack

pytestmark = pytest.mark.e2e

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
]
# Left out, on purpose:
# - unsupported_method: the Functions host (Azure's as the local one) answers 404, not 405, to a method
#   a route does not register; that is the platform's answer, not the app's.
# - positive_data_acceptance: generated ids are unknown ids, and an unknown id is a 404 by design
#   (docs/api.md: ids cannot be probed), so valid requests are not expected to succeed.
# - use_after_free, ensure_resource_availability: stateful checks over links the document does not declare.


# Loaded from the code, not the running app: schemathesis makes one test per operation at collection.
schema = schemathesis.openapi.from_dict(json.loads(openapi_document()))


def test_the_app_serves_the_document_schemathesis_tests(stack: Stack) -> None:
    response = stack.http.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(openapi_document())


def _key(case: Any) -> str:
    """The master key for admin operations, the function key for the rest (anonymous ones ignore it)."""
    security = case.operation.definition.raw.get("security") or []
    return MASTER_KEY if {"masterKey": []} in security else FUNCTION_KEY


@schema.parametrize()
@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_route_answers_as_the_openapi_document_says(case: Any, stack: Stack) -> None:
    response = case.call(base_url=stack.host.base_url, headers={"x-functions-key": _key(case)}, timeout=30)
    case.validate_response(response, checks=CHECKS)


def _checked(stack: Stack, path: str, method: str, **parts: Any) -> Any:
    """One documented request with the given parts, its answer validated like the generated ones."""
    case = schema[path][method].Case(**parts)
    response = case.call(base_url=stack.host.base_url, headers={"x-functions-key": _key(case)}, timeout=60)
    case.validate_response(response, checks=CHECKS)
    return response


def test_a_graded_upload_answers_every_route_as_the_openapi_document_says(stack: Stack) -> None:
    # Generated ids are unknown ones (404): this walks the 2xx answers of a real graded upload.
    bank = load_bank()
    choice = [i for i in bank.items if i.kind in (ItemKind.SINGLE_CHOICE, ItemKind.MULTIPLE_CHOICE)]
    email = f"openapi.{datetime.now(UTC):%H%M%S%f}@example.com"
    sheet = template_workbook(
        bank,
        {i.id: list(i.answer) for i in choice[:10]},
        {},
        Candidate(name="Olive Openapi", email=email, date="2026-11-20"),
    )
    accepted = _checked(
        stack,
        "/api/uploads",
        "POST",
        query={"filename": "openapi.xlsx"},
        body=sheet,
        media_type="application/octet-stream",
    )
    assert accepted.status_code == 202
    upload_id = accepted.json()["upload_id"]
    stack.wait_finished(upload_id)
    upload = _checked(stack, "/api/uploads/{upload_id}", "GET", path_parameters={"upload_id": upload_id})
    [submission] = upload.json()["submissions"]
    sid = submission["submission_id"]
    ids = {"submission_id": sid}
    assert _checked(stack, "/api/submissions/{submission_id}", "GET", path_parameters=ids).status_code == 200
    report = _checked(stack, "/api/submissions/{submission_id}/report", "GET", path_parameters=ids)
    assert report.status_code == 200
    cached = {"If-None-Match": report.headers["etag"][0]}
    unchanged = _checked(
        stack, "/api/submissions/{submission_id}/report", "GET", path_parameters=ids, headers=cached
    )
    assert unchanged.status_code == 304
    history = _checked(
        stack,
        "/api/candidates/{candidate_id}/history",
        "GET",
        path_parameters={"candidate_id": candidate_id_for(email)},
    )
    assert len(history.json()["attempts"]) == 1
    item = {**ids, "item_id": choice[0].id}
    read = _checked(stack, "/api/submissions/{submission_id}/items/{item_id}", "GET", path_parameters=item)
    assert read.status_code == 200
    decided = _checked(
        stack,
        "/api/submissions/{submission_id}/items/{item_id}",
        "PUT",
        path_parameters=item,
        headers={"If-Match": read.headers["etag"][0]},
        body={"points": read.json()["graded_points"], "reason": "checked by the conformance test"},
        media_type="application/json",
    )
    assert decided.status_code == 200
    queue = _checked(stack, "/api/reviews", "GET", query={"status": "all", "upload": upload_id})
    assert queue.json()["count"] >= 1
    etag = stack.blobs.get_blob_client("answer-sheets", accepted.json()["blob"]).get_blob_properties().etag
    found = _checked(stack, "/api/uploads", "GET", query={"blob": accepted.json()["blob"], "etag": etag})
    assert found.json()["upload_id"] == upload_id
    again = _checked(
        stack, "/api/uploads/{upload_id}/reingest", "POST", path_parameters={"upload_id": upload_id}
    )
    assert again.status_code == 409
