"""What parsing yields: candidates' submissions and the located problems of a workbook."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import Problem

_Frozen = ConfigDict(frozen=True, extra="forbid")
_Model = TypeVar("_Model", bound=BaseModel)


class SheetFormat(StrEnum):
    """The workbook formats ReadyCheck recognises."""

    TEMPLATE = "template"
    MS_FORMS = "ms_forms"
    GOOGLE_FORMS = "google_forms"


class Candidate(BaseModel):
    """Who answered: identity comes from the sheet, never from the file name."""

    model_config = _Frozen
    name: str
    email: str
    target_role: str = ""
    date: str = ""


class Answer(BaseModel):
    """One answer as found in the sheet: choice keys for choice items, text otherwise."""

    model_config = _Frozen
    item_id: str
    choices: tuple[str, ...] = ()
    text: str = ""
    sheet: str = ""
    row: int | None = None
    column: str | None = None


class Submission(BaseModel):
    """One candidate's answers from one workbook."""

    model_config = _Frozen
    submission_key: str = Field(
        description="Deterministic: the same candidate in the same file gives the same key."
    )
    candidate: Candidate
    source_format: SheetFormat
    answers: tuple[Answer, ...] = ()
    confidence: tuple[tuple[str, int], ...] = Field(
        default=(), description="(topic id, self-assessed confidence 1-5) pairs, sorted by topic id."
    )
    problems: tuple[Problem, ...] = ()

    def answer_for(self, item_id: str) -> Answer | None:
        """The answer to one item, or None when unanswered."""
        for answer in self.answers:
            if answer.item_id == item_id:
                return answer
        return None


class ParseResult(BaseModel):
    """Everything parsing found: the submissions and every located problem."""

    model_config = _Frozen
    source_format: SheetFormat
    submissions: tuple[Submission, ...]
    problems: tuple[Problem, ...] = ()


def submission_key(content_digest: str, email: str) -> str:
    """A stable key for one candidate in one file: hash of the file digest and the email."""
    normalised = email.strip().casefold()
    return hashlib.sha256(f"{content_digest}\n{normalised}".encode()).hexdigest()[:32]


def construct_validated(model: type[_Model], **values: Any) -> _Model:
    """An instance of one of these models from every field's already-validated value, unchecked.

    What ``model_construct`` does for such values (none of these models has extras, private
    attributes or post-init hooks), without its per-field Python loop: a 50,000-row export builds
    over a million answers.
    """
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    _set_fields_set(instance, _all_fields(model))
    _set_extra(instance, None)
    _set_private(instance, None)
    return instance


def validated_constructor(model: type[_Model]) -> Callable[[dict[str, Any]], _Model]:
    """:func:`construct_validated` bound to one model, taking a dict it keeps, for building many instances."""
    fields = _all_fields(model)
    new = model.__new__
    set_dict = object.__setattr__

    def construct(values: dict[str, Any]) -> _Model:
        instance = new(model)
        set_dict(instance, "__dict__", values)
        _set_fields_set(instance, fields)
        _set_extra(instance, None)
        _set_private(instance, None)
        return instance

    return construct


def _all_fields(model: type[BaseModel]) -> set[str]:
    fields: set[str] | None = _FIELD_SETS.get(model)
    if fields is None:
        fields = _FIELD_SETS[model] = set(model.model_fields)
    return fields


# BaseModel's slots, set through their descriptors: pydantic's __setattr__ refuses frozen models,
# and a descriptor call is cheaper than object.__setattr__ with a name.
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__

# One shared set per model: the models are frozen, so nothing ever adds to it.
_FIELD_SETS: dict[type[BaseModel], set[str]] = {}
