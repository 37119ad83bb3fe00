"""The one error map: every named error has its status and retry; a 5xx shows nothing and is logged."""

from __future__ import annotations

import inspect
import json
import logging

import pytest

from blueprints.error_map import ERROR_MAP, failure, fault_for
from shared import errors
from shared.errors import (
    AccessDenied,
    CohortError,
    NotAuthenticated,
    ReadyCheckError,
    ServiceError,
    TransientServiceError,
    WorkbookRejected,
)

# (status, Retry-After seconds) each named error is answered with.
EXPECTED: dict[str, tuple[int, int | None]] = {
    "ReadyCheckError": (500, None),
    "ConfigurationError": (500, None),
    "BankError": (500, None),
    "GradingError": (500, None),
    "CohortError": (500, None),
    "WorkbookRejected": (422, None),
    "NotFound": (404, None),
    "InvalidMessage": (400, None),
    "NotAuthenticated": (401, None),
    "AccessDenied": (403, None),
    "ConcurrencyConflict": (409, None),
    "ServiceError": (500, None),
    "TransientServiceError": (503, 5),
}
NAMED = {
    name: kind
    for name, kind in inspect.getmembers(errors, inspect.isclass)
    if issubclass(kind, ReadyCheckError) and kind.__module__ == errors.__name__
}


def test_the_expected_table_names_every_error_of_the_tree() -> None:
    assert set(NAMED) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_named_error_has_its_status_and_retry(name: str) -> None:
    result = failure(NAMED[name]("x"))
    status, retry_after = EXPECTED[name]
    assert (result.status, result.headers.get("Retry-After")) == (
        status,
        None if retry_after is None else str(retry_after),
    )
    assert json.loads(result.body)["status"] == status
    assert result.content_type == "application/problem+json"


def test_every_error_of_the_tree_is_named_in_the_map_itself() -> None:
    assert {kind.__name__ for kind, _ in ERROR_MAP} == set(NAMED)


def test_subclasses_come_before_their_bases_so_each_error_finds_its_own_entry() -> None:
    for kind, fault in ERROR_MAP:
        assert fault_for(kind("x")) is fault


def test_a_500_names_nothing_to_the_caller_and_logs_the_error_with_its_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        try:
            raise KeyError("section 3")
        except KeyError as cause:
            raise CohortError("every assessment needs exactly one graded submission") from cause
    except CohortError as err:
        with caplog.at_level(logging.ERROR, logger="readycheck"):
            result = failure(err)
    assert result.status == 500
    assert "assessment" not in result.body.decode()
    [record] = [r for r in caplog.records if r.name == "readycheck"]
    assert record.levelno == logging.ERROR
    assert "CohortError" in record.getMessage()
    assert "exactly one graded submission" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], CohortError)
    assert isinstance(record.exc_info[1].__cause__, KeyError)


def test_a_refused_service_call_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="readycheck"):
        assert failure(ServiceError("table storage refused")).status == 500
    assert any("table storage refused" in r.getMessage() for r in caplog.records)


def test_a_busy_service_is_503_with_retry_after_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="readycheck"):
        result = failure(TransientServiceError("table storage unreachable"))
    assert result.status == 503
    assert int(result.headers["Retry-After"]) > 0
    assert "unreachable" not in result.body.decode()
    assert any("table storage unreachable" in r.getMessage() for r in caplog.records)


def test_a_4xx_is_not_logged_as_an_error(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="readycheck"):
        failure(AccessDenied("digests are for reviewers"))
    assert [r for r in caplog.records if r.name == "readycheck"] == []


def test_the_callers_own_errors_say_what_is_wrong() -> None:
    unauthenticated = failure(NotAuthenticated("sign in first"))
    assert unauthenticated.headers["WWW-Authenticate"] == "Bearer"
    assert json.loads(unauthenticated.body)["detail"] == "sign in first"
    assert json.loads(failure(AccessDenied("digests are for reviewers")).body)["detail"] == (
        "digests are for reviewers"
    )
    assert json.loads(failure(WorkbookRejected("not an answer sheet")).body)["detail"] == (
        "not an answer sheet"
    )
