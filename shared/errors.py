"""The one exception tree of ReadyCheck.

Every error the app raises on purpose derives from :class:`ReadyCheckError`. An HTTP route
answers an error that escapes its handler through the one map in ``blueprints/error_map.py``
(the status on the right; "500" is always logged with its cause); a trigger lets it propagate,
so the message or event is retried and, if it keeps failing, dead-lettered or parked::

    ReadyCheckError                   500, logged
    ├── ConfigurationError            500, logged: a setting is missing or malformed
    ├── BankError                     500, logged: the question bank does not validate
    ├── GradingError                  500, logged: section results do not assemble
    ├── CohortError                   500, logged: assessments and graded submissions do not pair
    ├── WorkbookRejected              422: an upload cannot be graded at all (located problems)
    ├── NotFound                      404: an id or blob does not exist
    ├── InvalidMessage                400: a message or body is malformed (a queue dead-letters it)
    ├── NotAuthenticated              401 + WWW-Authenticate: no trustworthy caller identity
    ├── AccessDenied                  403: the caller may not see this
    ├── ConcurrencyConflict           409: an optimistic-concurrency (ETag) write lost the race
    └── ServiceError                  500, logged: a storage or messaging call failed
        └── TransientServiceError     503 + Retry-After, logged: the call may succeed later

Adapters convert SDK exceptions into these with ``raise ... from err``; the core never
sees an SDK exception type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in an answer sheet: where it is and what is wrong."""

    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [f"sheet {self.sheet!r}"]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """The problem as plain JSON-ready data."""
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


class ReadyCheckError(Exception):
    """Base of every error ReadyCheck raises on purpose."""


class ConfigurationError(ReadyCheckError):
    """A required setting is missing or has a malformed value."""


class BankError(ReadyCheckError):
    """The question bank failed validation; the message names the item and field."""


class GradingError(ReadyCheckError):
    """Results cannot be assembled: a section is missing or belongs to another bank or submission."""


class CohortError(ReadyCheckError):
    """Assessments and graded submissions do not pair up."""


class WorkbookRejected(ReadyCheckError):
    """The uploaded file cannot be attributed or graded at all."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[Problem, ...] = tuple(problems)


class NotFound(ReadyCheckError):
    """The requested id, entity or blob does not exist."""


class InvalidMessage(ReadyCheckError):
    """A queue message cannot be decoded; retrying cannot help, so it ends dead-lettered."""


class NotAuthenticated(ReadyCheckError):
    """Access control is on and the request carries no valid platform identity."""


class AccessDenied(ReadyCheckError):
    """The authenticated caller is not allowed to see the requested resource."""


class ConcurrencyConflict(ReadyCheckError):
    """A conditional write failed because another writer changed the entity first."""


class ServiceError(ReadyCheckError):
    """A call to a storage or messaging service failed."""


class TransientServiceError(ServiceError):
    """A service call failed in a way that may succeed on retry."""
