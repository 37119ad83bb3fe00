"""HTTP results of the core: status, body, content type and headers; no Functions types.

Kept apart from :mod:`shared.api_handlers` so that the blueprints can import it at index time
without pulling in the grading and storage code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import BaseModel


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


def model_result(status: int, body: BaseModel, headers: Mapping[str, str] | None = None) -> HttpResult:
    """A JSON response of a documented body (shared/api_models.py): exactly the keys it was given."""
    return json_result(status, body.model_dump(mode="json", exclude_unset=True), headers)


def problem(status: int, title: str, detail: str, **extra: object) -> HttpResult:
    """A problem-details (``application/problem+json``) response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return HttpResult(status, json.dumps(body).encode(), "application/problem+json")
