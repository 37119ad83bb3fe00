"""Forms columns: what each column of a forms export holds, matched by its header text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from shared.answer_sheets.cells import norm
from shared.answer_sheets.choices import FUZZY_CUTOFF
from shared.answer_sheets.forms_locales import (
    GOOGLE_META,
    GOOGLE_PER_QUESTION,
    IDENTITY_QUESTIONS,
    MS_META,
    MS_PER_QUESTION_PREFIXES,
    POINTS_SUFFIX,
    SELF_ASSESSMENT_PREFIXES,
)
from shared.bank import Bank
from shared.errors import Problem
from shared.submission import SheetFormat

_POINTS_SUFFIX = re.compile(POINTS_SUFFIX, re.I)
_GOOGLE_PER_QUESTION = re.compile(GOOGLE_PER_QUESTION, re.I)


@dataclass(frozen=True, slots=True)
class Column:
    """What a forms column holds: metadata, an item's answers, a topic's rating, or nothing we use."""

    kind: str  # "meta", "item", "topic", "ignored"
    target: str = ""


@dataclass(frozen=True, slots=True)
class _Lookup:
    """Normalised question texts -> ``item:<id>`` or ``topic:<id>``."""

    exact: dict[str, str]


def classify_columns(
    headers: Mapping[str, str], bank: Bank, fmt: SheetFormat, sheet: str, header_row: int
) -> tuple[dict[str, Column], list[Problem]]:
    """Each header's column kind, and the located problems of columns that are ignored."""
    lookup = _prompt_lookup(bank)
    meta_names = MS_META if fmt is SheetFormat.MS_FORMS else GOOGLE_META
    meta = {name: kind for kind, names in meta_names.items() for name in names}
    identity = {name: kind for kind, names in IDENTITY_QUESTIONS.items() for name in names}
    columns: dict[str, Column] = {}
    problems: list[Problem] = []
    claimed: dict[str, str] = {}
    for col, header in headers.items():
        label = norm(header)
        if label in meta and meta[label] not in claimed:
            columns[col] = Column("meta", meta[label])
            claimed[meta[label]] = col
            continue
        if label in identity and identity[label] not in claimed:
            columns[col] = Column("meta", identity[label])
            claimed[identity[label]] = col
            continue
        if _per_question_extra(header, label, lookup):
            columns[col] = Column("ignored")
            continue
        target = _match_prompt(lookup, header)
        if target is None:
            problems.append(
                Problem(
                    sheet,
                    header_row,
                    col,
                    f"column {header[:80]!r} matches no question of the bank "
                    f"({bank.id} {bank.version}); its answers are ignored",
                )
            )
            columns[col] = Column("ignored")
        elif target in claimed:
            problems.append(
                Problem(
                    sheet,
                    header_row,
                    col,
                    f"column {header[:80]!r} repeats the question of column {claimed[target]}; ignored",
                )
            )
            columns[col] = Column("ignored")
        else:
            kind, _, target_id = target.partition(":")
            columns[col] = Column(kind, target_id)
            claimed[target] = col
    return columns, problems


def _per_question_extra(header: str, label: str, lookup: _Lookup) -> bool:
    """MS Forms ``Points - Q`` / ``Feedback - Q`` and Google's ``Q [Score]`` columns."""
    if _GOOGLE_PER_QUESTION.search(header):
        return True
    prefix, sep, _ = header.partition(" - ")
    return bool(sep) and norm(prefix) in MS_PER_QUESTION_PREFIXES and label not in lookup.exact


def _question_key(header: str) -> str:
    """A form header normalised for matching a bank prompt (drops ``(2 points)``-style suffixes)."""
    return norm(_POINTS_SUFFIX.sub("", header.strip()))


def _prompt_lookup(bank: Bank) -> _Lookup:
    keys: dict[str, set[str]] = {}

    def add(text: str, target: str) -> None:
        keys.setdefault(norm(text), set()).add(target)

    for item in bank.items:
        add(item.prompt, f"item:{item.id}")
        label, sep, rest = item.prompt.partition(": ")
        if sep and len(label.split()) <= 3:
            add(rest, f"item:{item.id}")
    for topic in bank.topics:
        short = topic.name.split(" (")[0]
        for name in {topic.name, short, topic.id}:
            for prefix in SELF_ASSESSMENT_PREFIXES:
                add(f"{prefix} {name}", f"topic:{topic.id}")
    # A text two items share (e.g. "what is the Azure equivalent?") identifies neither.
    return _Lookup(exact={text: next(iter(t)) for text, t in keys.items() if len(t) == 1})


def _match_prompt(lookup: _Lookup, header: str) -> str | None:
    """The bank target of a form question: exact normalised text first, then a close fuzzy match."""
    key = _question_key(header)
    if not key:
        return None
    if key in lookup.exact:
        return lookup.exact[key]
    from rapidfuzz import fuzz, process

    best = process.extractOne(key, list(lookup.exact), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
    return lookup.exact[str(best[0])] if best else None
