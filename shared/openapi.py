"""The OpenAPI 3.1 document of the HTTP API, served at ``GET /api/openapi.json``.

Response bodies are the pydantic models of :mod:`shared.api_models` and the review request is
:class:`shared.moderation.ReviewRequest`, their schemas generated with ``model_json_schema``.
tests/unit/test_openapi_routes.py holds the paths and methods against the app's route table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared import api_models as m
from shared.moderation import ReviewRequest

_ID: dict[str, object] = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
_ITEM_ID: dict[str, object] = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}
_DATE: dict[str, object] = {"type": "string", "format": "date"}
_REF = "#/components/schemas/{model}"
_PROBLEM = {
    "description": "Problem details",
    "content": {"application/problem+json": {"schema": {"$ref": _REF.format(model="Problem")}}},
}
# The Functions host answers a missing or wrong key itself, before any handler runs.
_NO_KEY = {"description": "No valid key for this route (answered by the Functions host, empty body)"}
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_KEY: list[dict[str, list[str]]] = [{"functionKey": []}]
_MODELS: tuple[type[BaseModel], ...] = (
    m.Problem,
    m.UploadAccepted,
    m.UploadStatusBody,
    m.SubmissionStatusBody,
    m.ReportPending,
    m.CandidateHistory,
    m.MyHistory,
    m.DigestBuilt,
    m.Replayed,
    m.Reingested,
    m.ReviewQueue,
    m.ItemBody,
    m.DecisionBody,
    m.Health,
    ReviewRequest,
)


def _path_param(name: str, schema: Mapping[str, object]) -> dict[str, object]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _or_empty(schema: Mapping[str, object]) -> dict[str, object]:
    """A query value where ``?name=`` (empty) means the same as leaving it out: the default."""
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _ok(description: str, model: type[BaseModel] | None = None) -> dict[str, object]:
    """A JSON response of ``model``'s schema."""
    schema: Mapping[str, object] = _ref(model) if model is not None else {}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _file(description: str, media: str) -> dict[str, object]:
    return {"description": description, "content": {media: {}}}


def _schemas() -> dict[str, object]:
    """Every model's JSON schema, the nested ones included, under ``components/schemas``."""
    _, top = models_json_schema(
        [(model, "serialization") for model in _MODELS if model is not ReviewRequest]
        + [(ReviewRequest, "validation")],
        ref_template=_REF,
    )
    return dict(top.get("$defs", {}))


@lru_cache(maxsize=1)
def openapi_document() -> str:
    """The document as JSON text."""
    paths: dict[str, object] = {
        "/api/uploads": {
            "post": {
                "summary": "Upload a workbook (.xlsx body); grading runs asynchronously",
                "security": _KEY,
                "parameters": [{"name": "filename", "in": "query", "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/octet-stream": {}}},
                "responses": {
                    "202": _ok("Accepted: upload_id and status_url; Location header", m.UploadAccepted),
                    "400": _PROBLEM,
                    "413": _PROBLEM,
                    "415": _PROBLEM,
                },
            },
            "get": {
                "summary": "Find the upload of a blob put straight into storage, proven by its ETag",
                "security": _KEY,
                "parameters": [
                    {"name": "blob", "in": "query", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "etag",
                        "in": "query",
                        "description": "the ETag storage returned for the blob; reviewers may omit it",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {"200": _ok("The upload", m.UploadStatusBody), "400": _PROBLEM, "404": _PROBLEM},
            },
        },
        "/api/uploads/{upload_id}": {
            "get": {
                "summary": "Upload status: received, rejected, failed, grading, graded, partially_graded",
                "security": _KEY,
                "parameters": [_path_param("upload_id", _ID)],
                "responses": {
                    "200": _ok("The upload and its submissions", m.UploadStatusBody),
                    "404": _PROBLEM,
                },
            }
        },
        "/api/submissions/{submission_id}": {
            "get": {
                "summary": "Submission status and scores",
                "security": _KEY,
                "parameters": [_path_param("submission_id", _ID)],
                "responses": {"200": _ok("The submission", m.SubmissionStatusBody), "404": _PROBLEM},
            }
        },
        "/api/submissions/{submission_id}/report": {
            "get": {
                "summary": "The readiness report (.docx); conditional with If-None-Match",
                "security": _KEY,
                "parameters": [
                    _path_param("submission_id", _ID),
                    {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _file("The report", _DOCX),
                    "202": _ok("Still grading; Retry-After header", m.ReportPending),
                    "304": {"description": "Not modified; ETag header"},
                    "404": _PROBLEM,
                    "422": _PROBLEM,
                },
            }
        },
        "/api/candidates/{candidate_id}/history": {
            "get": {
                "summary": "A candidate's graded attempts, oldest first ('me': the signed-in candidate)",
                "security": _KEY,
                "parameters": [_path_param("candidate_id", {"type": "string"})],
                "responses": {
                    "200": {
                        "description": "The attempts with scores and report links ('me': one per email)",
                        "content": {
                            "application/json": {
                                "schema": {"anyOf": [_ref(m.CandidateHistory), _ref(m.MyHistory)]}
                            }
                        },
                    },
                    "400": _PROBLEM,
                    "404": _PROBLEM,
                },
            }
        },
        "/api/digests/{day}": {
            "get": {
                "summary": "A day's digest (.docx); reviewers only with Easy Auth on",
                "security": _KEY,
                "parameters": [_path_param("day", {"type": "string", "format": "date"})],
                "responses": {
                    "200": _file("The digest", _DOCX),
                    "400": _PROBLEM,
                    "403": _PROBLEM,
                    "404": _PROBLEM,
                },
            },
            "post": {
                "summary": "Build the day's digest now (admin key)",
                "security": [{"masterKey": []}],
                "parameters": [_path_param("day", {"type": "string", "format": "date"})],
                "responses": {"201": _ok("Built; Location header", m.DigestBuilt), "400": _PROBLEM},
            },
        },
        "/api/dead-letters/replay": {
            "post": {
                "summary": "Reopen dead-lettered submissions and re-send their sections (admin key)",
                "security": [{"masterKey": []}],
                "parameters": [{"name": "max", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": _ok("How many were replayed", m.Replayed), "400": _PROBLEM},
            }
        },
        "/api/reviews": {
            "get": {
                "summary": "The review queue (reviewers only with Easy Auth on)",
                "security": _KEY,
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": _or_empty({"type": "string", "enum": ["awaiting", "reviewed", "all"]}),
                    },
                    {"name": "upload", "in": "query", "schema": _or_empty(_ID)},
                ],
                "responses": {
                    "200": _ok("Items and their ETags", m.ReviewQueue),
                    "400": _PROBLEM,
                    "403": _PROBLEM,
                },
            }
        },
        "/api/reviews/export": {
            "get": {
                "summary": "Reviewer decisions of a range of days as JSON lines",
                "security": _KEY,
                "parameters": [
                    {"name": "from", "in": "query", "schema": _or_empty(_DATE)},
                    {"name": "to", "in": "query", "schema": _or_empty(_DATE)},
                ],
                "responses": {
                    "200": {"description": "One decision per line", "content": {"application/jsonl": {}}},
                    "400": _PROBLEM,
                    "403": _PROBLEM,
                },
            }
        },
        "/api/submissions/{submission_id}/items/{item_id}": {
            "get": {
                "summary": "One item of a graded submission, its review state and ETag (reviewers only)",
                "security": _KEY,
                "parameters": [_path_param("submission_id", _ID), _path_param("item_id", _ITEM_ID)],
                "responses": {
                    "200": _ok("The item; ETag header", m.ItemBody),
                    "403": _PROBLEM,
                    "404": _PROBLEM,
                    "409": _PROBLEM,
                },
            },
            "put": {
                "summary": "Keep or override an item's points with a reason; If-Match required",
                "security": _KEY,
                "parameters": [
                    _path_param("submission_id", _ID),
                    _path_param("item_id", _ITEM_ID),
                    {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(ReviewRequest)}},
                },
                "responses": {
                    "200": _ok("The decision and the regenerated scores; ETag header", m.DecisionBody),
                    "400": _PROBLEM,
                    "403": _PROBLEM,
                    "404": _PROBLEM,
                    "409": _PROBLEM,
                    "412": _PROBLEM,
                    "422": _PROBLEM,
                    "428": _PROBLEM,
                },
            },
        },
        "/api/uploads/{upload_id}/reingest": {
            "post": {
                "summary": "Run a failed upload's ingest again (admin key)",
                "security": [{"masterKey": []}],
                "parameters": [_path_param("upload_id", _ID)],
                "responses": {
                    "200": _ok("Ingested; Location header", m.Reingested),
                    "404": _PROBLEM,
                    "409": _PROBLEM,
                    "410": _PROBLEM,
                    "503": _PROBLEM,
                },
            }
        },
        "/api/template": {
            "get": {
                "summary": "The blank answer sheet",
                "responses": {"200": _file("The template", _XLSX)},
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {"200": _ok("OpenAPI 3.1")},
            }
        },
        "/api/health": {
            "get": {
                "summary": "Readiness of storage and Service Bus",
                "responses": {"200": _ok("Ready", m.Health), "503": _ok("Degraded", m.Health)},
            }
        },
    }
    for operations in paths.values():
        for operation in operations.values():  # type: ignore[attr-defined]
            if "security" in operation:
                # Every keyed route reads storage: a backing service still down after the retries is a 503.
                operation["responses"].setdefault("503", _PROBLEM)
                operation["responses"].setdefault("401", _NO_KEY)
    document = {
        "openapi": "3.1.0",
        "info": {"title": "ReadyCheck", "version": "1.0.0"},
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "masterKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
            },
        },
    }
    return json.dumps(document, indent=2)
