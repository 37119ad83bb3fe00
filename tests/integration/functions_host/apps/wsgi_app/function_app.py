"""A plain WSGI application served through ``func.WsgiFunctionApp``."""

from collections.abc import Callable, Iterable
from typing import Any

import azure.functions as func


def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer with the method and path the WSGI app saw."""
    body = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


app = func.WsgiFunctionApp(app=wsgi, http_auth_level=func.AuthLevel.ANONYMOUS)
