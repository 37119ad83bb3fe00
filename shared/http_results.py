"""HTTP results of the core: status, body, content type and headers; no Functions types.

Kept apart from :mod:`shared.status` so that the blueprints can import it at index time
without pulling in the grading and storage code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HttpResult:
    """A response: status, body, content type and extra headers."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> object:
        """The body decoded as JSON (for callers and tests)."""
        return json.loads(self.body)


def json_result(status: int, data: object, headers: Mapping[str, str] | None = None) -> HttpResult:
    """A JSON response."""
    return HttpResult(status, json.dumps(data).encode(), "application/json", dict(headers or {}))


def problem(status: int, title: str, detail: str, **extra: object) -> HttpResult:
    """A problem-details (``application/problem+json``) response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return HttpResult(status, json.dumps(body).encode(), "application/problem+json")
