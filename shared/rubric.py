"""Open-answer grading: rubric concept coverage that explanations earn and buzzwords do not.

The rules are written down in ``docs/grading.md``; this module is their only implementation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import filterfalse

from rapidfuzz import fuzz

from shared.bank import Concept

# A concept named in a sentence with no words of its own earns this share of its weight.
NAMED_ONLY_CREDIT = 0.25
# ... and this share when its sentence explains it only thinly.
THIN_CREDIT = 0.5
# Content words per concept in a sentence for full and for thin credit.
FULL_EXPLANATION_RATIO = 1.5
THIN_EXPLANATION_RATIO = 0.5
# A sentence of at least this many comma-separated parts, none longer than LIST_PART_WORDS
# words, is a list of names: its concepts count as named only.
LIST_MIN_PARTS = 3
LIST_PART_WORDS = 3
# Typos in long words still match; shorter words and different first letters never do,
# so "synchronous" can never pass for "asynchronous".
FUZZY_TOKEN_MIN_LENGTH = 6
FUZZY_TOKEN_RATIO = 85.0
# A long answer the rubric cannot place is more likely correct in other words than empty.
REVIEW_MIN_WORDS = 20
REVIEW_MAX_SHARE = 0.4
# How far back a negation reaches within a sentence.
NEGATION_REACH = 3
# Gaps allowed between the words of a synonym or of a misstatement.
SYNONYM_GAP = 1
MISSTATEMENT_GAP = 2

_NEGATION_WORDS = ("not", "no", "never", "without", "neither", "nor", "avoid", "instead", "nothing")
# Words that join buzzwords without explaining anything; a comma is kept as a word so that
# a negation does not reach across it ("no secrets, managed identity").
_FILLER_WORDS = ("and", "or", "plus", "also", "etc", "e", "g", "i", "use", "using", ",")
_DROPPED = frozenset({"a", "an", "the"})
_SENTENCE_BREAK = re.compile(r"[.;:!?\n\r•]+|\s[-*]\s|\b(?:but|however)\b")
# Most answers have no "but", "however" or spaced dash; punctuation alone splits them as
# _SENTENCE_BREAK would, several times faster.
_PUNCTUATION_BREAK = re.compile(r"[.;:!?\n\r•]+")
_DASH_BREAK = re.compile(r"\s[-*]\s")
_WORD = re.compile(r"[a-z0-9]+|,")
_NOT = re.compile(r"n't\b")
_POSSESSIVE = re.compile(r"'s\b")


@dataclass(frozen=True, slots=True)
class ConceptVerdict:
    """How one rubric concept fared in an answer."""

    concept: Concept
    credit: float
    state: str  # "explained", "thin", "named", "misstated", "negated", "missing"


@dataclass(frozen=True, slots=True)
class RubricResult:
    """The share of the rubric an answer earned, per concept, and whether a person should look."""

    share: float
    verdicts: tuple[ConceptVerdict, ...]
    needs_review: bool
    review_reason: str
    words: int


def stem(token: str) -> str:
    """A light suffix stripper so that retry/retries/retried and cache/caching meet."""
    word = token
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "i"
    elif len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word.endswith("y"):
        word = word[:-1] + "i"
    return word


_NEGATIONS = frozenset(stem(w) for w in _NEGATION_WORDS)
_FILLER = frozenset(stem(w) for w in _FILLER_WORDS)


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    if "'" not in text:
        return text
    return _POSSESSIVE.sub("", _NOT.sub(" not", text))


def tokens(text: str) -> tuple[str, ...]:
    """Stemmed words of a phrase, articles and commas dropped."""
    return tuple(stem(w) for w in _WORD.findall(_plain(text)) if w not in _DROPPED and w != ",")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return stem(word)


def sentences(text: str) -> tuple[tuple[str, ...], ...]:
    """The answer as sentences (lines, bullets and clauses after "but"), each as stemmed words."""
    plain = _plain(text)
    if "but" in plain or "however" in plain or _DASH_BREAK.search(plain):
        parts = _SENTENCE_BREAK.split(plain)
    else:
        parts = _PUNCTUATION_BREAK.split(plain)
    stemmed = (tuple(map(_stem, filterfalse(_DROPPED.__contains__, _WORD.findall(p)))) for p in parts)
    return tuple(sentence for sentence in stemmed if sentence)


@lru_cache(maxsize=65536)
def _typo(word: str, target: str) -> bool:
    return fuzz.ratio(word, target, score_cutoff=FUZZY_TOKEN_RATIO) >= FUZZY_TOKEN_RATIO


@dataclass(frozen=True, slots=True)
class _Phrase:
    """A synonym or misstatement of the concept at index ``concept``, as stemmed words."""

    concept: int
    misstatement: bool
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rubric:
    """An item's concepts with their phrases already split into stemmed words, built once per item."""

    concepts: tuple[Concept, ...]
    phrases: tuple[_Phrase, ...]
    # Phrase indexes by first word: a phrase can only occur in an answer that has its first word.
    by_first_word: dict[str, tuple[int, ...]]
    words: frozenset[str]
    # Words long enough to match a typo, by their first two letters (which a typo must keep).
    fuzzy_words: dict[str, tuple[str, ...]]
    total_weight: float


def compile_rubric(concepts: Sequence[Concept]) -> Rubric:
    """Split every synonym and misstatement into stemmed words, once rather than per answer."""
    phrases = tuple(
        _Phrase(index, misstatement, words)
        for index, concept in enumerate(concepts)
        for misstatement, texts in ((True, concept.misstatements), (False, concept.synonyms))
        for words in (tokens(text) for text in texts)
        if words
    )
    by_first_word: dict[str, list[int]] = {}
    for index, phrase in enumerate(phrases):
        by_first_word.setdefault(phrase.words[0], []).append(index)
    words = frozenset(w for phrase in phrases for w in phrase.words)
    fuzzy: dict[str, list[str]] = {}
    for word in sorted(words):
        if len(word) >= FUZZY_TOKEN_MIN_LENGTH:
            fuzzy.setdefault(word[:2], []).append(word)
    return Rubric(
        tuple(concepts),
        phrases,
        {word: tuple(indexes) for word, indexes in by_first_word.items()},
        words,
        {prefix: tuple(group) for prefix, group in fuzzy.items()},
        sum(c.weight for c in concepts),
    )


def _matches(text: tuple[tuple[str, ...], ...], rubric: Rubric) -> dict[str, set[str]]:
    """For each rubric word the answer's words that count as it: itself or a typo of a long word."""
    answer_words = set().union(*text)
    found = {word: {word} for word in rubric.words.intersection(answer_words)}
    for word in answer_words:
        targets = rubric.fuzzy_words.get(word[:2])
        if targets and len(word) >= FUZZY_TOKEN_MIN_LENGTH:
            for target in targets:
                if target != word and _typo(word, target):
                    found.setdefault(target, set()).add(word)
    return found


# A phrase with, for each of its words, the answer's words that count as it.
_Present = tuple[tuple[str, ...], tuple[set[str], ...]]


def _present(
    rubric: Rubric, matches: dict[str, set[str]]
) -> dict[int, tuple[list[_Present], list[_Present]]]:
    """Per concept index, its misstatements and synonyms all of whose words occur in the answer."""
    present: dict[int, tuple[list[_Present], list[_Present]]] = {}
    for index in sorted({i for word in matches for i in rubric.by_first_word.get(word, ())}):
        phrase = rubric.phrases[index]
        if all(word in matches for word in phrase.words):
            accepted = tuple(matches[word] for word in phrase.words)
            wrong, right = present.setdefault(phrase.concept, ([], []))
            (wrong if phrase.misstatement else right).append((phrase.words, accepted))
    return present


def find(sentence: Sequence[str], phrase: Sequence[set[str]], gap: int) -> list[tuple[int, int]]:
    """Spans (start, end) where the phrase's words occur in order with at most ``gap`` words between."""
    # Each word of the phrase comes as the set of the answer's words that count as it (typos).
    spans: list[tuple[int, int]] = []
    # Most sentences lack the phrase's first word, which a set operation rules out at once.
    if not phrase or phrase[0].isdisjoint(sentence):
        return spans
    first, rest = phrase[0], phrase[1:]
    for start, word in enumerate(sentence):
        if word in first:
            end = _follow(sentence, rest, start, gap)
            if end is not None:
                spans.append((start, end))
    return spans


def _follow(sentence: Sequence[str], rest: Sequence[set[str]], start: int, gap: int) -> int | None:
    """Where a phrase begun at ``start`` ends if each further word comes within ``gap`` words of the last."""
    position = start
    for accepted in rest:
        for following in range(position + 1, min(len(sentence), position + 2 + gap)):
            if sentence[following] in accepted:
                position = following
                break
        else:
            return None
    return position + 1


def _negated(sentence: Sequence[str], span: tuple[int, int], phrase: Sequence[str]) -> bool:
    start, end = span
    before = sentence[max(0, start - NEGATION_REACH) : start]
    if "," in before:
        before = before[len(before) - before[::-1].index(",") :]
    # A negation the phrase itself contains ("no secrets in code") is part of what it says.
    inside = [w for w in sentence[start:end] if w not in phrase]
    return any(word in _NEGATIONS for word in (*before, *inside))


@dataclass(slots=True)
class _Hits:
    positive: list[tuple[int, tuple[int, int]]]
    negated: list[tuple[int, tuple[int, int]]]
    misstated: list[tuple[int, tuple[int, int]]]


def _hits(
    misstatements: list[_Present], synonyms: list[_Present], text: tuple[tuple[str, ...], ...]
) -> _Hits:
    hits = _Hits([], [], [])
    for index, sentence in enumerate(text):
        wrong = [
            span
            for phrase, accepted in misstatements
            for span in find(sentence, accepted, MISSTATEMENT_GAP)
            if not _negated(sentence, span, phrase)
        ]
        hits.misstated += ((index, span) for span in wrong)
        for phrase, accepted in synonyms:
            for span in find(sentence, accepted, SYNONYM_GAP):
                # Words inside a misstatement belong to the misstatement, not to a correct claim.
                if any(s[0] < span[1] and span[0] < s[1] for s in wrong):
                    continue
                negated = _negated(sentence, span, phrase)
                (hits.negated if negated else hits.positive).append((index, span))
    return hits


def _is_list(sentence: Sequence[str]) -> bool:
    parts: list[int] = [0]
    for word in sentence:
        if word == ",":
            parts.append(0)
        elif word not in _FILLER:
            parts[-1] += 1
    return len(parts) >= LIST_MIN_PARTS and max(parts) <= LIST_PART_WORDS


def _explanation_credit(
    sentence_index: int,
    sentence: Sequence[str],
    covered: dict[int, set[int]],
    concepts_in: dict[int, int],
) -> tuple[float, str]:
    if _is_list(sentence):
        return NAMED_ONLY_CREDIT, "named"
    used = covered.get(sentence_index, set())
    content = sum(1 for i, w in enumerate(sentence) if i not in used and w not in _FILLER)
    ratio = content / max(1, concepts_in.get(sentence_index, 1))
    if ratio >= FULL_EXPLANATION_RATIO:
        return 1.0, "explained"
    if ratio >= THIN_EXPLANATION_RATIO:
        return THIN_CREDIT, "thin"
    return NAMED_ONLY_CREDIT, "named"


def grade_open_answer(text: str, concepts: Sequence[Concept]) -> RubricResult:
    """Score an open answer against its rubric concepts; see docs/grading.md for the rules."""
    return grade_with_rubric(text, compile_rubric(concepts))


def grade_with_rubric(text: str, rubric: Rubric) -> RubricResult:
    """Score an open answer against a compiled rubric, as :func:`grade_open_answer` does."""
    parsed = sentences(text)
    words = sum(len(sentence) - sentence.count(",") for sentence in parsed)
    present = _present(rubric, matches=_matches(parsed, rubric))
    concepts = rubric.concepts
    # Most concepts have no phrase in a given answer; only the others are searched sentence by sentence.
    nothing = _Hits([], [], [])
    hits = {
        c.id: _hits(*present[index], parsed) if index in present else nothing
        for index, c in enumerate(concepts)
    }
    covered: dict[int, set[int]] = {}
    concepts_in: dict[int, int] = {}
    for found in (hits[c.id] for c in concepts):
        seen_in: set[int] = set()
        for index, (start, end) in found.positive:
            covered.setdefault(index, set()).update(range(start, end))
            seen_in.add(index)
        # Negated and misstated mentions are not explanation either.
        for index, (start, end) in (*found.negated, *found.misstated):
            covered.setdefault(index, set()).update(range(start, end))
        for index in seen_in:
            concepts_in[index] = concepts_in.get(index, 0) + 1
    credits: dict[int, tuple[float, str]] = {}
    verdicts: list[ConceptVerdict] = []
    reasons: list[str] = []
    for concept in concepts:
        found = hits[concept.id]
        if found.misstated:
            if found.positive:
                reasons.append(f"{concept.label} is stated both rightly and wrongly")
            verdicts.append(ConceptVerdict(concept, 0.0, "misstated"))
        elif found.positive:
            for index, _ in found.positive:
                if index not in credits:
                    credits[index] = _explanation_credit(index, parsed[index], covered, concepts_in)
            credit, state = max(credits[index] for index, _ in found.positive)
            verdicts.append(ConceptVerdict(concept, credit, state))
        elif found.negated:
            reasons.append(f"{concept.label} appears only in a negated phrase")
            verdicts.append(ConceptVerdict(concept, 0.0, "negated"))
        else:
            verdicts.append(ConceptVerdict(concept, 0.0, "missing"))
    total = rubric.total_weight
    share = sum(v.credit * v.concept.weight for v in verdicts) / total if total else 0.0
    if words >= REVIEW_MIN_WORDS and share < REVIEW_MAX_SHARE:
        reasons.append(f"a {words}-word answer matched little of the rubric and may say it in other words")
    return RubricResult(
        share=share,
        verdicts=tuple(verdicts),
        needs_review=bool(reasons),
        review_reason="; ".join(reasons),
        words=words,
    )
