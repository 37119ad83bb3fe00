"""Choices and ratings: a choice cell read as option keys, a confidence cell as a level 1-5."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from shared.answer_sheets.cells import as_int, norm
from shared.bank import Bank, Item, ItemKind

# rapidfuzz ratio (0-100) a text must reach to match an option or prompt that differs in small
# ways (a typo, a dropped word); exact normalised matches are tried first.
FUZZY_CUTOFF = 92.0
_CHOICE_KEY = re.compile(r"^\s*\(?([A-Ha-h])\s*(?:[).:\-]\s*.*)?$", re.S)
_KEY_LIST = re.compile(r"^\s*[A-Ha-h](?:\s*[,;/&+\s]\s*[A-Ha-h])*\s*[,;]?\s*$")
CHOICE_KINDS = (ItemKind.SINGLE_CHOICE, ItemKind.MULTIPLE_CHOICE)


@dataclass(frozen=True, slots=True)
class Choices:
    """A choice cell read as keys, or the reason it could not be."""

    keys: tuple[str, ...] = ()
    error: str = ""


class Rules:
    """Lookups and caches shared by every row of one parse (exports repeat the same option texts)."""

    def __init__(self, bank: Bank) -> None:
        self.items = {item.id: item for item in bank.items}
        self.order = {item.id: index for index, item in enumerate(bank.items)}
        self._choices: dict[tuple[str, str], Choices] = {}

    def choices(self, item: Item, raw: str) -> Choices:
        """The choice reading of a cell, computed once per distinct (item, text)."""
        key = (item.id, raw)
        read = self._choices.get(key)
        if read is None:
            read = self._choices[key] = read_choices(item, raw)
        return read


def read_choices(item: Item, raw: str) -> Choices:
    """Normalise a choice answer (keys, ``A) text``, option texts, ``;``/``,`` joined) to keys."""
    keys = [c.key for c in item.choices]
    single = item.kind is ItemKind.SINGLE_CHOICE
    picked = _keys_from_letters(raw, keys) or _keys_from_texts(item, raw)
    if picked is None:
        options = ", ".join(keys)
        return Choices(
            error=f"answer {raw[:80]!r} is not one of the options ({options}); counted as unanswered"
        )
    if single and len(picked) > 1:
        return Choices(error=f"answer {raw[:80]!r} picks {len(picked)} options but only one is allowed")
    return Choices(keys=tuple(sorted(picked)))


def rating(topic_id: str, raw: str) -> int | str:
    """A confidence cell read as a level 1-5, or the problem message saying why it is not one."""
    level = as_int(raw)
    if level is None:
        return f"confidence for topic {topic_id} must be a whole number 1-5, got {raw[:40]!r}"
    if not 1 <= level <= 5:
        return f"confidence for topic {topic_id} is {level}, outside 1-5; ignored"
    return level


def _keys_from_letters(raw: str, keys: Sequence[str]) -> set[str] | None:
    """Keys when the cell is letters (``B``, ``b)``, ``A) text``, ``A, C``, ``A;C;``)."""
    match = _CHOICE_KEY.match(raw)
    if match and len(raw.strip()) > 2:
        # "A) text" or "A. text": the letter decides; the text may be a truncated label.
        letter = match.group(1).upper()
        return {letter} if letter in keys else None
    if _KEY_LIST.match(raw):
        letters = {ch.upper() for ch in raw if ch.isalpha()}
        return letters if letters <= set(keys) else None
    return None


def _keys_from_texts(item: Item, raw: str) -> set[str] | None:
    """Keys when the cell holds option texts, as forms export them (multi picks joined)."""
    remaining = f";{_norm_option(raw)};"
    found: set[str] = set()
    # Longest texts first, so an option that contains a shorter one is taken whole.
    for choice in sorted(item.choices, key=lambda c: len(c.text), reverse=True):
        needle = _norm_option(choice.text)
        for sep_before in (";", ","):
            for sep_after in (";", ","):
                token = f"{sep_before}{needle}{sep_after}"
                if token in remaining:
                    found.add(choice.key)
                    remaining = remaining.replace(token, sep_before + sep_after, 1)
    leftover = re.sub(r"[;,\s]", "", remaining)
    if found and not leftover:
        return found
    if not found:
        return _fuzzy_single(item, raw)
    return None


def _norm_option(text: str) -> str:
    """Option text for matching: casefolded, single spaces, no space around separators."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = " ".join(text.split())
    return re.sub(r"\s*([;,])\s*", r"\1", text).strip(";, ")


def _fuzzy_single(item: Item, raw: str) -> set[str] | None:
    """One option whose text nearly equals the cell (a typo, trailing punctuation)."""
    from rapidfuzz import fuzz, process

    texts = {c.key: norm(c.text) for c in item.choices}
    best = process.extractOne(norm(raw), texts, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
    return {str(best[2])} if best else None
