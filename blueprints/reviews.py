"""Human moderation routes: the review queue, an item's review and decision, the export (docs/api.md)."""

from __future__ import annotations

import azure.functions as func

from blueprints import new_blueprint
from blueprints.http_responses import answer, viewer
from bootstrap import AppRoot
from shared.http_results import HttpResult

bp = new_blueprint()
DATA = func.AuthLevel.FUNCTION


@bp.route(route="reviews", methods=["GET"], auth_level=DATA)
def list_reviews(req: func.HttpRequest) -> func.HttpResponse:
    """The review queue (``?status=awaiting|reviewed|all``, ``&upload=<id>``); reviewers only."""
    from shared.review_api import review_queue

    def handle(app: AppRoot) -> HttpResult:
        status, upload = req.params.get("status", ""), req.params.get("upload", "")
        return review_queue(app.services, viewer(app, req), status, upload)

    return answer(handle)


@bp.route(route="reviews/export", methods=["GET"], auth_level=DATA)
def export_reviews(req: func.HttpRequest) -> func.HttpResponse:
    """Reviewer decisions as JSON lines (``?from=&to=`` days); reviewers only."""
    from shared.review_api import export_decisions

    def handle(app: AppRoot) -> HttpResult:
        since, until = req.params.get("from", ""), req.params.get("to", "")
        return export_decisions(app.services, viewer(app, req), since, until)

    return answer(handle)


@bp.route(route="submissions/{submission_id}/items/{item_id}", methods=["GET"], auth_level=DATA)
def get_item(req: func.HttpRequest) -> func.HttpResponse:
    """One item of a graded submission with its review state and ETag; reviewers only."""
    from shared.review_api import item_review

    def handle(app: AppRoot) -> HttpResult:
        sid, item = req.route_params["submission_id"], req.route_params["item_id"]
        return item_review(app.services, sid, item, viewer(app, req))

    return answer(handle)


@bp.route(route="submissions/{submission_id}/items/{item_id}", methods=["PUT"], auth_level=DATA)
def decide_item(req: func.HttpRequest) -> func.HttpResponse:
    """Keep or override an item's points with a reason (``If-Match``); reviewers only."""
    from shared.review_api import decide_item as decide

    def handle(app: AppRoot) -> HttpResult:
        sid, item = req.route_params["submission_id"], req.route_params["item_id"]
        if_match = req.headers.get("if-match")
        return decide(app.services, sid, item, if_match, req.get_body(), viewer(app, req))

    return answer(handle)
