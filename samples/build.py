"""Build the sample workbooks: three filled templates and a Microsoft Forms-style cohort export.

Run ``python -m samples.build`` (or ``make samples``). The candidates are fictional and
deterministic: the same bank gives the same answers. Workbooks are written with the builders
in ``samples/workbooks.py``, which the tests and benchmarks use too, so all lay sheets out the same way.

- Amara Okafor knows everything but document processing and infrastructure as code
  (two medium topics): Ready.
- Ben Carter is a strong Python developer with gaps in API Management, CQRS, identity and
  infrastructure as code; his open answers are thinner and one mapping is hedged: Almost ready.
- Chen Wei knows Python core, ORMs and web frameworks but little Azure or architecture; he
  answers scenarios with lists of buzzwords and states FastAPI's model wrongly: Not yet.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from samples.workbooks import AnswerValue, ms_forms_export, template_workbook
from shared.bank import Bank, Item, ItemKind, load_bank
from shared.submission import Candidate

HERE = Path(__file__).resolve().parent
COHORT_FILE = "ms-forms-cohort.xlsx"
COHORT_SIZE = 20
# Plausible wrong answers to the service-mapping items, as candidates from AWS give them.
WRONG_SERVICES = {
    "map-lambda": "App Service",
    "map-api-gateway": "Application Gateway",
    "map-rds": "Cosmos DB",
    "map-s3": "Azure Files",
    "map-cloudwatch": "Azure Sentinel",
    "map-iam": "Key Vault",
    "map-cloudformation": "Azure DevOps",
    "map-sqs-sns": "Event Hubs",
    "map-ecs-eks": "Service Fabric",
}


@dataclass(frozen=True)
class Profile:
    """Who a sample candidate is and how they answer each topic."""

    candidate: Candidate
    file: str
    weak: frozenset[str]
    confidence: Mapping[str, int]
    # Open answers in these topics explain only every other concept.
    thin: frozenset[str] = frozenset()
    # Open answers in weak topics: a bare list of names (True) or nothing (False).
    lists_when_weak: bool = False
    overrides: Mapping[str, AnswerValue] = field(default_factory=dict)


def _wrong_choice(item: Item) -> AnswerValue:
    return next(c.key for c in item.choices if c.key not in item.answer)


def _right(item: Item) -> AnswerValue:
    if item.kind is ItemKind.SINGLE_CHOICE:
        return item.answer[0]
    if item.kind is ItemKind.MULTIPLE_CHOICE:
        return list(item.answer)
    if item.kind is ItemKind.SHORT_ANSWER:
        return item.aliases[0]
    return explained(item, range(len(item.concepts)))


def explained(item: Item, which: range | list[int]) -> str:
    """An open answer that states the chosen concepts in sentences of their own."""
    sentences = []
    for index in which:
        concept = item.concepts[index]
        sentences.append(f"In my design {concept.synonyms[0]} plays a clear role: {concept.label}.")
    return " ".join(sentences)


def buzzwords(item: Item) -> str:
    """An open answer that only names the rubric's first synonyms."""
    return ", ".join(c.synonyms[0] for c in item.concepts)


def answers_for_perfect(bank: Bank) -> dict[str, AnswerValue]:
    """The key to every item, open answers explaining every concept."""
    return {item.id: _right(item) for item in bank.items}


def answers_for(profile: Profile, bank: Bank) -> dict[str, AnswerValue]:
    """The profile's answer to every item of the bank."""
    answers: dict[str, AnswerValue] = {}
    for item in bank.items:
        weak = item.topic in profile.weak
        if item.kind is ItemKind.OPEN_ANSWER:
            if weak:
                if profile.lists_when_weak:
                    answers[item.id] = buzzwords(item)
                continue
            step = 2 if item.topic in profile.thin else 1
            answers[item.id] = explained(item, range(0, len(item.concepts), step))
        elif item.kind is ItemKind.SHORT_ANSWER:
            answers[item.id] = WRONG_SERVICES.get(item.id, "Virtual Machines") if weak else _right(item)
        else:
            answers[item.id] = _wrong_choice(item) if weak else _right(item)
    answers.update(profile.overrides)
    return answers


def profiles(bank: Bank) -> tuple[Profile, ...]:
    """The three sample candidates."""
    topics = [t.id for t in bank.topics]
    amara_weak = frozenset({"document-processing", "infrastructure-as-code"})
    ben_weak = frozenset({"api-gateway", "cqrs-event-sourcing", "identity", "infrastructure-as-code"})
    chen_strong = {"python-advanced", "orm-database", "web-frameworks"}
    return (
        Profile(
            candidate=Candidate(
                name="Amara Okafor",
                email="amara.okafor@example.com",
                target_role="Azure Python Technical Architect",
                date="2026-11-20",
            ),
            file="candidate-amara-okafor.xlsx",
            weak=amara_weak,
            confidence={t: 2 if t in amara_weak else 5 for t in topics},
            overrides={"map-lambda": "Azure Fucntions"},
        ),
        Profile(
            candidate=Candidate(
                name="Ben Carter",
                email="ben.carter@example.com",
                target_role="Azure Python Technical Architect",
                date="2026-11-21",
            ),
            file="candidate-ben-carter.xlsx",
            weak=ben_weak,
            thin=frozenset({"monitoring", "devops"}),
            confidence=dict.fromkeys(topics, 4),
            overrides={"map-lambda": "Functions or App Service"},
        ),
        Profile(
            candidate=Candidate(
                name="Chen Wei",
                email="chen.wei@example.com",
                target_role="Azure Python Technical Architect",
                date="2026-11-22",
            ),
            file="candidate-chen-wei.xlsx",
            weak=frozenset(t for t in topics if t not in chen_strong),
            lists_when_weak=True,
            confidence={t: 5 if t in chen_strong or t == "azure-core-services" else 2 for t in topics},
            overrides={
                "iq-django-vs-fastapi": (
                    "Django is async-first while FastAPI is synchronous. Django comes batteries included "
                    "with its ORM, admin and migrations, which suits content-heavy sites."
                )
            },
        ),
    )


_FIRST = ("Aisha", "Bruno", "Carla", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas")
_LAST = ("Mensah", "Silva", "Novak", "Ivanova", "Yilmaz", "Haddad", "Berg", "Tanaka", "Costa", "Weber")


def cohort_rows(bank: Bank, size: int = COHORT_SIZE) -> list[dict[str, object]]:
    """Microsoft Forms respondents of spread-out skill, seeded so every build is the same."""
    rng = random.Random(20261126)  # noqa: S311 - reproducible sample data, not security
    rows: list[dict[str, object]] = []
    for number in range(size):
        first, last = _FIRST[number % len(_FIRST)], _LAST[(number * 3 + number // len(_FIRST)) % len(_LAST)]
        skill = 0.2 + 0.75 * number / max(1, size - 1)
        answers: dict[str, AnswerValue] = {}
        for item in bank.items:
            knows = rng.random() < skill
            if item.kind is ItemKind.OPEN_ANSWER:
                which = [i for i in range(len(item.concepts)) if rng.random() < skill]
                if which:
                    answers[item.id] = explained(item, which)
            elif item.kind is ItemKind.SHORT_ANSWER:
                answers[item.id] = _right(item) if knows else WRONG_SERVICES.get(item.id, "Virtual Machines")
            else:
                answers[item.id] = _right(item) if knows else _wrong_choice(item)
        rows.append(
            {
                "id": number + 1,
                "name": f"{first} {last}",
                "email": f"{first}.{last}@example.com".lower(),
                "answers": answers,
                "confidence": {t.id: rng.randint(1, 5) for t in bank.topics},
            }
        )
    return rows


def build(out_dir: Path = HERE) -> list[Path]:
    """Write the sample workbooks; returns their paths."""
    bank = load_bank()
    written = []
    for profile in profiles(bank):
        path = out_dir / profile.file
        answers = answers_for(profile, bank)
        path.write_bytes(template_workbook(bank, answers, profile.confidence, candidate=profile.candidate))
        written.append(path)
    cohort = out_dir / COHORT_FILE
    cohort.write_bytes(ms_forms_export(bank, cohort_rows(bank)))
    written.append(cohort)
    return written


def main() -> int:
    """Build the samples and say where they are."""
    for path in build():
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
