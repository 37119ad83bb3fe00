"""The fast constructors of the submission models build exactly what validation builds."""

from __future__ import annotations

import pytest

from shared.answer_sheets.fast_models import construct_validated, validated_constructor
from shared.submission import Answer, Candidate, SheetFormat, Submission

ANSWER = {"item_id": "q1", "choices": ("A", "C"), "text": "", "sheet": "Quiz", "row": 7, "column": "D"}


def test_construct_validated_equals_a_validated_model() -> None:
    fast = construct_validated(Answer, **ANSWER)
    assert fast == Answer.model_validate(ANSWER)
    assert fast.model_dump_json() == Answer.model_validate(ANSWER).model_dump_json()
    assert fast.model_fields_set == set(Answer.model_fields)


def test_validated_constructor_builds_frozen_equal_models() -> None:
    new_answer = validated_constructor(Answer)
    fast = new_answer(dict(ANSWER))
    assert fast == Answer.model_validate(ANSWER)
    with pytest.raises(ValueError, match="frozen"):
        fast.text = "changed"


def test_fast_models_nest_and_serialise_like_validated_ones() -> None:
    candidate = construct_validated(Candidate, name="Ada", email="ada@example.com", target_role="", date="")
    answer = validated_constructor(Answer)(dict(ANSWER))
    built = construct_validated(
        Submission,
        submission_key="k",
        candidate=candidate,
        source_format=SheetFormat.MS_FORMS,
        answers=(answer,),
        confidence=(),
        problems=(),
    )
    validated = Submission.model_validate_json(built.model_dump_json())
    assert validated == built
    assert validated.model_dump_json() == built.model_dump_json()
