"""GET /api/health: readiness of storage and Service Bus (anonymous: no data in the answer)."""

from __future__ import annotations

import azure.functions as func

from blueprints import new_blueprint
from blueprints.http_responses import answer

bp = new_blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """200 when storage and Service Bus answer, 503 naming the one that does not."""
    from shared.api_handlers import health as check

    return answer(lambda app: check(app.health_checks))
