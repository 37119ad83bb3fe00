"""The question bank: topics, items and their keys, schema-validated at load."""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.errors import BankError


class Area(StrEnum):
    """The three areas a readiness score is reported by."""

    PYTHON = "python"
    AZURE = "azure"
    ARCHITECTURE = "architecture"


class Priority(StrEnum):
    """Priority as the guide gives it: critical skills map > study tonight > tomorrow morning."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"


class ItemKind(StrEnum):
    """How an item is answered and graded."""

    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    SHORT_ANSWER = "short_answer"
    OPEN_ANSWER = "open_answer"


class Section(StrEnum):
    """The answer-sheet sections; each is graded on its own and recorded as one result row."""

    QUIZ = "quiz"
    SERVICE_MAPPING = "service_mapping"
    SCENARIOS = "scenarios"
    SELF_ASSESSMENT = "self_assessment"


_Frozen = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]


class Topic(BaseModel):
    """A topic of the skills map, with its area, priority and what to study."""

    model_config = _Frozen
    id: Id
    name: str = Field(min_length=1)
    area: Area
    priority: Priority
    study: str = Field(min_length=1, description="What to study to close a gap in this topic.")


class Choice(BaseModel):
    """One option of a choice item, keyed A, B, C ..."""

    model_config = _Frozen
    key: str = Field(pattern=r"^[A-H]$")
    text: str = Field(min_length=1)


class Claim(BaseModel):
    """What a concept asserts of which subject; the same attribute given to a rival is a misstatement."""

    model_config = _Frozen
    subjects: tuple[str, ...] = Field(min_length=1)
    rivals: tuple[str, ...] = Field(min_length=1)
    attributes: tuple[str, ...] = Field(min_length=1)
    statement: str = Field(min_length=1, description="The claim as the feedback states it.")


class Concept(BaseModel):
    """A rubric concept of an open answer: its weight, synonyms, claims and known misstatements."""

    model_config = _Frozen
    id: Id
    label: str = Field(min_length=1)
    weight: float = Field(gt=0)
    synonyms: tuple[str, ...] = Field(min_length=1)
    misstatements: tuple[str, ...] = ()
    claims: tuple[Claim, ...] = ()
    paraphrases: tuple[str, ...] = Field(
        default=(), description="The concept in plain words, for answers that avoid the usual names."
    )
    essential: bool = Field(
        default=False,
        description="Denying or misstating it is disqualifying: the whole answer earns a quarter at most.",
    )


class Item(BaseModel):
    """One gradable item of the bank."""

    model_config = _Frozen
    id: Id
    topic: Id
    kind: ItemKind
    section: Section
    prompt: str = Field(min_length=1)
    points: float = Field(gt=0)
    explanation: str = Field(min_length=1)
    choices: tuple[Choice, ...] = ()
    answer: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    concepts: tuple[Concept, ...] = ()

    @model_validator(mode="after")
    def _kind_fields(self) -> Item:
        keys = [c.key for c in self.choices]
        if self.kind in (ItemKind.SINGLE_CHOICE, ItemKind.MULTIPLE_CHOICE):
            if len(self.choices) < 2:
                raise ValueError("choice items need at least two choices")
            if len(set(keys)) != len(keys):
                raise ValueError("choice keys must be unique")
            if not self.answer or any(a not in keys for a in self.answer):
                raise ValueError(f"answer must name choice keys from {keys}")
            if self.kind is ItemKind.SINGLE_CHOICE and len(self.answer) != 1:
                raise ValueError("a single-choice item has exactly one answer key")
        elif self.kind is ItemKind.SHORT_ANSWER:
            if not self.aliases:
                raise ValueError("short-answer items need at least one accepted alias")
        elif self.kind is ItemKind.OPEN_ANSWER and not self.concepts:
            raise ValueError("open-answer items need rubric concepts")
        return self


class Bank(BaseModel):
    """The whole question bank; every result records ``id`` and ``version``."""

    model_config = _Frozen
    id: Id
    version: str = Field(min_length=1)
    role: str = Field(min_length=1)
    topics: tuple[Topic, ...] = Field(min_length=1)
    items: tuple[Item, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Bank:
        topic_ids = [t.id for t in self.topics]
        if len(set(topic_ids)) != len(topic_ids):
            raise ValueError("topic ids must be unique")
        seen: set[str] = set()
        for index, item in enumerate(self.items):
            if item.id in seen:
                raise ValueError(f"items[{index}] ({item.id}): duplicate item id")
            seen.add(item.id)
            if item.topic not in topic_ids:
                raise ValueError(f"items[{index}] ({item.id}).topic: unknown topic {item.topic!r}")
        return self

    def topic(self, topic_id: str) -> Topic:
        """The topic with this id."""
        return self._topics_by_id()[topic_id]

    def item(self, item_id: str) -> Item:
        """The item with this id."""
        return self._items_by_id()[item_id]

    def items_in(self, section: Section) -> tuple[Item, ...]:
        """The items of one answer-sheet section, in bank order."""
        return tuple(i for i in self.items if i.section is section)

    def _topics_by_id(self) -> dict[str, Topic]:
        return {t.id: t for t in self.topics}

    def _items_by_id(self) -> dict[str, Item]:
        return {i.id: i for i in self.items}


def parse_bank(raw: bytes | str) -> Bank:
    """Validate bank JSON, raising :class:`BankError` that names the item and field."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise BankError(f"question bank is not valid JSON: {err}") from err
    try:
        return Bank.model_validate(data)
    except ValidationError as err:
        raise BankError(_describe(err, data)) from err


def _describe(err: ValidationError, data: object) -> str:
    lines = ["question bank is invalid:"]
    for e in err.errors():
        loc = list(e["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int) and isinstance(data, dict):
            try:
                item_id = data["items"][loc[1]].get("id", "?")
            except (KeyError, IndexError, TypeError, AttributeError):
                item_id = "?"
            where = f"item {item_id!r} field {'.'.join(str(p) for p in loc[2:]) or '(item)'}"
        lines.append(f"  {where}: {e['msg']}")
    return "\n".join(lines)


@lru_cache(maxsize=1)
def load_bank() -> Bank:
    """The bank shipped with the app (``shared/data/question_bank.json``), loaded once."""
    raw = resources.files("shared.data").joinpath("question_bank.json").read_bytes()
    return parse_bank(raw)
