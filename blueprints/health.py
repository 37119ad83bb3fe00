"""GET /api/health: liveness of the app."""

import json

import azure.functions as func

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Answer 200 while the worker is up."""
    return func.HttpResponse(json.dumps({"status": "ok"}), status_code=200, mimetype="application/json")
