"""The OpenAPI 3.1 document of the HTTP API, served at ``GET /api/openapi.json``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache

_ID: dict[str, object] = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
_PROBLEM = {
    "description": "Problem details",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_KEY: list[dict[str, list[str]]] = [{"functionKey": []}]


def _path_param(name: str, schema: Mapping[str, object]) -> dict[str, object]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _ok(description: str, media: str = "application/json") -> dict[str, object]:
    return {"description": description, "content": {media: {"schema": {"type": "object"}}}}


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
                    "202": _ok("Accepted: upload_id and status_url; Location header"),
                    "400": _PROBLEM,
                    "413": _PROBLEM,
                    "415": _PROBLEM,
                },
            },
            "get": {
                "summary": "Find the upload of a blob put straight into storage",
                "security": _KEY,
                "parameters": [
                    {"name": "blob", "in": "query", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": _ok("The upload"), "400": _PROBLEM, "404": _PROBLEM},
            },
        },
        "/api/uploads/{upload_id}": {
            "get": {
                "summary": "Upload status: received, rejected, grading, graded, partially_graded",
                "security": _KEY,
                "parameters": [_path_param("upload_id", _ID)],
                "responses": {"200": _ok("The upload and its submissions"), "404": _PROBLEM},
            }
        },
        "/api/submissions/{submission_id}": {
            "get": {
                "summary": "Submission status and scores",
                "security": _KEY,
                "parameters": [_path_param("submission_id", _ID)],
                "responses": {"200": _ok("The submission"), "404": _PROBLEM},
            }
        },
        "/api/submissions/{submission_id}/report": {
            "get": {
                "summary": "The readiness report (.docx); conditional with If-None-Match",
                "security": _KEY,
                "parameters": [_path_param("submission_id", _ID)],
                "responses": {
                    "200": _ok("The report", _DOCX),
                    "202": _ok("Still grading; Retry-After header"),
                    "304": {"description": "Not modified"},
                    "404": _PROBLEM,
                    "422": _PROBLEM,
                },
            }
        },
        "/api/digests/{day}": {
            "get": {
                "summary": "A day's digest (.docx); reviewers only with Easy Auth on",
                "security": _KEY,
                "parameters": [_path_param("day", {"type": "string", "format": "date"})],
                "responses": {
                    "200": _ok("The digest", _DOCX),
                    "400": _PROBLEM,
                    "403": _PROBLEM,
                    "404": _PROBLEM,
                },
            },
            "post": {
                "summary": "Build the day's digest now (admin key)",
                "security": [{"masterKey": []}],
                "parameters": [_path_param("day", {"type": "string", "format": "date"})],
                "responses": {"201": _ok("Built; Location header"), "400": _PROBLEM},
            },
        },
        "/api/dead-letters/replay": {
            "post": {
                "summary": "Reopen dead-lettered submissions and re-send their sections (admin key)",
                "security": [{"masterKey": []}],
                "parameters": [{"name": "max", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": _ok("How many were replayed"), "400": _PROBLEM},
            }
        },
        "/api/template": {
            "get": {
                "summary": "The blank answer sheet",
                "responses": {"200": _ok("The template", "application/vnd.ms-excel")},
            }
        },
        "/api/health": {
            "get": {"summary": "Readiness of storage and Service Bus", "responses": {"200": _ok("Ready")}}
        },
    }
    document = {
        "openapi": "3.1.0",
        "info": {"title": "ReadyCheck", "version": "1.0.0"},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "masterKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
            }
        },
    }
    return json.dumps(document, indent=2)
