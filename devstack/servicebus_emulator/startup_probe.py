"""Is an emulator up: accepting connections and answering CBS ``put-token``?"""

from __future__ import annotations

import contextlib
from typing import Any

from proton import Message
from proton.utils import BlockingConnection, SyncRequestResponse

from devstack.processes import port_is_open


def cbs_answers(port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> bool:
    """True when a CBS put-token on ``$cbs`` gets a 2xx status back."""
    if not port_is_open(port, host):
        return False
    with contextlib.suppress(Exception):  # any failure simply means "not ready yet"
        connection = BlockingConnection(
            f"amqp://{host}:{port}", timeout=timeout, allowed_mechs="ANONYMOUS", sasl_enabled=True
        )
        try:
            client = SyncRequestResponse(connection, "$cbs")
            request = Message(
                body="readiness-probe",
                properties={
                    "operation": "put-token",
                    "type": "jwt",
                    "name": f"amqp://{host}:{port}/readiness",
                },
            )
            response = client.call(request)
            properties: dict[Any, Any] = dict(response.properties or {})
            status = properties.get("status-code")
            return isinstance(status, int) and 200 <= status < 300
        finally:
            connection.close()
    return False
