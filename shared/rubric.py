"""Open-answer grading: claims, not words.

Three readings of an answer meet here. The lexical reading finds a concept's synonyms and known
misstatements; the claim reading checks which subject each attribute is given to, so swapped
roles and inverted mechanisms lose the concept; the semantic reading (``shared.semantic``) finds
a concept said right in plain words. Where the readings disagree the answer goes to a reviewer
with the reason. The rules are written down in ``docs/grading.md``; this module is their only
implementation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

from shared.bank import Claim, Concept

if TYPE_CHECKING:
    from shared.semantic import Matrix, SentenceEncoder

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
# How far back a negation reaches within a sentence, and how far ahead a dismissal does
# ("retries are not needed").
NEGATION_REACH = 4
DISMISSAL_REACH = 5
DISMISSAL_LIST_REACH = 10
# Gaps allowed between the words of a synonym, of a misstatement and of a claim's attribute.
SYNONYM_GAP = 1
MISSTATEMENT_GAP = 2
ATTRIBUTE_GAP = 1
# Each wrong claim cancels this much of its concept's weight in right ones, as a wrong pick
# cancels a right one in a multiple-choice item.
WRONG_CLAIM_PENALTY = 1.0
# Denying or misstating an essential concept caps the answer at this share.
ESSENTIAL_CAP = 0.25
# Semantic reading: a sentence this close to a concept's plain-words description says it ...
PARAPHRASE_FULL = 0.62
# ... this close, says it in part ...
PARAPHRASE_PART = 0.52
# ... and a sentence must have this many content words to be read for meaning at all.
SEMANTIC_MIN_WORDS = 5
PARAPHRASE_PART_CREDIT = 0.5
# A sentence this close to the question (or sharing this share of its words) restates it.
COPY_SIMILARITY = 0.9
COPY_OVERLAP = 0.75
# Routing: an answer goes to a reviewer when the readings in doubt could move its 0-4 grade
# by this much between them.
REVIEW_SWING = 0.6

_NEGATION_WORDS = (
    "not",
    "no",
    "never",
    "without",
    "neither",
    "nor",
    "avoid",
    "instead",
    "nothing",
    "none",
    "nobody",
    "cannot",
    # A name brought in as the thing turned down: "rather than the old OpenCensus exporter".
    "than",
    "rather",
    "unlike",
)
# Words that wave a practice away rather than merely leave it out.
_DISMISSAL_WORDS = (
    "skip",
    "skipping",
    "unnecessary",
    "needless",
    "pointless",
    "overkill",
    "redundant",
    "useless",
    "optional",
    "overrated",
    "overhead",
    "forget",
    "disable",
    "bypass",
    "ignore",
    "wasted",
    "waste",
    "unneeded",
    "superfluous",
)
_NEEDED_WORDS = ("need", "needed", "required", "necessary", "worth", "important", "matter", "bother")
# Verbs of taking a practice up: a negation just before one rejects what follows ("never use
# bindings", "what I never do is propagate correlation ids"), which is a dismissal, not a remark.
_ADOPTION_WORDS = (
    "use",
    "uses",
    "using",
    "rely",
    "adopt",
    "add",
    "enable",
    "introduce",
    "implement",
    "propagate",
    "apply",
    "include",
    "configure",
    "choose",
    "pick",
    "split",
)
# How many words a rejecting negation may stand before its verb ("never do is propagate").
ADOPTION_REACH = 3
# How far after a thing its avoider may come ("two-phase commit across services is something I avoid").
AVOIDED_REACH = 8
# Who avoids a thing after naming it ("two-phase commit is something I avoid", "should be avoided").
_AVOIDERS = ("i", "we", "you", "should", "must", "be", "to")
# Words that join buzzwords without explaining anything; a comma is kept as a word so that
# a negation does not reach across it ("no secrets, managed identity").
_FILLER_WORDS = ("and", "or", "plus", "also", "etc", "e", "g", "i", "use", "using", ",")
# Words that make an attribute shared by the subjects in a sentence, not owned by one.
_SHARED_WORDS = ("both", "also", "too", "either")
# Words that bring a name in as a contrast, not as the subject of what follows.
_CONTRAST_WORDS = ("than", "unlike", "instead", "versus", "vs", "not", "over")
_DROPPED = frozenset({"a", "an", "the"})
# A stop ends a sentence only before a space or the end, so "settings.py", "queryset.update()"
# and "azure-pipelines.yml" stay whole.
_BREAKS = r"(?:[.;:!?]+(?=\s|$)|[\n\r•]+)+"
_SENTENCE_BREAK = re.compile(_BREAKS + r"|\s[-*]\s|\b(?:but|however|whereas|while)\b", re.IGNORECASE)
# The same split for a text without bullets or joining words, many times faster.
_PUNCTUATION_BREAK = re.compile(_BREAKS)
_JOINING_WORDS = ("but", "however", "whereas", "while")
_WORD = re.compile(r"[a-z0-9_]+|,")
_NOT = re.compile(r"n't\b")
_POSSESSIVE = re.compile(r"'s\b")
_QUOTE_CHARS = 240


@dataclass(frozen=True, slots=True)
class ConceptVerdict:
    """How one rubric concept fared in an answer, with the sentence that decided it."""

    concept: Concept
    credit: float
    # "explained", "paraphrased", "thin", "named", "misstated", "dismissed", "negated", "missing"
    state: str
    quote: str = ""
    note: str = ""


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
    # "note" must not become "not", a negation.
    if len(word) > 3 and word.endswith("e") and word != "note":
        word = word[:-1]
    if len(word) > 3 and word.endswith("y"):
        word = word[:-1] + "i"
    return word


_NEGATIONS = frozenset(stem(w) for w in _NEGATION_WORDS)
_DISMISSALS = frozenset(stem(w) for w in _DISMISSAL_WORDS)
_NEEDED = frozenset(stem(w) for w in _NEEDED_WORDS)
_FILLER = frozenset(stem(w) for w in _FILLER_WORDS)
_SHARED = frozenset(stem(w) for w in _SHARED_WORDS)
_CONTRAST = frozenset(stem(w) for w in _CONTRAST_WORDS)
_ADOPTION = frozenset(stem(w) for w in _ADOPTION_WORDS)
_AVOID = stem("avoid")
_INSTEAD = stem("instead")
# A name right after one of these is where something goes, not who does it ("logging to App
# Insights", "a message onto a Service Bus queue").
_CLAUSE_AHEAD = frozenset({",", *(stem(w) for w in ("so", "because", "since"))})
# A rejection's reach ends at a comma or a contrast ("than", "instead", "rather" ...), not at "not".
_CLAUSE_STOPS = (_CONTRAST - {"not"}) | {",", stem("rather")}
_AVOIDING = frozenset(stem(w) for w in _AVOIDERS)
_DENIALS = _NEGATIONS | _DISMISSALS
_COMMA = frozenset({","})
_PREPOSITIONS = frozenset({"from", "in", "at", "by", "via", "into", "through", "on"})
# ... and the same words, less "by" (whose name is the doer), plus a few more, say where it goes.
_DESTINATIONS = (_PREPOSITIONS - {"by"}) | {"to", "onto", "with", "for"}
# Words that carry no content of their own: a sentence of only these and the question's words says nothing.
_FUNCTION_WORDS = frozenset(
    stem(w)
    for w in (
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "what",
        "which",
        "who",
        "in",
        "on",
        "of",
        "for",
        "to",
        "with",
        "by",
        "as",
        "at",
        "so",
        "then",
        "there",
        "their",
        "they",
        "them",
        "we",
        "you",
        "i",
        "me",
        "my",
        "our",
        "your",
        "do",
        "does",
        "did",
        "just",
        "basically",
        "simply",
        "explain",
        "question",
        "interview",
        "describe",
        "how",
        "would",
        "handle",
    )
)


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    if "'" not in text:
        return text
    return _POSSESSIVE.sub("", _NOT.sub(" not", text))


def tokens(text: str) -> tuple[str, ...]:
    """Stemmed words of a phrase, articles and commas dropped."""
    return tuple(stem(w) for w in _WORD.findall(_plain(text)) if w not in _DROPPED and w != ",")


# Distinct words (stems) and chunks (clause breaks) a worker remembers; past this, a new one is worked
# out each time it comes ...
_STEM_TABLE_SIZE = 65536
# ... and the words each rubric remembers the matches of (a bank has a few dozen rubrics).
_KNOWN_WORDS_PER_RUBRIC = 16384


class _StemTable(dict[str, str]):
    """Each word's stem, "" for an article, worked out the first time the word comes."""

    def __missing__(self, word: str) -> str:
        found = "" if word in _DROPPED else stem(word)
        if len(self) < _STEM_TABLE_SIZE:
            self[word] = found
        return found


_STEMS = _StemTable()


# For ASCII text without apostrophes, where _plain only lowers the case, the words _WORD finds are
# what is left between spaces once this lowers letters, spaces out commas and blanks everything else.
_ASCII_WORDS = str.maketrans(
    {
        code: (
            chr(code).lower()
            if chr(code).isalnum() or chr(code) == "_"
            else " , "
            if chr(code) == ","
            else " "
        )
        for code in range(128)
    }
)


def _words(part: str) -> tuple[str, ...]:
    if part.isascii() and "'" not in part:
        found = part.translate(_ASCII_WORDS).split()
    else:
        found = _WORD.findall(_plain(part))
    # No stem is empty, so filtering out "" drops exactly the articles.
    return tuple(filter(None, map(_STEMS.__getitem__, found)))


def _sentence_parts(text: str) -> list[str]:
    # Case-insensitive matching treats a few non-ASCII letters as ASCII ones ("ſ" as "s"), so only
    # an ASCII text is checked by its lower case for the joining words.
    if text.isascii():
        folded = text.lower()
        if not any(word in folded for word in _JOINING_WORDS) and not (
            ("-" in text or "*" in text) and _has_bullet(text)
        ):
            return _PUNCTUATION_BREAK.split(text)
    return _SENTENCE_BREAK.split(text)


def _has_bullet(text: str) -> bool:
    """Whether a hyphen or an asterisk stands between spaces (a bullet), as ``\\s[-*]\\s`` finds one."""
    for mark in "-*":
        at = text.find(mark, 1)
        while 0 < at < len(text) - 1:
            if text[at - 1].isspace() and text[at + 1].isspace():
                return True
            at = text.find(mark, at + 1)
    return False


def _split(text: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """The answer's sentences (lines, bullets, clauses after "but" or "however") as written and as words."""
    texts: list[str] = []
    words: list[tuple[str, ...]] = []
    for part in _sentence_parts(text):
        found = _words(part)
        if found:
            # Kept with its surrounding spaces: quotes and the meaning reading split it into words anyway.
            texts.append(part)
            words.append(found)
    return tuple(texts), tuple(words)


def _typo(word: str, target: str) -> bool:
    return fuzz.ratio(word, target, score_cutoff=FUZZY_TOKEN_RATIO) >= FUZZY_TOKEN_RATIO


class _WordMatches:
    """Which words of an answer count as which of the rubric's words: themselves, or those they are typos of.

    Worked out the first time a word comes and kept, so an answer costs a few set operations.
    """

    __slots__ = ("_fuzzy", "_known", "_matching", "_words")

    def __init__(self, words: frozenset[str], fuzzy: dict[str, tuple[str, ...]]) -> None:
        self._words = words
        # Words long enough to match a typo, by their first two letters (which a typo must keep).
        self._fuzzy = fuzzy
        # Every word met, with the rubric words it counts as (mostly none) ...
        self._known: dict[str, tuple[str, ...]] = {}
        # ... and those that count as one at all.
        self._matching: set[str] = set()

    def _targets(self, word: str) -> tuple[str, ...]:
        found: tuple[str, ...] = (word,) if word in self._words else ()
        targets = self._fuzzy.get(word[:2])
        if targets and len(word) >= FUZZY_TOKEN_MIN_LENGTH:
            found += tuple(t for t in targets if t != word and _typo(word, t))
        return found

    def find(self, answer_words: frozenset[str]) -> dict[str, set[str]]:
        """For each rubric word the answer has, the answer's words that count as it."""
        known, matching = self._known, self._matching
        beyond: list[tuple[str, tuple[str, ...]]] = []
        for word in answer_words.difference(known):
            targets = self._targets(word)
            if len(known) >= _KNOWN_WORDS_PER_RUBRIC:
                # A worker that has met this many words works any further one out each time it comes.
                beyond.append((word, targets))
                continue
            known[word] = targets
            if targets:
                matching.add(word)
        found: dict[str, set[str]] = {}
        for word, targets in [(word, known[word]) for word in answer_words.intersection(matching)] + beyond:
            for target in targets:
                accepted = found.get(target)
                if accepted is None:
                    found[target] = {word}
                else:
                    accepted.add(word)
        return found


@dataclass(frozen=True, slots=True)
class _Phrase:
    """A synonym or misstatement of the concept at index ``concept``, as stemmed words."""

    concept: int
    misstatement: bool
    words: tuple[str, ...]
    text: str
    vocabulary: frozenset[str]


@dataclass(frozen=True, slots=True)
class _ClaimPlan:
    """A concept's claim as stemmed phrases: who it is true of, who it is not, and what it says."""

    concept: int
    subjects: tuple[tuple[set[str], ...], ...]
    rivals: tuple[tuple[set[str], ...], ...]
    attributes: tuple[tuple[str, ...], ...]
    attribute_sets: tuple[tuple[set[str], ...], ...]
    words: frozenset[str]
    # The first words of its attributes: a sentence with none of them says nothing of the claim.
    attribute_words: frozenset[str]
    statement: str


# Identity, not field, equality: a compiled rubric keys the result cache and is built once per bank.
@dataclass(frozen=True, slots=True, eq=False)
class Rubric:
    """An item's concepts, phrases, claims and meaning vectors, built once per item."""

    concepts: tuple[Concept, ...]
    phrases: tuple[_Phrase, ...]
    # Phrase indexes by first word: a phrase can only occur in an answer that has its first word.
    by_first_word: dict[str, tuple[int, ...]]
    matches: _WordMatches
    total_weight: float
    # Per concept: how far it moves the 0-4 grade, and its verdict when the answer never says it.
    grade_shares: tuple[float, ...]
    missing: tuple[ConceptVerdict, ...]
    claims: tuple[_ClaimPlan, ...]
    # Per concept, the words it uses itself (label, synonyms, plain-words descriptions).
    own_words: tuple[frozenset[str], ...]
    # The words that can bring any claim into play: its subjects' and rivals' first words.
    claim_words: frozenset[str]
    prompt_words: frozenset[str]
    # The prompt's words and the words that say nothing: a sentence of only these restates the question.
    restating_words: frozenset[str]
    encoder: SentenceEncoder | None
    # One row per plain-words description.
    meanings: Matrix | None
    # Per concept, the columns of ``meanings`` that describe it (none without descriptions).
    meaning_columns: tuple[tuple[int, ...], ...]
    prompt_vector: Matrix | None


def _claim_plan(concept: int, claim: Claim) -> _ClaimPlan:
    subjects = tuple(t for t in map(tokens, claim.subjects) if t)
    rivals = tuple(t for t in map(tokens, claim.rivals) if t)
    attributes = tuple(t for t in map(tokens, claim.attributes) if t)
    return _ClaimPlan(
        concept=concept,
        subjects=tuple(_exact(t) for t in subjects),
        rivals=tuple(_exact(t) for t in rivals),
        attributes=attributes,
        attribute_sets=tuple(_exact(t) for t in attributes),
        # A claim can only apply to a sentence naming one of its subjects or rivals.
        words=frozenset(t[0] for t in (*subjects, *rivals)),
        attribute_words=frozenset(t[0] for t in attributes),
        statement=claim.statement,
    )


def compile_rubric(
    concepts: Sequence[Concept], prompt: str = "", encoder: SentenceEncoder | None = None
) -> Rubric:
    """Split every phrase and claim into stemmed words and embed the descriptions, once per item."""
    phrases = tuple(
        _Phrase(index, misstatement, words, text, frozenset(words))
        for index, concept in enumerate(concepts)
        for misstatement, texts in ((True, concept.misstatements), (False, concept.synonyms))
        for text in texts
        for words in (tokens(text),)
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
    claims = tuple(
        _claim_plan(index, claim) for index, concept in enumerate(concepts) for claim in concept.claims
    )
    owners: list[int] = []
    descriptions: list[str] = []
    for index, concept in enumerate(concepts):
        for text in concept.paraphrases:
            owners.append(index)
            descriptions.append(text)
    meanings = encoder.embed(descriptions) if encoder is not None and descriptions else None
    prompt_vector = encoder.embed([prompt]) if encoder is not None and prompt else None
    prompt_words = frozenset(tokens(prompt))
    total_weight = sum(c.weight for c in concepts)
    return Rubric(
        concepts=tuple(concepts),
        phrases=phrases,
        by_first_word={word: tuple(indexes) for word, indexes in by_first_word.items()},
        matches=_WordMatches(words, {prefix: tuple(group) for prefix, group in fuzzy.items()}),
        total_weight=total_weight,
        grade_shares=tuple(4 * c.weight / (total_weight or 1.0) for c in concepts),
        missing=tuple(ConceptVerdict(c, 0.0, "missing") for c in concepts),
        claims=claims,
        own_words=tuple(
            frozenset(w for text in (c.label, *c.synonyms, *c.paraphrases) for w in tokens(text))
            for c in concepts
        ),
        claim_words=frozenset().union(*(claim.words for claim in claims)),
        prompt_words=prompt_words,
        restating_words=prompt_words | _FUNCTION_WORDS | _FILLER,
        encoder=encoder,
        meanings=meanings,
        meaning_columns=tuple(
            tuple(i for i, owner in enumerate(owners) if owner == concept) for concept in range(len(concepts))
        ),
        prompt_vector=prompt_vector,
    )


def _spans(sentence: Sequence[str], phrase: Sequence[set[str]], gap: int) -> list[tuple[int, int]]:
    """Spans (start, end) where the phrase's words occur in order with at most ``gap`` words between.

    Each word of the phrase comes as the set of the answer's words that count as it (typos); the
    sentence is known to have one of the first.
    """
    first = phrase[0]
    if len(first) == 1:
        # One word to look for, as nearly always: the tuple's own search finds it.
        (word,) = first
        start = sentence.index(word)
        count = sentence.count(word)
        if count == 1 and len(phrase) == 1:
            return [(start, start + 1)]
        starts = [start]
        for _ in range(count - 1):
            start = sentence.index(word, start + 1)
            starts.append(start)
    else:
        starts = [start for start, word in enumerate(sentence) if word in first]
    if len(phrase) == 1:
        return [(start, start + 1) for start in starts]
    rest = phrase[1:]
    spans: list[tuple[int, int]] = []
    for start in starts:
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


def _exact(words: Sequence[str]) -> tuple[set[str], ...]:
    return tuple({w} for w in words)


def _affirmed(sentence: Sequence[str]) -> Sequence[str]:
    """The sentence with its double negatives blanked: "nobody forgets", "never skip" affirm."""
    if _DISMISSALS.isdisjoint(sentence):
        return sentence
    words = list(sentence)
    for index, word in enumerate(sentence):
        if word in _DISMISSALS:
            negations = [i for i in range(max(0, index - 2), index) if words[i] in _NEGATIONS]
            if negations:
                for i in (*negations, index):
                    words[i] = ""
    return words


def _rejected(sentence: Sequence[str], start: int) -> bool:
    """Whether a rejecting verb ("never use", "don't add") governs the words from ``start`` on.

    It reaches back along its clause only: a comma, a contrast or a second verb ends it, so
    "don't use secrets in code, use Key Vault" rejects the secrets and not the vault.
    """
    for index in range(start - 1, max(-1, start - 1 - DISMISSAL_LIST_REACH), -1):
        word = sentence[index]
        if word in _CLAUSE_STOPS:
            return False
        if word in _ADOPTION:
            return any(w in _NEGATIONS for w in sentence[max(0, index - ADOPTION_REACH) : index])
    return False


def _avoided(sentence: Sequence[str], end: int) -> bool:
    """ "... is something I avoid", "... should be avoided": the words before are turned down."""
    after = sentence[end : end + AVOIDED_REACH]
    if "," in after:
        after = after[: after.index(",")]
    return any(w == _AVOID and _AVOIDING.intersection(after[max(0, i - 2) : i]) for i, w in enumerate(after))


def _denial(
    sentence: Sequence[str], span: tuple[int, int], phrase: Sequence[str], own: frozenset[str] = frozenset()
) -> str:
    """ "dismissed", "negated" or "" for a phrase found at ``span`` in a sentence.

    ``own`` is the concept's own vocabulary: a word it uses itself ("bindings are optional")
    does not dismiss it.
    """
    start, end = span
    sentence = _affirmed(sentence)
    dismissals = _DISMISSALS - own if own else _DISMISSALS
    after = sentence[end : end + DISMISSAL_REACH]
    # What follows a comma or "so"/"because"/"since" is another clause: "managed identity is for
    # the front end so users don't need passwords" does not deny the identity.
    cut = next((i for i, w in enumerate(after) if w in _CLAUSE_AHEAD), len(after))
    after = after[:cut]
    # The words just before the phrase (NEGATION_REACH) are the last of these, so a dismissal
    # among them is one here too.
    reach = sentence[max(0, start - DISMISSAL_LIST_REACH) : start]
    if not (dismissals.isdisjoint(reach) and dismissals.isdisjoint(after)):
        return "dismissed"
    if not (_NEGATIONS.isdisjoint(after) or _NEEDED.isdisjoint(after)):
        return "dismissed"
    # "don't bother with slots, canary releases or approvals": a dismissal reaches along a list.
    if not (_NEEDED.isdisjoint(reach) or _NEGATIONS.isdisjoint(reach)):
        return "dismissed"
    if _rejected(sentence, start):
        return "dismissed"
    before = sentence[max(0, start - NEGATION_REACH) : start]
    if "," in before:
        before = before[len(before) - before[::-1].index(",") :]
    if not _NEGATIONS.isdisjoint(before) or _avoided(sentence, end):
        return "negated"
    # A negation the phrase itself contains ("no secrets in code") is part of what it says.
    if any(w in _NEGATIONS and w not in phrase for w in sentence[start:end]):
        return "negated"
    return ""


@dataclass(slots=True)
class _Hits:
    """Where a concept was said right, denied or said wrong: (sentence, span) with a note."""

    positive: list[tuple[int, tuple[int, int]]]
    denied: list[tuple[int, str]]
    misstated: list[tuple[int, str]]


def _lexical_hits(
    rubric: Rubric,
    matches: dict[str, set[str]],
    text: Sequence[tuple[str, ...]],
    vocabularies: Sequence[frozenset[str]],
    restated: Sequence[bool],
    guarded: Sequence[bool],
) -> dict[int, _Hits]:
    """Per concept, where its synonyms and misstatements occur and whether each is denied.

    Sentence by sentence, a sentence's phrases in rubric order: a concept's misstatements before
    its synonyms, so that a synonym inside a misstatement is known to be part of it.
    """
    hits: dict[int, _Hits] = {}
    by_first_word = rubric.by_first_word
    # The phrases that may begin in the answer, with the answer's words that count as their first word.
    openers = [(by_first_word[word], accepted) for word, accepted in matches.items() if word in by_first_word]
    if not openers:
        return hits
    phrases = rubric.phrases
    matched = matches.keys()
    for index, words in enumerate(text):
        if restated[index]:
            continue
        vocabulary = vocabularies[index]
        candidates = [
            phrase
            for starting, accepted in openers
            if not accepted.isdisjoint(vocabulary)
            for phrase in starting
        ]
        if not candidates:
            continue
        # Each phrase is listed under its first word only, so no index comes twice.
        candidates.sort()
        # A sentence without a negation or a dismissal denies nothing.
        denies = guarded[index]
        # Per concept, the spans of its misstatements in this sentence.
        wrong: dict[int, list[tuple[int, int]]] = {}
        for phrase_index in candidates:
            phrase = phrases[phrase_index]
            # A phrase counts only when the answer has every one of its words.
            if len(phrase.words) == 1:
                accepted_words: tuple[set[str], ...] = (matches[phrase.words[0]],)
            elif matched >= phrase.vocabulary:
                accepted_words = tuple([matches[word] for word in phrase.words])
            else:
                continue
            found = hits.get(phrase.concept)
            if found is None:
                found = hits[phrase.concept] = _Hits([], [], [])
            if phrase.misstatement:
                for span in _spans(words, accepted_words, MISSTATEMENT_GAP):
                    if not (denies and _denial(words, span, phrase.words)):
                        wrong.setdefault(phrase.concept, []).append(span)
                        found.misstated.append((index, f'"{phrase.text}" is wrong'))
                continue
            inside = wrong.get(phrase.concept)
            for span in _spans(words, accepted_words, SYNONYM_GAP):
                # Words inside a misstatement belong to the misstatement, not to a correct claim.
                if inside and any(s[0] < span[1] and span[0] < s[1] for s in inside):
                    continue
                if denies:
                    denial = _denial(words, span, phrase.words, rubric.own_words[phrase.concept])
                    if denial:
                        found.denied.append((index, denial))
                        continue
                found.positive.append((index, span))
    return hits


def _mentions(
    words: Sequence[str], vocabulary: frozenset[str], claim: _ClaimPlan
) -> list[tuple[int, int, bool]]:
    """Subject (True) and rival (False) mentions in a sentence, as (start, end, is_subject).

    A name brought in only as a contrast ("rather than CSV", "unlike Django") owns nothing.
    """
    found = [
        (start, end, is_subject)
        for is_subject, names in ((True, claim.subjects), (False, claim.rivals))
        for name in names
        if not name[0].isdisjoint(vocabulary)
        for start, end in _spans(words, name, 0)
        if not _contrasted(words, start)
    ]
    return sorted(found)


def _contrasted(words: Sequence[str], start: int) -> bool:
    """Whether the name at ``start`` comes in as a contrast: "than", "unlike", "instead of" ...

    "Instead" alone opens a sentence about what is done ("instead an Event Grid subscription
    ..."); only "instead of" brings a name in to turn it down.
    """
    window = words[max(0, start - 2) : start]
    if _CONTRAST.isdisjoint(window):
        return False
    if _INSTEAD in window and _CONTRAST.isdisjoint(w for w in window if w != _INSTEAD):
        at = window.index(_INSTEAD)
        return at + 1 < len(window) and window[at + 1] == "of"
    return True


def _owner(
    words: Sequence[str], mentions: list[tuple[int, int, bool]], span: tuple[int, int]
) -> tuple[int, int, bool] | None:
    """The subject an attribute is said of.

    "secrets from Key Vault": a name right after the attribute and a preposition owns it;
    otherwise the nearest name before the attribute in its clause, then the first after it in
    its clause ("service to service use client credentials"); else no one.
    """
    follow = words[span[1] : span[1] + 2]
    if follow and follow[0] in _PREPOSITIONS:
        after = [m for m in mentions if span[1] < m[0] <= span[1] + 2]
        if after:
            return after[0]
    start = max((i + 1 for i in range(span[0]) if words[i] == ","), default=0)
    end = next((i for i in range(span[1], len(words)) if words[i] == ","), len(words))
    before = [m for m in mentions if m[1] <= span[0]]
    in_clause = [m for m in before if m[0] >= start]
    if in_clause:
        return in_clause[-1]
    later = [m for m in mentions if span[1] <= m[0] and m[1] <= end and words[m[0] - 1] not in _DESTINATIONS]
    if later:
        return later[0]
    # A name in an earlier clause is not taken: ", so for real time use Live Metrics" is about
    # what its own clause names, and guessing across clauses wrongs right answers.
    return None


def _claim_hits(
    hits: dict[int, _Hits],
    rubric: Rubric,
    text: Sequence[tuple[str, ...]],
    vocabularies: Sequence[frozenset[str]],
    guarded: Sequence[bool],
) -> None:
    # A sentence that shares an attribute between its subjects ("both", "also") is not read for claims.
    readable = [
        (index, words, vocabulary, guarded[index])
        for index, (words, vocabulary) in enumerate(zip(text, vocabularies, strict=True))
        if _SHARED.isdisjoint(vocabulary)
    ]
    for claim in rubric.claims:
        for index, words, vocabulary, denies in readable:
            if claim.words.isdisjoint(vocabulary) or claim.attribute_words.isdisjoint(vocabulary):
                continue
            mentions = _mentions(words, vocabulary, claim)
            if not mentions:
                continue
            for attribute, accepted in zip(claim.attributes, claim.attribute_sets, strict=True):
                if accepted[0].isdisjoint(vocabulary):
                    continue
                for span in _spans(words, accepted, ATTRIBUTE_GAP):
                    if any(m[0] < span[1] and span[0] < m[1] for m in mentions):
                        continue
                    owner = _owner(words, mentions, span)
                    if owner is None:
                        continue
                    denial = (
                        _denial(words, span, attribute, rubric.own_words[claim.concept]) if denies else ""
                    )
                    found = hits.setdefault(claim.concept, _Hits([], [], []))
                    if owner[2] and not denial:
                        found.positive.append((index, span))
                    elif owner[2]:
                        found.denied.append((index, denial))
                    elif not denial:
                        found.misstated.append(
                            (index, f"the answer has it the wrong way round: {claim.statement}")
                        )


def _shape(sentence: Sequence[str]) -> tuple[int, bool]:
    """A sentence's content words, and whether it is a list of names."""
    content = len(sentence) - sum(map(_FILLER.__contains__, sentence))
    parts = sentence.count(",") + 1
    # A list needs enough parts, and a part longer than a name rules it out.
    if parts < LIST_MIN_PARTS or content > parts * LIST_PART_WORDS:
        return content, False
    run = 0
    for word in sentence:
        if word == ",":
            run = 0
        elif word not in _FILLER:
            run += 1
            if run > LIST_PART_WORDS:
                return content, False
    return content, True


def _explanation_credit(
    sentence_index: int,
    sentence: Sequence[str],
    shape: tuple[int, bool],
    covered: dict[int, set[int]],
    concepts_in: dict[int, int],
) -> tuple[float, str]:
    content, listed = shape
    if listed:
        return NAMED_ONLY_CREDIT, "named"
    # The words a synonym or attribute matched are not the sentence's own.
    used = covered.get(sentence_index, ())
    content -= len(used) - sum(map(_FILLER.__contains__, map(sentence.__getitem__, used)))
    ratio = content / max(1, concepts_in.get(sentence_index, 1))
    if ratio >= FULL_EXPLANATION_RATIO:
        return 1.0, "explained"
    if ratio >= THIN_EXPLANATION_RATIO:
        return THIN_CREDIT, "thin"
    return NAMED_ONLY_CREDIT, "named"


def _restates_question(vocabulary: frozenset[str], rubric: Rubric) -> bool:
    words = vocabulary - _COMMA
    if not words or not rubric.prompt_words:
        return False
    if len(words - rubric.restating_words) < 2:
        return True
    return len(words & rubric.prompt_words) / len(words) >= COPY_OVERLAP


def _meaning_pieces(reading: _Reading) -> tuple[list[int], list[str], list[tuple[int, int]]]:
    """The pieces read for meaning: (sentence of each piece, the chunks, each piece's chunk range)."""
    readable: list[int] = []
    chunks: list[str] = []
    spans: list[tuple[int, int]] = []
    restated = reading.restated
    for i, (text, (content, listed)) in enumerate(zip(reading.texts, reading.shapes, strict=True)):
        if restated[i] or content < SEMANTIC_MIN_WORDS or listed:
            continue
        words = text.split()
        offset = len(chunks)
        for begin, end in _pieces(words):
            readable.append(i)
            spans.append((offset + begin, offset + end))
        chunks += words
    return readable, chunks, spans


@dataclass(slots=True)
class _Closeness:
    """Per description, the best similarity of a piece to it and the sentence of that piece."""

    top: list[float]
    sentences: list[int]

    def of(self, columns: tuple[int, ...]) -> tuple[float, int]:
        """The best of a concept's descriptions (its columns), and its sentence."""
        if not columns:
            return _NOT_CLOSE
        # The best description per concept in plain Python, over a few numbers.
        column = columns[0] if len(columns) == 1 else max(columns, key=self.top.__getitem__)
        return self.top[column], self.sentences[column]


# The closeness of a concept the meaning reading did not look for.
_NOT_CLOSE = (0.0, -1)


def _closeness(rubric: Rubric, readable: Sequence[int], vectors: Matrix) -> _Closeness | None:
    """The best piece per description; a concept's best is worked out only if its verdict needs it."""
    if rubric.meanings is None or not readable:
        return None
    scores = vectors @ rubric.meanings.T
    if rubric.prompt_vector is not None:
        copied = (vectors @ rubric.prompt_vector.T)[:, 0] >= COPY_SIMILARITY
        if True in copied.tolist():
            scores[copied, :] = -1.0
    where = scores.argmax(axis=0).tolist()
    return _Closeness(scores.max(axis=0).tolist(), [readable[piece] for piece in where])


# Words that open a new clause; a chunk ending in a comma closes one.
_CLAUSE_WORDS = frozenset({"and", "so", "then", "which", "with"})
_OPENS, _CLOSES = 1, 2


class _ChunkKinds(dict[str, int]):
    """Whether a chunk opens a clause, closes one or neither, worked out the first time it comes."""

    def __missing__(self, chunk: str) -> int:
        kind = _CLOSES if chunk.endswith(",") else _OPENS if chunk.lower() in _CLAUSE_WORDS else 0
        if len(self) < _STEM_TABLE_SIZE:
            self[chunk] = kind
        return kind


_CHUNK_KINDS = _ChunkKinds()


def _pieces(words: Sequence[str]) -> list[tuple[int, int]]:
    """A sentence and, when long, its clauses (as word ranges): one idea per piece reads closer."""
    kinds = list(map(_CHUNK_KINDS.__getitem__, words))
    if not any(kinds):
        return [(0, len(words))]
    # Only clauses long enough to say something are kept.
    shortest = SEMANTIC_MIN_WORDS - 1
    clauses: list[tuple[int, int]] = []
    begin = 0
    for index, kind in enumerate(kinds):
        if kind:
            end = index if kind == _OPENS else index + 1
            if end - begin >= shortest:
                clauses.append((begin, end))
            begin = index + 1
    if len(words) - begin >= shortest:
        clauses.append((begin, len(words)))
    if len(clauses) < 2:
        return [(0, len(words))]
    # Adjacent clauses joined again keep ideas that span a comma.
    pairs = [(a[0], b[1]) for a, b in pairwise(clauses)]
    return [(0, len(words)), *clauses, *pairs]


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1].rstrip() + "…"


@lru_cache(maxsize=8192)
def grade_with_rubric(text: str, rubric: Rubric) -> RubricResult:
    """Score an open answer against a compiled rubric; see docs/grading.md for the rules."""
    return grade_answers(((text, rubric),))[0]


def grade_answers(answers: Sequence[tuple[str, Rubric]]) -> list[RubricResult]:
    """Score several open answers, reading all of them for meaning with one call to the sentence model."""
    readings = [_read(text, rubric) for text, rubric in answers]
    requests = [
        _meaning_pieces(reading) if rubric.encoder is not None and rubric.meanings is not None else None
        for (_, rubric), reading in zip(answers, readings, strict=True)
    ]
    chunks: list[str] = []
    spans: list[tuple[int, int]] = []
    rows: list[tuple[int, int]] = []
    for request in requests:
        first = len(spans)
        if request is not None:
            _, pieces_chunks, pieces_spans = request
            offset = len(chunks)
            spans += [(begin + offset, end + offset) for begin, end in pieces_spans]
            chunks += pieces_chunks
        rows.append((first, len(spans)))
    # Every rubric of a bank shares the worker's one encoder.
    encoder = next((rubric.encoder for _, rubric in answers if rubric.encoder is not None), None)
    vectors = encoder.embed_spans(chunks, spans) if encoder is not None and spans else None
    results = []
    for (_, rubric), reading, request, (first, last) in zip(answers, readings, requests, rows, strict=True):
        closeness = None
        if request is not None and vectors is not None and last > first:
            closeness = _closeness(rubric, request[0], vectors[first:last])
        results.append(_verdict(rubric, reading, closeness))
    return results


@dataclass(slots=True)
class _Reading:
    """What the words and the claims of one answer say, before it is read for meaning."""

    texts: tuple[str, ...]
    words: tuple[tuple[str, ...], ...]
    restated: tuple[bool, ...]
    # Per sentence, its content words and whether it is a list of names.
    shapes: tuple[tuple[int, bool], ...]
    hits: dict[int, _Hits]
    covered: dict[int, set[int]]
    concepts_in: dict[int, int]


def _read(text: str, rubric: Rubric) -> _Reading:
    texts, words = _split(text)
    vocabularies = tuple(map(frozenset, words))
    restated = tuple(_restates_question(v, rubric) for v in vocabularies)
    guarded = tuple(not _DENIALS.isdisjoint(v) for v in vocabularies)
    answer_words = frozenset().union(*vocabularies)
    hits = _lexical_hits(rubric, rubric.matches.find(answer_words), words, vocabularies, restated, guarded)
    if not rubric.claim_words.isdisjoint(answer_words):
        _claim_hits(hits, rubric, words, vocabularies, guarded)
    covered: dict[int, set[int]] = {}
    concepts_in: dict[int, int] = {}
    for found in hits.values():
        seen_in: set[int] = set()
        for index, (start, end) in found.positive:
            covered.setdefault(index, set()).update(range(start, end))
            seen_in.add(index)
        for index in seen_in:
            concepts_in[index] = concepts_in.get(index, 0) + 1
    return _Reading(texts, words, restated, tuple(map(_shape, words)), hits, covered, concepts_in)


def _verdict(rubric: Rubric, reading: _Reading, closeness: _Closeness | None) -> RubricResult:
    """Combine the three readings into credits, deductions, the share and the doubts."""
    hits, covered, concepts_in = reading.hits, reading.covered, reading.concepts_in
    parsed, words_only = reading.texts, reading.words
    word_count = sum(len(w) - w.count(",") for w in words_only)
    concepts = rubric.concepts
    total = rubric.total_weight or 1.0
    credits: dict[int, tuple[float, str]] = {}
    verdicts: list[ConceptVerdict] = []
    # Doubts: (reason, how far the 0-4 grade would move if the reading behind it were wrong).
    doubts: list[tuple[str, float]] = []
    earned = wrong = 0.0
    wrong_concepts: list[str] = []
    capped = False
    # Several concepts are often quoted from one sentence.
    quotes: dict[int, str] = {}

    def quoted(sentence_index: int) -> str:
        text = quotes.get(sentence_index)
        if text is None:
            text = quotes[sentence_index] = _quote(parsed[sentence_index])
        return text

    columns_of = rubric.meaning_columns
    for index, concept in enumerate(concepts):
        found = hits.get(index)
        if found is None or not (found.misstated or found.denied or found.positive):
            # Neither said nor denied in so many words: only the meaning reading can find it.
            similar, similar_at = _NOT_CLOSE if closeness is None else closeness.of(columns_of[index])
            if similar >= PARAPHRASE_FULL:
                verdicts.append(ConceptVerdict(concept, 1.0, "paraphrased", quoted(similar_at)))
                earned += concept.weight
            elif similar >= PARAPHRASE_PART:
                quote = quoted(similar_at)
                verdicts.append(ConceptVerdict(concept, PARAPHRASE_PART_CREDIT, "paraphrased", quote))
                earned += PARAPHRASE_PART_CREDIT * concept.weight
                swing = (1 - PARAPHRASE_PART_CREDIT) * rubric.grade_shares[index]
                doubts.append((f"{concept.label} may be explained in other words", swing))
            else:
                verdicts.append(rubric.missing[index])
        elif found.misstated:
            sentence_index, note = found.misstated[0]
            verdicts.append(ConceptVerdict(concept, 0.0, "misstated", quoted(sentence_index), note))
            wrong += concept.weight
            wrong_concepts.append(concept.label)
            capped |= concept.essential
        elif found.denied and any(how == "dismissed" for _, how in found.denied):
            sentence_index = next(i for i, how in found.denied if how == "dismissed")
            verdicts.append(ConceptVerdict(concept, 0.0, "dismissed", quoted(sentence_index)))
            wrong += concept.weight
            wrong_concepts.append(concept.label)
            capped |= concept.essential
        elif found.positive:
            for sentence_index, _ in found.positive:
                if sentence_index not in credits:
                    credits[sentence_index] = _explanation_credit(
                        sentence_index,
                        words_only[sentence_index],
                        reading.shapes[sentence_index],
                        covered,
                        concepts_in,
                    )
            best = (
                found.positive[0][0]
                if len(found.positive) == 1
                else max(found.positive, key=lambda hit: credits[hit[0]])[0]
            )
            credit, state = credits[best]
            if credit < 1.0 and closeness is not None:
                similar, similar_at = closeness.of(columns_of[index])
                if similar >= PARAPHRASE_FULL:
                    credit, state, best = 1.0, "explained", similar_at
            verdicts.append(ConceptVerdict(concept, credit, state, quoted(best)))
            earned += credit * concept.weight
        else:
            sentence_index, how = found.denied[0]
            verdicts.append(ConceptVerdict(concept, 0.0, how, quoted(sentence_index)))
            if how == "dismissed" or concept.essential:
                wrong += concept.weight
                wrong_concepts.append(concept.label)
                capped |= concept.essential
            else:
                doubts.append(
                    (f"{concept.label} appears only in a negated phrase", rubric.grade_shares[index])
                )
    if capped:
        # The cap is the punishment for denying what is essential; what else is right still counts
        # up to it (an examiner's 1 of 4), so the wrong claim is not charged twice.
        share = min(earned / total, ESSENTIAL_CAP)
    else:
        share = max(0.0, earned - WRONG_CLAIM_PENALTY * wrong) / total
    # One wrong claim against much that is right is the reading most worth a second look; two or
    # more wrong claims agree with each other.
    if len(wrong_concepts) == 1:
        doubts.append(
            (
                f"a wrong claim ({wrong_concepts[0]}) stands in an otherwise strong answer",
                4 * (earned / total - share),
            )
        )
    swing = sum(amount for _, amount in doubts)
    routed = [reason for reason, amount in doubts if amount > 0] if swing >= REVIEW_SWING else []
    return RubricResult(
        share=round(share, 6),
        verdicts=tuple(verdicts),
        needs_review=bool(routed),
        review_reason="; ".join(dict.fromkeys(routed)),
        words=word_count,
    )
