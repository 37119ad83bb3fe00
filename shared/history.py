"""A candidate's progress across uploads, over HTTP: the history routes (index: ``shared.attempts``)."""

from __future__ import annotations

import re

from shared import api_models as api
from shared.access import Viewer
from shared.api_handlers import not_found, report_url
from shared.attempts import candidate_attempts
from shared.http_results import HttpResult, model_result, problem
from shared.ports import Services
from shared.records import candidate_id_for

_CANDIDATE_ID = re.compile(r"^[0-9a-f]{32}$")


def _history(services: Services, candidate_id: str) -> api.CandidateHistory:
    return api.CandidateHistory(
        candidate_id=candidate_id,
        attempts=[
            api.AttemptBody(
                submission_id=a.submission_id,
                day=a.day,
                overall=a.overall,
                verdict=a.verdict,
                areas=a.areas,
                topics=a.topics,
                report_url=report_url(a.submission_id),
            )
            for a in candidate_attempts(services.tables, candidate_id)
        ],
    )


def candidate_history(services: Services, candidate_id: str, viewer: Viewer) -> HttpResult:
    """``GET /api/candidates/{candidate_id}/history`` (reviewers, or the candidate), oldest first."""
    if not _CANDIDATE_ID.match(candidate_id) or not viewer.may_see_candidate(candidate_id):
        return not_found("candidate")
    return model_result(200, _history(services, candidate_id))


def my_history(services: Services, viewer: Viewer) -> HttpResult:
    """``GET /api/candidates/me/history``: the signed-in candidate's attempts under each of their emails."""
    if not viewer.emails:
        return problem(
            400,
            "Bad Request",
            "no signed-in candidate (Easy Auth is off or the principal has no email); "
            "use /api/candidates/{candidate_id}/history",
        )
    return model_result(
        200,
        api.MyHistory(candidates=[_history(services, candidate_id_for(e)) for e in sorted(viewer.emails)]),
    )


def history_request(services: Services, candidate_id: str, viewer: Viewer) -> HttpResult:
    """``GET /api/candidates/{candidate_id}/history``, where ``me`` is the signed-in candidate."""
    if candidate_id == "me":
        return my_history(services, viewer)
    return candidate_history(services, candidate_id, viewer)
