"""Turning the core's HTTP results and errors into ``func.HttpResponse`` s."""

from __future__ import annotations

import azure.functions as func

from shared.access import PRINCIPAL_HEADER, Viewer, viewer_from_header
from shared.errors import NotAuthenticated, ReadyCheckError, TransientServiceError
from shared.http_results import HttpResult, problem
from shared.settings import get_settings


def respond(result: HttpResult) -> func.HttpResponse:
    """The Functions response of a core result."""
    return func.HttpResponse(
        body=result.body,
        status_code=result.status,
        headers=dict(result.headers),
        mimetype=result.content_type,
    )


def viewer(req: func.HttpRequest) -> Viewer:
    """Who is asking (see shared/access.py for when the platform header is trusted)."""
    return viewer_from_header(req.headers.get(PRINCIPAL_HEADER), get_settings())


def failure(err: ReadyCheckError) -> func.HttpResponse:
    """A problem-details response for a named error; never a traceback."""
    if isinstance(err, NotAuthenticated):
        result = problem(401, "Unauthorized", str(err))
        return respond(
            HttpResult(result.status, result.body, result.content_type, {"WWW-Authenticate": "Bearer"})
        )
    if isinstance(err, TransientServiceError):
        result = problem(503, "Service Unavailable", "a backing service is busy; try again shortly")
        return respond(HttpResult(result.status, result.body, result.content_type, {"Retry-After": "5"}))
    return respond(problem(500, "Internal Server Error", "the request could not be completed"))
