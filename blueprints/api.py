"""The HTTP API: uploads, status, reports, template, digests (see docs/api.md)."""

from __future__ import annotations

import azure.functions as func

from blueprints.http_responses import failure, respond, viewer
from shared.errors import ReadyCheckError

bp = func.Blueprint()
DATA = func.AuthLevel.FUNCTION


@bp.route(route="uploads", methods=["POST"], auth_level=DATA)
def upload_workbook(req: func.HttpRequest) -> func.HttpResponse:
    """Store a workbook and answer 202 with its status URL."""
    from shared.adapters.clients import services
    from shared.status import accept_upload

    try:
        return respond(accept_upload(services(), req.get_body(), req.params.get("filename", ""), viewer(req)))
    except ReadyCheckError as err:
        return failure(err)


@bp.route(route="uploads/{upload_id}", methods=["GET"], auth_level=DATA)
def get_upload(req: func.HttpRequest) -> func.HttpResponse:
    """An upload's status, problems and submissions."""
    from shared.adapters.clients import services
    from shared.status import upload_status

    try:
        return respond(upload_status(services(), req.route_params["upload_id"], viewer(req)))
    except ReadyCheckError as err:
        return failure(err)


@bp.route(route="uploads", methods=["GET"], auth_level=DATA)
def find_upload(req: func.HttpRequest) -> func.HttpResponse:
    """The upload of a blob put straight into storage (``?blob=``)."""
    from shared.adapters.clients import services
    from shared.status import upload_by_blob

    try:
        return respond(upload_by_blob(services(), req.params.get("blob", ""), viewer(req)))
    except ReadyCheckError as err:
        return failure(err)


@bp.route(route="submissions/{submission_id}", methods=["GET"], auth_level=DATA)
def get_submission(req: func.HttpRequest) -> func.HttpResponse:
    """A submission's status and scores."""
    from shared.adapters.clients import services
    from shared.status import submission_status

    try:
        return respond(submission_status(services(), req.route_params["submission_id"], viewer(req)))
    except ReadyCheckError as err:
        return failure(err)


@bp.route(route="submissions/{submission_id}/report", methods=["GET"], auth_level=DATA)
def get_report(req: func.HttpRequest) -> func.HttpResponse:
    """A submission's report (.docx), 304, 202 while grading, 422 when failed."""
    from shared.adapters.clients import services
    from shared.status import report_download

    try:
        sid, etag = req.route_params["submission_id"], req.headers.get("if-none-match")
        return respond(report_download(services(), sid, etag, viewer(req)))
    except ReadyCheckError as err:
        return failure(err)


@bp.route(route="digests/{day}", methods=["GET"], auth_level=DATA)
def get_digest(req: func.HttpRequest) -> func.HttpResponse:
    """A day's digest (.docx); reviewers only when access control is on."""
    from shared.adapters.clients import services
    from shared.status import digest_download

    try:
        return respond(digest_download(services(), req.route_params["day"], viewer(req)))
    except ReadyCheckError as err:
        return failure(err)


@bp.route(route="template", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_template(req: func.HttpRequest) -> func.HttpResponse:
    """The blank answer sheet."""
    from shared.adapters.clients import services
    from shared.status import template_download

    return respond(template_download(services().engine.template()))


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_openapi(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI document of this API."""
    from shared.openapi import openapi_document

    return func.HttpResponse(openapi_document(), mimetype="application/json")
