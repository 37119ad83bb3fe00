"""Grading: every answer becomes points, a maximum and the reason, deterministically.

The pipeline grades one section per message (:func:`grade_section`) and joins the results
(:func:`assemble`); the offline grader does both at once (:func:`grade_submission`). The rules
are in ``docs/grading.md``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz

from shared.answer_sheets.fast_models import validated_constructor
from shared.bank import Bank, Item, ItemKind, Section
from shared.errors import GradingError
from shared.rubric import (
    ConceptVerdict,
    Rubric,
    RubricResult,
    compile_rubric,
    grade_answers,
    grade_with_rubric,
)
from shared.semantic import default_encoder
from shared.submission import Answer, Candidate, Submission

# Short answers: a normalised answer this similar to an accepted name is a typo of it ...
SHORT_FUZZY_RATIO = 85.0
# ... one this similar is a near miss a person should look at ...
SHORT_REVIEW_RATIO = 70.0
# ... and names shorter than this are too easily confused ("AKS", "EKS") to match fuzzily.
SHORT_FUZZY_MIN_LENGTH = 5
# Naming an accepted service next to a wrong one earns this share.
HEDGED_CREDIT = 0.5

_Frozen = ConfigDict(frozen=True, extra="forbid")
_VENDOR_PREFIXES = ("microsoft", "azure")
_SEPARATORS = re.compile(r"\s*(?:/|,|;|\+|&|\n|\band\b|\bor\b|\bplus\b|\bvs\b)\s*")
_ASIDE = re.compile(r"\([^)]*\)")
_WORDS = re.compile(r"[a-z0-9]+")


class ItemStatus(StrEnum):
    """How an item went."""

    CORRECT = "correct"
    PARTIAL = "partial"
    WRONG = "wrong"
    UNANSWERED = "unanswered"


class Evidence(BaseModel):
    """A sentence of an answer that earned a concept, or stated it wrongly, quoted for the reader."""

    model_config = _Frozen
    concept: str
    state: str  # "credited", "partial" or "misstated"
    quote: str


class ItemResult(BaseModel):
    """One item's points, maximum and the reason, with the candidate's answer and the key."""

    model_config = _Frozen
    item_id: str
    topic: str
    section: Section
    kind: ItemKind
    points: float
    max_points: float
    status: ItemStatus
    feedback: str
    needs_review: bool = False
    review_reason: str = ""
    answer_text: str = ""
    key_text: str
    covered: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()


class SectionResult(BaseModel):
    """The graded items of one section of one submission (one grading message's work)."""

    model_config = _Frozen
    bank_id: str
    bank_version: str
    submission_key: str
    section: Section
    items: tuple[ItemResult, ...]
    confidence: tuple[tuple[str, int], ...] = ()


class GradedSubmission(BaseModel):
    """All sections of a submission joined: items in bank order, totals and self-ratings."""

    model_config = _Frozen
    bank_id: str
    bank_version: str
    submission_key: str
    candidate: Candidate
    items: tuple[ItemResult, ...]
    confidence: tuple[tuple[str, int], ...]
    points: float
    max_points: float

    @property
    def needs_review(self) -> bool:
        """Whether any item asks for a person's look."""
        return any(i.needs_review for i in self.items)


def _points(item: Item, share: float) -> float:
    return round(item.points * share, 2)


def _status(share: float) -> ItemStatus:
    if share >= 1.0:
        return ItemStatus.CORRECT
    return ItemStatus.PARTIAL if share > 0 else ItemStatus.WRONG


def _choice_text(options: Mapping[str, str], keys: Sequence[str]) -> str:
    return "; ".join(f"{k}) {options[k]}" if k in options else f"{k}) (not an option)" for k in keys)


def _result(
    item: Item, share: float, feedback: str, answer_text: str, key_text: str, **extra: object
) -> ItemResult:
    return ItemResult.model_validate(
        {
            "item_id": item.id,
            "topic": item.topic,
            "section": item.section,
            "kind": item.kind,
            "points": _points(item, share),
            "max_points": item.points,
            "status": _status(share),
            "feedback": feedback,
            "answer_text": answer_text,
            "key_text": key_text,
            **extra,
        }
    )


def key_text(item: Item) -> str:
    """The key as a candidate reads it: the right options, the accepted name or the rubric's concepts."""
    if item.kind is ItemKind.OPEN_ANSWER:
        return "; ".join(c.label for c in item.concepts)
    if item.kind is ItemKind.SHORT_ANSWER:
        return item.answer[0] if item.answer else item.aliases[0]
    return _choice_text({c.key: c.text for c in item.choices}, sorted(item.answer))


# Identity, not field, equality: plans key the result caches below and are built once per bank.
@dataclass(frozen=True, slots=True, eq=False)
class _ItemPlan:
    """What grading an item needs that no answer changes, worked out once per bank."""

    item: Item
    key_text: str
    options: dict[str, str]
    keys: tuple[str, ...]
    accepted: tuple[str, ...]
    accepted_inside: tuple[re.Pattern[str], ...]
    rubric: Rubric | None
    unanswered: ItemResult

    @classmethod
    def of(cls, item: Item) -> _ItemPlan:
        """Normalise the accepted names, compile the rubric and build the unanswered result."""
        accepted = tuple(dict.fromkeys(normalise_service(a) for a in (*item.answer, *item.aliases)))
        shown = key_text(item)
        return cls(
            item=item,
            key_text=shown,
            options={c.key: c.text for c in item.choices},
            keys=tuple(sorted(item.answer)),
            accepted=accepted,
            accepted_inside=tuple(re.compile(rf"\b{re.escape(a)}\b") for a in accepted),
            rubric=(
                compile_rubric(item.concepts, item.prompt, default_encoder())
                if item.kind is ItemKind.OPEN_ANSWER
                else None
            ),
            unanswered=ItemResult(
                item_id=item.id,
                topic=item.topic,
                section=item.section,
                kind=item.kind,
                points=0.0,
                max_points=item.points,
                status=ItemStatus.UNANSWERED,
                feedback=f"Not answered. {item.explanation}",
                key_text=shown,
                missing=tuple(c.label for c in item.concepts),
            ),
        )


# Identity, not field, equality: a plan is built once per bank by whoever grades with it.
@dataclass(frozen=True, slots=True, eq=False)
class GradingPlan:
    """Everything grading needs that no answer changes: each item's plan by section, and the rated topics.

    Built once (compiling rubrics and embedding their descriptions) and held by its user: the
    engine holds one per worker, the benchmarks and tests one per bank.
    """

    bank: Bank
    sections: dict[Section, tuple[_ItemPlan, ...]]
    topics: frozenset[str]

    @classmethod
    def of(cls, bank: Bank) -> GradingPlan:
        """Work out every item's plan for ``bank``."""
        return cls(
            bank,
            {s: tuple(_ItemPlan.of(item) for item in bank.items_in(s)) for s in Section},
            frozenset(t.id for t in bank.topics),
        )


# A choice item's result depends only on the options picked, and a cohort picks few combinations.
@lru_cache(maxsize=16384)
def _grade_choice(plan: _ItemPlan, picked: tuple[str, ...]) -> ItemResult:
    item, key, key_shown = plan.item, plan.keys, plan.key_text
    answer_text = _choice_text(plan.options, picked)
    if item.kind is ItemKind.SINGLE_CHOICE:
        if picked == key:
            return _result(item, 1.0, f"Correct. {item.explanation}", answer_text, key_shown)
        why = "Only one option is right; you picked several." if len(picked) > 1 else "Not the right option."
        return _result(item, 0.0, f"{why} {item.explanation}", answer_text, key_shown)
    right = [k for k in picked if k in key]
    wrong = [k for k in picked if k not in key]
    share = max(0.0, (len(right) - len(wrong)) / len(key))
    if share >= 1.0:
        return _result(item, 1.0, f"Correct. {item.explanation}", answer_text, key_shown)
    missed = [k for k in key if k not in picked]
    parts = [f"{len(right)} of {len(key)} right options picked"]
    if wrong:
        parts.append(f"each wrong pick ({', '.join(wrong)}) cancels a right one")
    if missed:
        parts.append(f"missed {', '.join(missed)}")
    summary = "; ".join(parts)
    return _result(
        item, share, f"{summary[0].upper()}{summary[1:]}. {item.explanation}", answer_text, key_shown
    )


# The picks as written: a form's column writes the same picks the same way.
@lru_cache(maxsize=16384)
def _grade_picks(plan: _ItemPlan, choices: tuple[str, ...]) -> ItemResult:
    return _grade_choice(plan, tuple(sorted({c.strip().upper() for c in choices})))


def normalise_service(text: str) -> str:
    """A service name reduced for comparison: case, spacing, punctuation and a vendor prefix gone."""
    plain = unicodedata.normalize("NFKC", text).casefold().replace("&", " and ")
    words = _WORDS.findall(plain)
    while len(words) > 1 and words[0] in _VENDOR_PREFIXES:
        words = words[1:]
    return " ".join(words)


def _closeness(answer: str, accepted: Sequence[str]) -> tuple[float, str]:
    best = (0.0, "")
    for name in accepted:
        if answer == name:
            return 100.0, name
        if min(len(answer), len(name)) >= SHORT_FUZZY_MIN_LENGTH:
            score = fuzz.ratio(answer, name)
            if score > best[0]:
                best = (score, name)
    return best


# Many candidates write the same service name the same way.
@lru_cache(maxsize=16384)
def _grade_short(plan: _ItemPlan, text: str) -> ItemResult:
    item, accepted, key = plan.item, plan.accepted, plan.key_text
    candidates = [normalise_service(text), normalise_service(_ASIDE.sub(" ", text))]
    for form in candidates:
        score, _ = _closeness(form, accepted)
        if score == 100.0:
            return _result(item, 1.0, f"Correct. {item.explanation}", text, key)
        if score >= SHORT_FUZZY_RATIO:
            return _result(
                item,
                1.0,
                f"Correct, allowing for spelling (read as {key}). {item.explanation}",
                text,
                key,
            )
    parts = [p for p in (normalise_service(p) for p in _SEPARATORS.split(candidates[1])) if p]
    if len(parts) > 1:
        matches = [_closeness(p, accepted)[0] >= SHORT_FUZZY_RATIO for p in parts]
        if all(matches):
            return _result(
                item, 1.0, f"Correct: each service you named is accepted. {item.explanation}", text, key
            )
        if any(matches):
            return _result(
                item,
                HEDGED_CREDIT,
                f"You named {len(parts)} services where one is expected; only one of them is right, "
                f"so half marks. The answer is {key}. {item.explanation}",
                text,
                key,
            )
    if any(pattern.search(candidates[0]) for pattern in plan.accepted_inside):
        return _result(
            item,
            1.0,
            f"Accepted because it names {key} among other words: marked for review. {item.explanation}",
            text,
            key,
            needs_review=True,
        )
    score, near = _closeness(candidates[0], accepted)
    if score >= SHORT_REVIEW_RATIO:
        return _result(
            item,
            0.0,
            f"Not accepted, but close to {near!r}: marked for review. The answer is {key}. "
            f"{item.explanation}",
            text,
            key,
            needs_review=True,
        )
    return _result(item, 0.0, f"The answer is {key}. {item.explanation}", text, key)


_CREDITED_STATES = ("explained", "paraphrased")
_PARTLY_STATES = ("thin", "named")
_WRONG_STATES = ("misstated", "dismissed")
_MISSING_STATES = ("missing", "negated")
# An open answer's result and evidence carry every field, already of its type: built without validation
# (tests/unit/test_grading.py pins them to what validation builds).
_new_item_result = validated_constructor(ItemResult)
_new_evidence = validated_constructor(Evidence)


def _grade_open(plan: _ItemPlan, answer: Answer, rubric: RubricResult) -> ItemResult:
    covered: list[str] = []
    partly: list[str] = []
    wrong: list[ConceptVerdict] = []
    missing: list[str] = []
    evidence: list[Evidence] = []
    for verdict in rubric.verdicts:
        state, credit, label = verdict.state, verdict.credit, verdict.concept.label
        if state in _CREDITED_STATES:
            (covered if credit >= 1.0 else partly).append(label)
        elif state in _PARTLY_STATES:
            partly.append(label)
        elif state in _WRONG_STATES:
            wrong.append(verdict)
        elif state in _MISSING_STATES:
            missing.append(label)
        if verdict.quote and (credit > 0 or state in _WRONG_STATES):
            shown = "credited" if credit >= 1.0 else ("misstated" if credit == 0 else "partial")
            evidence.append(_new_evidence({"concept": label, "state": shown, "quote": verdict.quote}))
    lines = []
    if covered:
        lines.append(f"Covered: {'; '.join(covered)}.")
    if partly:
        lines.append(f"Named without explaining how or why (part credit): {'; '.join(partly)}.")
    for verdict in wrong:
        why = verdict.note or "the answer waves this practice away"
        lines.append(f"Wrong, so no credit and an equal deduction: {verdict.concept.label} ({why}).")
    if missing:
        lines.append(f"You did not mention: {'; '.join(missing)}.")
    if rubric.needs_review:
        lines.append(f"A reviewer will look at this: {rubric.review_reason}.")
    item = plan.item
    # In the order of ItemResult's fields, as validation would store them.
    return _new_item_result(
        {
            "item_id": item.id,
            "topic": item.topic,
            "section": item.section,
            "kind": item.kind,
            "points": _points(item, rubric.share),
            "max_points": item.points,
            "status": _status(rubric.share),
            "feedback": " ".join(lines),
            "needs_review": rubric.needs_review,
            "review_reason": rubric.review_reason,
            "answer_text": answer.text.strip(),
            "key_text": plan.key_text,
            "covered": (*covered, *partly),
            "missing": (*(v.concept.label for v in wrong), *missing),
            "evidence": tuple(evidence),
        }
    )


def _answered(answer: Answer | None) -> bool:
    return answer is not None and bool(answer.choices or answer.text.strip())


def _grade(plan: _ItemPlan, answer: Answer | None, rubric: RubricResult | None = None) -> ItemResult:
    if answer is None or not _answered(answer):
        return plan.unanswered
    if plan.rubric is not None:
        return _grade_open(plan, answer, rubric or grade_with_rubric(answer.text, plan.rubric))
    if plan.item.kind is ItemKind.SHORT_ANSWER:
        return _grade_short(plan, answer.text.strip())
    return _grade_picks(plan, answer.choices)


def _confidence(submission: Submission, topics: frozenset[str]) -> tuple[tuple[str, int], ...]:
    rated = {topic: level for topic, level in submission.confidence if topic in topics and 1 <= level <= 5}
    return tuple(sorted(rated.items()))


def grade_section(submission: Submission, section: Section, plan: GradingPlan) -> SectionResult:
    """Grade one section of a submission; the self-assessment section records the confidence ratings."""
    return _grade_section(submission, section, plan, {a.item_id: a for a in submission.answers})


def _grade_section(
    submission: Submission, section: Section, plan: GradingPlan, answers: dict[str, Answer]
) -> SectionResult:
    bank = plan.bank
    items = plan.sections[section]
    # A section's open answers are read together: one call to the sentence model for all of them.
    open_items = [
        (p, answers[p.item.id]) for p in items if p.rubric is not None and _answered(answers.get(p.item.id))
    ]
    readings = grade_answers([(answer.text, p.rubric) for p, answer in open_items if p.rubric is not None])
    by_item = {p.item.id: reading for (p, _), reading in zip(open_items, readings, strict=True)}
    return SectionResult(
        bank_id=bank.id,
        bank_version=bank.version,
        submission_key=submission.submission_key,
        section=section,
        items=tuple(_grade(p, answers.get(p.item.id), by_item.get(p.item.id)) for p in items),
        confidence=_confidence(submission, plan.topics) if section is Section.SELF_ASSESSMENT else (),
    )


def assemble(submission: Submission, results: Sequence[SectionResult], bank: Bank) -> GradedSubmission:
    """Join one result per section into the graded submission; raises GradingError if any is missing."""
    by_section: dict[Section, SectionResult] = {}
    for result in results:
        if (result.bank_id, result.bank_version) != (bank.id, bank.version):
            raise GradingError(
                f"section {result.section} was graded with bank {result.bank_id} {result.bank_version}, "
                f"not {bank.id} {bank.version}"
            )
        if result.submission_key != submission.submission_key:
            raise GradingError(f"section {result.section} belongs to submission {result.submission_key}")
        by_section[result.section] = result
    missing = [s.value for s in Section if s not in by_section]
    if missing:
        raise GradingError(
            f"submission {submission.submission_key} lacks graded sections: {', '.join(missing)}"
        )
    graded = {i.item_id: i for r in by_section.values() for i in r.items}
    items = tuple(graded[item.id] for item in bank.items if item.id in graded)
    return GradedSubmission(
        bank_id=bank.id,
        bank_version=bank.version,
        submission_key=submission.submission_key,
        candidate=submission.candidate,
        items=items,
        confidence=by_section[Section.SELF_ASSESSMENT].confidence,
        points=round(sum(i.points for i in items), 2),
        max_points=round(sum(i.max_points for i in items), 2),
    )


def grade_submission(submission: Submission, plan: GradingPlan) -> GradedSubmission:
    """Grade every section and assemble them."""
    answers = {a.item_id: a for a in submission.answers}
    return assemble(submission, [_grade_section(submission, s, plan, answers) for s in Section], plan.bank)
