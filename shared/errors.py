"""The one exception tree of ReadyCheck.

Every error the app raises on purpose derives from :class:`ReadyCheckError`, so an
entrypoint can map named errors to an HTTP status, a rejection or a retry::

    ReadyCheckError
    ├── ConfigurationError        a setting is missing or malformed (fail at start-up)
    ├── BankError                 the question bank does not validate (names item and field)
    ├── WorkbookRejected          an upload cannot be graded at all (carries located problems)
    ├── NotFound                  an id or blob does not exist (HTTP 404)
    ├── InvalidMessage            a queue message is malformed (never succeeds: dead-lettered)
    ├── NotAuthenticated          no trustworthy caller identity (HTTP 401)
    ├── AccessDenied              the caller may not see this (HTTP 403)
    ├── ConcurrencyConflict       an optimistic-concurrency (ETag) write lost the race
    └── ServiceError              a storage or messaging call failed
        └── TransientServiceError the same call may succeed later (retry, then dead-letter)

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
