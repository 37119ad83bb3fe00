"""Open-answer rubric rules: explanations earn, buzzwords and misstatements do not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.bank import Concept, Item
from shared.rubric import (
    _SENTENCE_BREAK,
    _WORD,
    NAMED_ONLY_CREDIT,
    RubricResult,
    _plain,
    _sentence_parts,
    _words,
    compile_rubric,
    grade_with_rubric,
    stem,
)
from shared.semantic import default_encoder
from tests.small_bank import small_bank


@pytest.fixture(scope="module")
def events() -> tuple[Concept, ...]:
    return small_bank().item("scn-events").concepts


@pytest.fixture(scope="module")
def frameworks() -> Item:
    return small_bank().item("iq-frameworks")


def grade_open_answer(text: str, concepts: tuple[Concept, ...]) -> RubricResult:
    """The rubric as production compiles it: with the worker's sentence model."""
    return grade_with_rubric(text, compile_rubric(concepts, "", default_encoder()))


def states(text: str, concepts: tuple[Concept, ...]) -> dict[str, str]:
    return {v.concept.id: v.state for v in grade_open_answer(text, concepts).verdicts}


GOOD = (
    "Orders go on a Service Bus queue so the web tier is decoupled from processing. Messages that keep "
    "failing are moved to the dead-letter queue where an operator inspects them. Consumers are idempotent "
    "so a redelivered order writes the same row. The function reads the queue with its managed identity."
)


def test_a_complete_explained_answer_earns_full_marks(events: tuple[Concept, ...]) -> None:
    result = grade_open_answer(GOOD, events)
    assert result.share == 1.0
    assert not result.needs_review


def test_a_bare_list_of_buzzwords_earns_little(events: tuple[Concept, ...]) -> None:
    result = grade_open_answer("Service Bus, dead-lettering, idempotency, managed identity", events)
    assert result.share == NAMED_ONLY_CREDIT
    assert set(states("Service Bus, dead-lettering, idempotency, managed identity", events).values()) == {
        "named"
    }


def test_buzzwords_run_together_earn_little(events: tuple[Concept, ...]) -> None:
    assert grade_open_answer("service bus dead letter idempotent managed identity", events).share <= 0.25


def test_a_concept_stated_in_other_words_earns_its_points(events: tuple[Concept, ...]) -> None:
    text = "Each function talks to storage with the platform's own identity instead of secrets in settings."
    assert states(text, events)["mi"] == "explained"


def test_entra_id_counts_as_identity(events: tuple[Concept, ...]) -> None:
    assert (
        states("The worker gets tokens from Entra ID rather than keeping keys.", events)["mi"] == "explained"
    )


def test_a_misstatement_earns_nothing_and_cancels_as_much_that_is_right(frameworks: Item) -> None:
    text = "FastAPI is synchronous while Django is async-first. Django ships an ORM and an admin site."
    found = states(text, frameworks.concepts)
    assert found == {"async": "misstated", "batteries": "explained"}
    assert grade_open_answer(text, frameworks.concepts).share == 0.0


def test_a_negated_misstatement_is_not_a_misstatement(frameworks: Item) -> None:
    text = "FastAPI is not synchronous: it runs on ASGI servers and handles async endpoints natively."
    assert states(text, frameworks.concepts)["async"] == "explained"


def test_a_concept_only_mentioned_as_negated_earns_nothing_and_asks_for_review(
    events: tuple[Concept, ...],
) -> None:
    result = grade_open_answer("We would not make the consumers idempotent because it is too slow.", events)
    assert {v.concept.id: v.state for v in result.verdicts}["idem"] == "negated"
    assert result.needs_review


def test_a_negation_does_not_reach_across_a_comma(events: tuple[Concept, ...]) -> None:
    text = "No connection strings, the function authenticates with its managed identity to read the queue."
    assert states(text, events)["mi"] == "explained"


def test_stating_a_concept_both_ways_asks_for_review(events: tuple[Concept, ...]) -> None:
    text = (
        "Exactly-once delivery is guaranteed by Service Bus. Still, I make handlers idempotent so a retry "
        "cannot write twice."
    )
    result = grade_open_answer(text, events)
    assert {v.concept.id: v.state for v in result.verdicts}["idem"] == "misstated"
    assert result.needs_review


def test_typos_in_long_words_still_match(events: tuple[Concept, ...]) -> None:
    assert states("Consumers are idempotant so replays write the same row twice safely.", events)["idem"] == (
        "explained"
    )


def test_an_empty_answer_earns_nothing(events: tuple[Concept, ...]) -> None:
    result = grade_open_answer("", events)
    assert result.share == 0.0
    assert not result.needs_review


@pytest.mark.parametrize(
    ("words", "same"),
    [
        (("retry", "retries", "retried"), True),
        (("cache", "caching"), True),
        (("synchronous", "asynchronous"), False),
    ],
)
def test_stemming_joins_word_forms_but_not_opposites(words: tuple[str, ...], same: bool) -> None:
    assert (len({stem(w) for w in words}) == 1) is same


# Pieces of text around the quick paths' edges: joining words, bullets, apostrophes, letters that
# match ASCII ones case-insensitively ("ſ", "ı", the Kelvin sign), other non-ASCII text.
_AWKWARD = st.lists(
    st.sampled_from(
        [
            *("but", "BUT", "While", "however", "whereas", "distributed", "attribute", "Bus"),
            *(" - ", " * ", "-", "*", "\t-\n", "\x1c*\x1c", " ", "  ", "\n", "\r", ".", ";", ":", "!?", "•"),
            *("don't", "it's", "Django's", "\u2019s", "n\u2019t", "'", ","),
            *("ſ", "ı", "\u212a", "é", "Ｂut", "run_in_executor", "e.g.", "A", "the", "x9"),
        ]
    ),
    max_size=14,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_AWKWARD)
def test_the_quick_sentence_split_is_the_full_one(text: str) -> None:
    assert _sentence_parts(text) == _SENTENCE_BREAK.split(text)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_AWKWARD, st.text(alphabet=st.characters(max_codepoint=127), max_size=30)))
def test_the_quick_words_are_the_full_ones(part: str) -> None:
    expected = tuple(stem(w) for w in _WORD.findall(_plain(part)) if w not in ("a", "an", "the"))
    assert _words(part) == expected
