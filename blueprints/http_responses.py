"""Answering an HTTP trigger: run its handler against the composition root, map named errors, respond."""

from __future__ import annotations

from collections.abc import Callable

import azure.functions as func

from blueprints.error_map import failure
from bootstrap import AppRoot, app_root
from shared.access import PRINCIPAL_HEADER, Viewer, viewer_from_header
from shared.errors import ReadyCheckError
from shared.http_results import HttpResult


def answer(handle: Callable[[AppRoot], HttpResult]) -> func.HttpResponse:
    """The response of one route: its handler's result, or the error map's answer to a named error."""
    try:
        result = handle(app_root())
    except ReadyCheckError as err:
        result = failure(err)
    return respond(result)


def respond(result: HttpResult) -> func.HttpResponse:
    """The Functions response of a core result."""
    return func.HttpResponse(
        body=result.body,
        status_code=result.status,
        headers=dict(result.headers),
        mimetype=result.content_type,
    )


def viewer(app: AppRoot, req: func.HttpRequest) -> Viewer:
    """Who is asking, judged with the root's settings (shared/access.py says when the header is trusted)."""
    return viewer_from_header(req.headers.get(PRINCIPAL_HEADER), app.settings)
