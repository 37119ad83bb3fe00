"""Grading rules: choice partial credit, short-answer matching, sections and determinism."""

from __future__ import annotations

import pytest

from shared.bank import Bank, Section
from shared.errors import GradingError
from shared.grading import (
    ItemResult,
    ItemStatus,
    SectionResult,
    assemble,
    grade_section,
    grade_submission,
    normalise_service,
)
from shared.submission import Answer, Candidate, SheetFormat, Submission
from tests.plans import plan_for
from tests.small_bank import small_bank


@pytest.fixture(scope="module")
def bank() -> Bank:
    return small_bank()


def submission(*answers: Answer, confidence: tuple[tuple[str, int], ...] = ()) -> Submission:
    return Submission(
        submission_key="k1",
        candidate=Candidate(name="Ada Example", email="ada@example.com"),
        source_format=SheetFormat.TEMPLATE,
        answers=answers,
        confidence=confidence,
    )


def choose(item_id: str, *keys: str) -> Answer:
    return Answer(item_id=item_id, choices=keys)


def write(item_id: str, text: str) -> Answer:
    return Answer(item_id=item_id, text=text)


def graded(bank: Bank, item_id: str, answer: Answer | None) -> ItemResult:
    """The item's result as production grades it: grade_section over a submission holding this answer."""
    answers = () if answer is None else (answer,)
    section = grade_section(submission(*answers), bank.item(item_id).section, plan_for(bank))
    return next(r for r in section.items if r.item_id == item_id)


def test_single_choice_scores_only_the_key(bank: Bank) -> None:
    right = graded(bank, "q-gil", choose("q-gil", "A"))
    wrong = graded(bank, "q-gil", choose("q-gil", "B"))
    assert (right.points, right.status) == (1.0, ItemStatus.CORRECT)
    assert (wrong.points, wrong.status) == (0.0, ItemStatus.WRONG)
    assert wrong.key_text == "A) Bytecode execution"


def test_single_choice_with_two_picks_scores_nothing(bank: Bank) -> None:
    result = graded(bank, "q-gil", choose("q-gil", "A", "B"))
    assert result.points == 0.0
    assert "picked several" in result.feedback


@pytest.mark.parametrize(
    ("picks", "points"),
    [
        (("A", "B"), 2.0),
        (("A",), 1.0),
        (("A", "C"), 0.0),
        (("A", "B", "C"), 1.0),
        (("A", "B", "C", "D"), 0.0),
        (("C", "D"), 0.0),
    ],
)
def test_multiple_choice_wrong_picks_cancel_right_ones(
    bank: Bank, picks: tuple[str, ...], points: float
) -> None:
    assert graded(bank, "q-ctx", choose("q-ctx", *picks)).points == points


def test_multiple_choice_feedback_names_wrong_and_missed_options(bank: Bank) -> None:
    result = graded(bank, "q-ctx", choose("q-ctx", "A", "C"))
    assert "wrong pick (C)" in result.feedback
    assert "missed B" in result.feedback


@pytest.mark.parametrize(
    "text",
    [
        "Azure Functions",
        "functions",
        "  AZURE   functions. ",
        "Microsoft Azure Functions",
        "Function App",
        "Azure Fucntions",
        "Azure Functions (serverless)",
    ],
)
def test_short_answers_match_aliases_after_normalising(bank: Bank, text: str) -> None:
    result = graded(bank, "map-lambda", write("map-lambda", text))
    assert (result.points, result.needs_review) == (1.0, False)


def test_a_typo_is_accepted_and_said_so(bank: Bank) -> None:
    result = graded(bank, "map-lambda", write("map-lambda", "Azure Fucntions"))
    assert "allowing for spelling" in result.feedback


def test_a_different_service_scores_nothing(bank: Bank) -> None:
    result = graded(bank, "map-lambda", write("map-lambda", "App Service"))
    assert (result.points, result.status) == (0.0, ItemStatus.WRONG)
    assert "The answer is Azure Functions" in result.feedback


def test_naming_a_right_and_a_wrong_service_earns_half(bank: Bank) -> None:
    result = graded(bank, "map-lambda", write("map-lambda", "Functions or App Service"))
    assert (result.points, result.status) == (0.5, ItemStatus.PARTIAL)
    assert "where one is expected" in result.feedback


def test_naming_two_accepted_names_earns_full_marks(bank: Bank) -> None:
    result = graded(bank, "map-lambda", write("map-lambda", "Azure Functions / Function App"))
    assert result.points == 1.0


def test_a_near_miss_is_marked_for_review_without_points(bank: Bank) -> None:
    result = graded(bank, "map-s3", write("map-s3", "File Storage"))
    assert (result.points, result.needs_review) == (0.0, True)


def test_an_accepted_name_inside_a_sentence_scores_but_asks_for_review(bank: Bank) -> None:
    result = graded(bank, "map-s3", write("map-s3", "I would pick Blob Storage with lifecycle rules"))
    assert (result.points, result.needs_review) == (1.0, True)


def test_vendor_prefixes_are_dropped_but_a_lone_word_is_kept() -> None:
    assert normalise_service("Microsoft Azure SQL-Database!") == "sql database"
    assert normalise_service("Azure") == "azure"


def test_unanswered_items_say_so_and_show_the_key(bank: Bank) -> None:
    result = graded(bank, "scn-events", None)
    assert result.status is ItemStatus.UNANSWERED
    assert result.points == 0.0
    assert result.missing == (
        "a Service Bus queue decouples the steps",
        "dead-lettering",
        "idempotency",
        "managed identity",
    )


def test_section_results_round_trip_through_json(bank: Bank) -> None:
    result = grade_section(
        submission(write("scn-events", "Use a Service Bus queue so steps are decoupled.")),
        Section.SCENARIOS,
        plan_for(bank),
    )
    assert SectionResult.model_validate_json(result.model_dump_json()) == result


@pytest.mark.parametrize(
    "text",
    [
        "Orders go on a Service Bus queue so the web tier is decoupled, and consumers are idempotent.",
        "Service Bus, dead-lettering, idempotency",
        "No need for retries or a dead-letter queue; the queue guarantees exactly-once delivery.",
    ],
)
def test_an_open_answer_result_is_what_validation_builds(bank: Bank, text: str) -> None:
    # Open answers build their results without validation; they must be the validated models exactly.
    result = graded(bank, "scn-events", write("scn-events", text))
    validated = ItemResult.model_validate(result.model_dump())
    assert result.evidence
    assert result == validated
    assert [(k, type(v)) for k, v in vars(result).items()] == [
        (k, type(v)) for k, v in vars(validated).items()
    ]
    assert result.model_dump_json() == validated.model_dump_json()
    assert result.model_fields_set == validated.model_fields_set
    assert [e.model_fields_set for e in result.evidence] == [e.model_fields_set for e in validated.evidence]
    with pytest.raises(ValueError, match="frozen"):
        result.points = 0.0


def test_grading_is_byte_identical_across_runs(bank: Bank) -> None:
    answers = (choose("q-ctx", "A", "C"), write("map-lambda", "Fucntions"), write("scn-events", "idempotent"))
    first = grade_submission(submission(*answers), plan_for(bank)).model_dump_json()
    second = grade_submission(submission(*reversed(answers)), plan_for(small_bank())).model_dump_json()
    assert first == second


def test_assemble_refuses_a_missing_section(bank: Bank) -> None:
    sub = submission()
    results = [grade_section(sub, s, plan_for(bank)) for s in Section if s is not Section.SCENARIOS]
    with pytest.raises(GradingError, match="scenarios"):
        assemble(sub, results, bank)


def test_assemble_refuses_a_section_from_another_bank_version(bank: Bank) -> None:
    sub = submission()
    results = [grade_section(sub, s, plan_for(bank)) for s in Section]
    results[0] = results[0].model_copy(update={"bank_version": "0.9"})
    with pytest.raises(GradingError, match=r"0\.9"):
        assemble(sub, results, bank)


def test_assembled_items_follow_bank_order_whatever_the_section_order(bank: Bank) -> None:
    sub = submission(choose("q-gil", "A"))
    graded = assemble(sub, [grade_section(sub, s, plan_for(bank)) for s in reversed(Section)], bank)
    assert [i.item_id for i in graded.items] == [i.id for i in bank.items]
    assert (graded.points, graded.max_points) == (1.0, 12.0)


def test_self_assessment_section_keeps_only_valid_ratings(bank: Bank) -> None:
    sub = submission(confidence=(("cloud", 4), ("nope", 3), ("py", 9), ("events", 1)))
    result = grade_section(sub, Section.SELF_ASSESSMENT, plan_for(bank))
    assert result.confidence == (("cloud", 4), ("events", 1))


def test_a_bank_edited_under_the_same_version_grades_with_its_own_keys(bank: Bank) -> None:
    rekeyed = tuple(i.model_copy(update={"answer": ("B",)}) if i.id == "q-gil" else i for i in bank.items)
    edited = bank.model_copy(update={"items": rekeyed})
    sub = submission(choose("q-gil", "A"))
    assert grade_submission(sub, plan_for(bank)).items[0].status is ItemStatus.CORRECT
    assert grade_submission(sub, plan_for(edited)).items[0].status is ItemStatus.WRONG
    assert grade_submission(sub, plan_for(bank)).items[0].status is ItemStatus.CORRECT
