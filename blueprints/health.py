"""GET /api/health: readiness of storage and Service Bus (anonymous: no data in the answer)."""

from __future__ import annotations

import azure.functions as func

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """200 when storage and Service Bus answer, 503 naming the one that does not."""
    from blueprints.http_responses import respond
    from shared.adapters.clients import health_checks
    from shared.status import health as check

    return respond(check(health_checks()))
