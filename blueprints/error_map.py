"""The one map from the error tree (``shared/errors.py``) to HTTP answers; every route answers through it.

The first entry the error is an instance of decides, so subclasses come before their bases. A 4xx
shows the error's own message only where that message is written for the caller; a 5xx shows nothing
and is logged with its cause (the traceback), for whoever investigates.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import (
    AccessDenied,
    BankError,
    CohortError,
    ConcurrencyConflict,
    ConfigurationError,
    GradingError,
    InvalidMessage,
    NotAuthenticated,
    NotFound,
    ReadyCheckError,
    ServiceError,
    TransientServiceError,
    WorkbookRejected,
)
from shared.http_results import HttpResult, problem
from shared.telemetry import log

# Long enough for the storage and Service Bus retry budgets (shared/adapters/clients.py) to reset.
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True, slots=True)
class HttpFault:
    """How a named error is answered: status, title, what the caller reads, and when to retry."""

    status: int
    title: str
    # None: the error's own message (written for the caller); else this fixed text.
    detail: str | None = None
    retry_after: int | None = None
    headers: tuple[tuple[str, str], ...] = ()


_INTERNAL = HttpFault(500, "Internal Server Error", "the request could not be completed")

ERROR_MAP: tuple[tuple[type[ReadyCheckError], HttpFault], ...] = (
    (NotAuthenticated, HttpFault(401, "Unauthorized", headers=(("WWW-Authenticate", "Bearer"),))),
    (AccessDenied, HttpFault(403, "Forbidden")),
    (NotFound, HttpFault(404, "Not Found", "no such resource")),
    (InvalidMessage, HttpFault(400, "Bad Request", "the request could not be read")),
    (ConcurrencyConflict, HttpFault(409, "Conflict", "the resource changed meanwhile; try again")),
    (WorkbookRejected, HttpFault(422, "Unprocessable Content")),
    (
        TransientServiceError,
        HttpFault(
            503,
            "Service Unavailable",
            "a backing service is busy; try again shortly",
            retry_after=RETRY_AFTER_SECONDS,
        ),
    ),
    (ServiceError, _INTERNAL),
    (ConfigurationError, _INTERNAL),
    (BankError, _INTERNAL),
    (GradingError, _INTERNAL),
    (CohortError, _INTERNAL),
    (ReadyCheckError, _INTERNAL),
)


def fault_for(err: ReadyCheckError) -> HttpFault:
    """The map's entry for an error: the first class it is an instance of."""
    return next(fault for kind, fault in ERROR_MAP if isinstance(err, kind))


def failure(err: ReadyCheckError) -> HttpResult:
    """The problem-details answer to a named error; never a traceback, and every 5xx logged."""
    fault = fault_for(err)
    if fault.status >= 500 and fault.retry_after is not None:
        log.warning("request answered %d: %s: %s", fault.status, type(err).__name__, err)
    elif fault.status >= 500:
        log.error("request answered %d: %s: %s", fault.status, type(err).__name__, err, exc_info=err)
    headers = dict(fault.headers)
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    result = problem(fault.status, fault.title, str(err) if fault.detail is None else fault.detail)
    return HttpResult(result.status, result.body, result.content_type, headers)
