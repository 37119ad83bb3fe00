"""What parsing yields: candidates' submissions and the located problems of a workbook."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from shared.errors import Problem

_Frozen = ConfigDict(frozen=True, extra="forbid")


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
    # A forms export's submissions stay in columns and are built as they are taken from this
    # sequence; their cells were validated when the columns were read, so validation is skipped here.
    submissions: Annotated[Sequence[Submission], SkipValidation]
    problems: tuple[Problem, ...] = ()


def submission_key(content_hash: str, email: str) -> str:
    """A stable key for one candidate in one file: hash of the file digest and the email."""
    normalised = email.strip().casefold()
    return hashlib.sha256(f"{content_hash}\n{normalised}".encode()).hexdigest()[:32]
