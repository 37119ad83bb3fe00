"""The documented response models: bodies built through them keep exactly their keys, drift fails early."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from shared import api_models as api
from shared.api_handlers import XLSX_CONTENT_TYPE, health, template_download
from shared.errors import TransientServiceError
from shared.http_results import model_result
from shared.openapi import openapi_document

SCORES = {"percent": 72.5, "verdict": "ready", "areas": {"python": 80.0, "azure": 70.0, "architecture": 65.0}}


def test_a_body_keeps_exactly_the_keys_it_was_given_without_adding_defaults() -> None:
    body = api.ReportPending(submission_id="a" * 32, status="grading")
    assert model_result(202, body).json() == {"submission_id": "a" * 32, "status": "grading"}
    scores = api.Scores.model_validate(SCORES)
    assert model_result(200, scores).json() == SCORES


def test_moderated_scores_keep_their_provisional_fields() -> None:
    moderated = {**SCORES, "provisional": True, "awaiting_review": 2}
    assert model_result(200, api.Scores.model_validate(moderated)).json() == moderated


def test_a_body_missing_a_documented_field_fails_where_it_is_built() -> None:
    with pytest.raises(ValidationError):
        api.SubmissionStatusBody.model_validate({"submission_id": "a" * 32, "status": "graded"})


def test_health_answers_the_same_document_through_its_model() -> None:
    def down() -> None:
        raise TransientServiceError("no answer")

    result = health({"storage": lambda: None, "servicebus": down})
    assert result.status == 503
    assert result.json() == {
        "status": "degraded",
        "checks": {"storage": "ok", "servicebus": "unavailable: no answer"},
    }


def test_the_template_route_documents_the_content_type_it_answers() -> None:
    document = json.loads(openapi_document())
    documented = document["paths"]["/api/template"]["get"]["responses"]["200"]["content"]
    assert template_download(b"PK").content_type == XLSX_CONTENT_TYPE
    assert list(documented) == [XLSX_CONTENT_TYPE]


def test_an_undocumented_key_fails_where_the_body_is_built() -> None:
    with pytest.raises(ValidationError):
        api.ReportPending.model_validate({"submission_id": "a" * 32, "status": "grading", "eta": 5})
    with pytest.raises(ValidationError):
        api.Scores.model_validate({**SCORES, "bonus": 1})
