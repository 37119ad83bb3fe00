"""Admin-only routes (master key): build a digest now, replay dead letters, re-ingest an upload."""

from __future__ import annotations

import azure.functions as func

from blueprints import new_blueprint
from blueprints.http_responses import answer
from bootstrap import AppRoot
from shared.http_results import HttpResult

bp = new_blueprint()


@bp.route(route="digests/{day}", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def build_digest_now(req: func.HttpRequest) -> func.HttpResponse:
    """Build (or rebuild) one day's digest now."""
    from shared.digest import run_digest_request

    return answer(lambda app: run_digest_request(app.services, req.route_params["day"]))


@bp.route(route="dead-letters/replay", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def replay_dead_letters(req: func.HttpRequest) -> func.HttpResponse:
    """Reopen dead-lettered submissions and send their sections again (after a fix)."""
    from shared.grading_flow import replay_dead_letters as replay
    from shared.http_results import json_result, problem

    def handle(app: AppRoot) -> HttpResult:
        limit = req.params.get("max", "100")
        if not limit.isdigit():
            return problem(400, "Bad Request", "max must be a whole number")
        return json_result(200, {"replayed": replay(app.services, int(limit))})

    return answer(handle)


@bp.route(route="uploads/{upload_id}/reingest", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def reingest_upload(req: func.HttpRequest) -> func.HttpResponse:
    """Run a failed (or stalled) upload's ingest again, after the outage or bug is fixed."""
    from shared.recovery import reingest_request

    return answer(lambda app: reingest_request(app.services, req.route_params["upload_id"]))
