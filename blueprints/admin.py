"""Admin-only routes (master key): build a digest now, replay dead-lettered grading messages."""

from __future__ import annotations

import azure.functions as func

from blueprints.http_responses import failure, respond
from shared.errors import ReadyCheckError

bp = func.Blueprint()


@bp.route(route="digests/{day}", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def build_digest_now(req: func.HttpRequest) -> func.HttpResponse:
    """Build (or rebuild) one day's digest now."""
    from shared.adapters.clients import services
    from shared.digest import run_digest_request

    try:
        return respond(run_digest_request(services(), req.route_params["day"]))
    except ReadyCheckError as err:
        return failure(err)


@bp.route(route="dead-letters/replay", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def replay_dead_letters(req: func.HttpRequest) -> func.HttpResponse:
    """Reopen dead-lettered submissions and send their sections again (after a fix)."""
    from shared.adapters.clients import services
    from shared.grading_flow import replay_dead_letters as replay
    from shared.http_results import json_result, problem

    limit = req.params.get("max", "100")
    if not limit.isdigit():
        return respond(problem(400, "Bad Request", "max must be a whole number"))
    try:
        return respond(json_result(200, {"replayed": replay(services(), int(limit))}))
    except ReadyCheckError as err:
        return failure(err)
