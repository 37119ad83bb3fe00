"""Benchmark inputs, generated once into ``bench/inputs/`` (git-ignored) and reused by later runs."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.xlsx import Cell, write_xlsx
from shared.bank import Bank, Item, ItemKind, Section, load_bank
from shared.errors import BankError
from shared.submission import Answer, Candidate, SheetFormat, Submission, submission_key

if TYPE_CHECKING:
    from shared.grading import GradedSubmission

_FORMS_FIXED = ["ID", "Start time", "Completion time", "Email", "Name", "Total points", "Quiz feedback"]
# The exports have ~25 questions (7 + 3 x 25 = 82 columns, as measured in the field notes).
FORMS_QUESTIONS = 25
_WRONG_TEXT = "I am not sure; I would look it up in the documentation."
# Sentences a long open answer is padded with, picked at random so answers rarely repeat.
_OWN_WORDS = (
    "We measured the latency before and after the change and kept the dashboards for the review.",
    "The first version was simpler, but it could not cope with the burst of traffic at month end.",
    "I wrote the runbook myself and walked the on-call engineers through it twice.",
    "Cost mattered as much as speed, so we compared the reserved and the consumption plans.",
    "Security signed off only after we removed every connection string from the configuration.",
    "Looking back, I would automate the rollback earlier instead of relying on a manual step.",
    "The data team needed the same numbers, so we published them through a shared view.",
    "We load tested with realistic data and found the bottleneck in serialisation, not in the database.",
    "Retries with exponential backoff removed most of the transient failures we saw at night.",
    "I documented the trade-offs in a decision record so the next team would know why.",
    "Most of the work was in the migration plan rather than in the code itself.",
    "The product owner accepted a slower first release in exchange for fewer moving parts.",
)


@dataclass(frozen=True)
class FormsShape:
    """How a generated Forms export is written: the variations real exports show."""

    name: str
    label: str
    long_answers: bool = False  # open answers of 80+ words instead of two sentences
    text_times: str = ""  # strftime format of times stored as text; "" for Excel date cells
    inline_strings: bool = False  # inline strings instead of the shared-strings table


EXCEL_DATES = FormsShape("excel-dates", "short answers, Excel date cells")
LONG_TEXT = FormsShape(
    "long-text", "long open answers, text timestamps", long_answers=True, text_times="%d.%m.%Y %H:%M:%S"
)
INLINE_STRINGS = FormsShape("inline-strings", "inline strings, Excel date cells", inline_strings=True)
SHAPES = (EXCEL_DATES, LONG_TEXT, INLINE_STRINGS)


class InputsUnavailable(RuntimeError):
    """An input cannot be generated yet (e.g. the question bank is missing)."""


def bank() -> Bank:
    """The shipped question bank, or :class:`InputsUnavailable` naming why it cannot be loaded."""
    try:
        return load_bank()
    except FileNotFoundError as err:
        raise InputsUnavailable("shared/data/question_bank.json does not exist yet") from err
    except BankError as err:
        raise InputsUnavailable(f"the question bank does not validate: {err}") from err


def forms_answer(item: Item, rng: random.Random, *, long: bool = False) -> tuple[str, bool]:
    """A plausible Microsoft Forms cell for one item and whether it is right (about two in three)."""
    right = rng.random() < 0.67
    if item.kind in (ItemKind.SINGLE_CHOICE, ItemKind.MULTIPLE_CHOICE):
        keys = item.answer if right else (rng.choice(item.choices).key,)
        texts = {c.key: c.text for c in item.choices}
        # Forms joins the chosen options of a multiple-choice question with ";" and ends with one.
        if item.kind is ItemKind.MULTIPLE_CHOICE:
            return "".join(f"{texts[k]};" for k in keys), keys == item.answer
        return texts[keys[0]], keys == item.answer
    if item.kind is ItemKind.SHORT_ANSWER:
        return (rng.choice(item.aliases), True) if right else (_WRONG_TEXT, False)
    chosen = [c for c in item.concepts if rng.random() < (0.8 if right else 0.2)]
    if not chosen:
        return _WRONG_TEXT, False
    named = ", and ".join(rng.choice(c.synonyms) for c in chosen)
    # Real answers wrap the concepts in a few sentences of their own words.
    text = (
        f"In my last project we relied on {named}. We chose it because the team could operate it "
        "without much ceremony, and it kept the monthly bill predictable as traffic grew."
    )
    while long and len(text.split()) < 80:
        text += " " + rng.choice(_OWN_WORDS)
    return text, right


def quiz_items(source: Bank, count: int = FORMS_QUESTIONS) -> list[Item]:
    """``count`` items taken in turn from each section, in bank order: the questions of a Forms quiz."""
    queues = [list(source.items_in(section)) for section in Section]
    chosen: list[Item] = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return [item for item in source.items if item in chosen]


def forms_rows(
    source: Bank, respondents: int, seed: int = 8, shape: FormsShape = EXCEL_DATES
) -> Iterator[Sequence[Cell]]:
    """Header then one row per respondent, in Microsoft Forms' quiz "Open in Excel" layout."""
    rng = random.Random(seed)
    items = quiz_items(source)
    header = list(_FORMS_FIXED)
    for item in items:
        header += [item.prompt, f"Points - {item.prompt}", f"Feedback - {item.prompt}"]
    yield header
    start = datetime(2026, 3, 2, 8, 0)
    for number in range(1, respondents + 1):
        began = start + timedelta(seconds=37 * number)
        answers: list[Cell] = []
        total = 0.0
        for item in items:
            text, right = forms_answer(item, rng, long=shape.long_answers)
            # Forms scores only choice questions itself; open ones stay blank until a person grades.
            points = (item.points if right else 0.0) if item.choices else None
            total += points or 0.0
            answers += [text, points, None]
        ended = began + timedelta(minutes=rng.randint(12, 55))
        times: list[Cell] = (
            [began.strftime(shape.text_times), ended.strftime(shape.text_times)]
            if shape.text_times
            else [began, ended]
        )
        yield [
            number,
            *times,
            f"candidate{number:06d}@example.com",
            f"Candidate {number:06d}",
            total,
            None,
            *answers,
        ]


def forms_export(inputs: Path, respondents: int, shape: FormsShape = EXCEL_DATES) -> Path:
    """A Forms-style export of ``respondents`` rows, written once per bank version, size and shape."""
    source = bank()
    suffix = "" if shape is EXCEL_DATES else f"-{shape.name}"
    path = inputs / f"ms-forms-{respondents}{suffix}-bank-{source.version}.xlsx"
    if not path.exists():
        inputs.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        rows = forms_rows(source, respondents, shape=shape)
        write_xlsx(partial, "Form1", rows, inline_strings=shape.inline_strings)
        partial.replace(path)
    return path


def synthetic_answer(item: Item, rng: random.Random) -> Answer:
    """One answer as the parser would produce it, right about two times in three."""
    if item.kind in (ItemKind.SINGLE_CHOICE, ItemKind.MULTIPLE_CHOICE):
        keys = item.answer if rng.random() < 0.67 else (rng.choice(item.choices).key,)
        return Answer(item_id=item.id, choices=tuple(keys))
    return Answer(item_id=item.id, text=forms_answer(item, rng)[0])


def submissions(source: Bank, count: int, seed: int = 8) -> list[Submission]:
    """``count`` parsed submissions with varied answers and a confidence rating for every topic."""
    rng = random.Random(seed)
    return [
        Submission(
            submission_key=submission_key("bench", f"candidate{number}@example.com"),
            candidate=Candidate(name=f"Candidate {number:06d}", email=f"candidate{number}@example.com"),
            source_format=SheetFormat.MS_FORMS,
            answers=tuple(synthetic_answer(item, rng) for item in source.items),
            confidence=tuple(sorted((t.id, rng.randint(1, 5)) for t in source.topics)),
        )
        for number in range(count)
    ]


def graded_results(inputs: Path, count: int) -> list[GradedSubmission]:
    """``count`` graded submissions (one day's results), graded once and kept as JSON lines."""
    from shared.grading import GradedSubmission, GradingPlan, grade_submission

    source = bank()
    path = inputs / f"results-{count}-bank-{source.version}.jsonl"
    if not path.exists():
        inputs.mkdir(parents=True, exist_ok=True)
        plan = GradingPlan.of(source)
        lines = (grade_submission(s, plan).model_dump_json() for s in submissions(source, count, seed=30))
        partial = path.with_suffix(".partial")
        partial.write_text("\n".join(lines) + "\n")
        partial.replace(path)
    return [GradedSubmission.model_validate_json(line) for line in path.read_text().splitlines()]


def single_candidates(inputs: Path, count: int) -> list[Path]:
    """``count`` filled single-candidate templates, one distinct candidate each (so no upload dedupes)."""
    from samples.build import answers_for, profiles
    from samples.workbooks import template_workbook

    source = bank()
    # The "almost ready" sample candidate: strong answers with typical gaps, every section filled.
    profile = profiles(source)[1]
    answers = answers_for(profile, source)
    paths = []
    for number in range(count):
        path = inputs / f"template-{number:03d}-bank-{source.version}.xlsx"
        if not path.exists():
            inputs.mkdir(parents=True, exist_ok=True)
            who = profile.candidate.model_copy(
                update={"name": f"Bench Candidate {number:03d}", "email": f"bench{number:03d}@example.com"}
            )
            path.write_bytes(template_workbook(source, answers, profile.confidence, candidate=who))
        paths.append(path)
    return paths
