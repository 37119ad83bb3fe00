"""The HTTP API: uploads, status, reports, template, digests (see docs/api.md)."""

from __future__ import annotations

import azure.functions as func

from blueprints import new_blueprint
from blueprints.http_responses import answer, viewer
from bootstrap import AppRoot
from shared.http_results import HttpResult

bp = new_blueprint()
DATA = func.AuthLevel.FUNCTION


@bp.route(route="uploads", methods=["POST"], auth_level=DATA)
def upload_workbook(req: func.HttpRequest) -> func.HttpResponse:
    """Store a workbook and answer 202 with its status URL."""
    from shared.api_handlers import accept_upload

    def handle(app: AppRoot) -> HttpResult:
        return accept_upload(app.services, req.get_body(), req.params.get("filename", ""), viewer(app, req))

    return answer(handle)


@bp.route(route="uploads/{upload_id}", methods=["GET"], auth_level=DATA)
def get_upload(req: func.HttpRequest) -> func.HttpResponse:
    """An upload's status, problems and submissions."""
    from shared.api_handlers import upload_status

    return answer(lambda app: upload_status(app.services, req.route_params["upload_id"], viewer(app, req)))


@bp.route(route="uploads", methods=["GET"], auth_level=DATA)
def find_upload(req: func.HttpRequest) -> func.HttpResponse:
    """The upload of a blob put straight into storage (``?blob=&etag=``)."""
    from shared.api_handlers import upload_by_blob

    def handle(app: AppRoot) -> HttpResult:
        blob, etag = req.params.get("blob", ""), req.params.get("etag", "")
        return upload_by_blob(app.services, blob, etag, viewer(app, req))

    return answer(handle)


@bp.route(route="submissions/{submission_id}", methods=["GET"], auth_level=DATA)
def get_submission(req: func.HttpRequest) -> func.HttpResponse:
    """A submission's status and scores."""
    from shared.api_handlers import submission_status

    def handle(app: AppRoot) -> HttpResult:
        return submission_status(app.services, req.route_params["submission_id"], viewer(app, req))

    return answer(handle)


@bp.route(route="submissions/{submission_id}/report", methods=["GET"], auth_level=DATA)
def get_report(req: func.HttpRequest) -> func.HttpResponse:
    """A submission's report (.docx), 304, 202 while grading, 422 when failed."""
    from shared.api_handlers import report_download

    def handle(app: AppRoot) -> HttpResult:
        sid, etag = req.route_params["submission_id"], req.headers.get("if-none-match")
        return report_download(app.services, sid, etag, viewer(app, req))

    return answer(handle)


@bp.route(route="digests/{day}", methods=["GET"], auth_level=DATA)
def get_digest(req: func.HttpRequest) -> func.HttpResponse:
    """A day's digest (.docx); reviewers only when access control is on."""
    from shared.api_handlers import digest_download

    return answer(lambda app: digest_download(app.services, req.route_params["day"], viewer(app, req)))


@bp.route(route="template", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_template(req: func.HttpRequest) -> func.HttpResponse:
    """The blank answer sheet."""
    from shared.api_handlers import template_download

    return answer(lambda app: template_download(app.services.engine.template()))


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_openapi(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI document of this API."""
    from shared.openapi import openapi_document

    return func.HttpResponse(openapi_document(), mimetype="application/json")
