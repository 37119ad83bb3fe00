"""Properties of the scorer over generated answer sheets."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from samples.build import answers_for_perfect
from shared.bank import Bank, ItemKind, load_bank
from shared.grading import grade_submission
from shared.readiness import assess
from shared.settings import ReadinessBands
from shared.submission import Answer, Candidate, SheetFormat, Submission
from tests.plans import plan_for
from tests.small_bank import small_bank

SMALL = small_bank()
WORDS = st.sampled_from(
    [
        "Service Bus",
        "queue",
        "dead-letter",
        "not",
        "idempotent",
        "managed identity",
        "FastAPI is synchronous",
        "ASGI",
        "because",
        "the",
        "Functions",
        "Blob",
        ",",
        ".",
        "\n",
        "Entra ID",
        "admin",
        "ORM",
        "never",
    ]
)


def submission(answers: list[Answer], bank_confidence: tuple[tuple[str, int], ...] = ()) -> Submission:
    return Submission(
        submission_key="prop",
        candidate=Candidate(name="P", email="p@example.com"),
        source_format=SheetFormat.TEMPLATE,
        answers=tuple(answers),
        confidence=bank_confidence,
    )


@st.composite
def answer_sheets(draw: st.DrawFn, bank: Bank = SMALL) -> list[Answer]:
    answers = []
    for item in bank.items:
        if not draw(st.booleans()):
            continue
        if item.choices:
            keys = draw(st.lists(st.sampled_from([c.key for c in item.choices]), max_size=4))
            answers.append(Answer(item_id=item.id, choices=tuple(keys)))
        else:
            text = " ".join(draw(st.lists(WORDS, max_size=25)))
            answers.append(Answer(item_id=item.id, text=text))
    return answers


@settings(max_examples=80, deadline=None)
@given(answer_sheets())
def test_every_item_scores_between_zero_and_its_maximum(answers: list[Answer]) -> None:
    graded = grade_submission(submission(answers), plan_for(SMALL))
    assert all(0.0 <= r.points <= r.max_points for r in graded.items)
    assert 0.0 <= graded.points <= graded.max_points
    readiness = assess(graded, SMALL, ReadinessBands())
    assert 0.0 <= readiness.overall <= 100.0


@settings(max_examples=60, deadline=None)
@given(answer_sheets(), st.randoms(use_true_random=False))
def test_permuting_answer_rows_changes_nothing(answers: list[Answer], rng: random.Random) -> None:
    shuffled = list(answers)
    rng.shuffle(shuffled)
    first = grade_submission(submission(answers), plan_for(SMALL)).model_dump_json()
    assert grade_submission(submission(shuffled), plan_for(SMALL)).model_dump_json() == first


def test_a_perfect_sheet_scores_one_hundred_percent_on_the_shipped_bank() -> None:
    bank = load_bank()
    answers = [
        Answer(item_id=i, choices=tuple(v) if isinstance(v, list) else (v,))
        if bank.item(i).choices
        else Answer(item_id=i, text=str(v))
        for i, v in answers_for_perfect(bank).items()
    ]
    graded = grade_submission(submission(answers), plan_for(bank))
    assert graded.points == graded.max_points
    assert assess(graded, bank, ReadinessBands()).overall == 100.0
    assert not any(r.needs_review for r in graded.items)


def test_an_empty_sheet_scores_zero_on_the_shipped_bank() -> None:
    bank = load_bank()
    graded = grade_submission(submission([]), plan_for(bank))
    assert graded.points == 0.0
    assert assess(graded, bank, ReadinessBands()).overall == 0.0
    assert {r.kind for r in graded.items} == set(ItemKind)
