"""A candidate's progress across uploads (see docs/api.md): ``me`` or a candidate id."""

from __future__ import annotations

import azure.functions as func

from blueprints import new_blueprint
from blueprints.http_responses import answer, viewer

bp = new_blueprint()


# One route for both: "me" is not a valid candidate id, so the two cannot be confused.
@bp.route(route="candidates/{candidate_id}/history", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def candidate_history(req: func.HttpRequest) -> func.HttpResponse:
    """The candidate's graded attempts, oldest first, with their scores and report links."""
    from shared.history import history_request

    candidate = req.route_params["candidate_id"]
    return answer(lambda app: history_request(app.services, candidate, viewer(app, req)))
