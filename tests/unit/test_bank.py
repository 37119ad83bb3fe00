"""The shipped question bank covers the skills map, and a broken bank fails with a located message."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from shared.bank import Bank, ItemKind, Priority, Section, load_bank, parse_bank
from shared.errors import BankError

# Every area and topic the skills map names, with the priority its checklist gives it.
EXPECTED_TOPICS = {
    "python-advanced": Priority.CRITICAL,
    "data-processing": Priority.CRITICAL,
    "web-frameworks": Priority.HIGH,
    "orm-database": Priority.CRITICAL,
    "async-programming": Priority.HIGH,
    "document-processing": Priority.MEDIUM,
    "azure-core-services": Priority.HIGH,
    "identity": Priority.MEDIUM,
    "monitoring": Priority.MEDIUM,
    "devops": Priority.HIGH,
    "infrastructure-as-code": Priority.MEDIUM,
    "microservices": Priority.HIGH,
    "serverless": Priority.HIGH,
    "api-gateway": Priority.CRITICAL,
    "event-driven": Priority.CRITICAL,
    "cqrs-event-sourcing": Priority.CRITICAL,
}


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


def _raw() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(json.dumps(load_bank().model_dump(mode="json")))
    return raw


def test_bank_identifies_itself_for_results(bank: Bank) -> None:
    assert bank.id == "azure-python-architect"
    assert bank.version.count(".") == 2
    assert bank.role == "Azure Python Technical Architect"


def test_every_skills_map_topic_is_present_with_the_guides_priority(bank: Bank) -> None:
    assert {t.id: t.priority for t in bank.topics} == EXPECTED_TOPICS


def test_bank_has_at_least_sixty_gradable_items_and_two_per_topic(bank: Bank) -> None:
    per_topic = Counter(item.topic for item in bank.items)
    assert len(bank.items) >= 60
    assert min(per_topic[t] for t in EXPECTED_TOPICS) >= 2


def test_items_are_sectioned_by_kind(bank: Bank) -> None:
    for item in bank.items:
        expected = {
            ItemKind.SINGLE_CHOICE: Section.QUIZ,
            ItemKind.MULTIPLE_CHOICE: Section.QUIZ,
            ItemKind.SHORT_ANSWER: Section.SERVICE_MAPPING,
            ItemKind.OPEN_ANSWER: Section.SCENARIOS,
        }[item.kind]
        assert item.section is expected, item.id


def test_all_nine_aws_rows_are_short_answers(bank: Bank) -> None:
    mapping = bank.items_in(Section.SERVICE_MAPPING)
    prompts = " ".join(item.prompt for item in mapping)
    for aws in (
        "Lambda",
        "API Gateway",
        "RDS",
        "S3",
        "CloudWatch",
        "IAM",
        "CloudFormation",
        "SQS/SNS",
        "ECS/EKS",
    ):
        assert f"AWS {aws}:" in prompts
    assert len(mapping) == 9


@pytest.mark.parametrize(
    ("item_id", "aliases"),
    [
        ("map-iam", {"Azure AD", "Microsoft Entra ID", "AAD"}),
        ("map-sqs-sns", {"Event Grid", "Service Bus"}),
        ("map-cloudformation", {"ARM Templates", "Bicep"}),
        ("map-ecs-eks", {"AKS", "Container Instances"}),
    ],
)
def test_service_mapping_accepts_the_guides_aliases(bank: Bank, item_id: str, aliases: set[str]) -> None:
    assert aliases <= set(bank.item(item_id).aliases)


def test_the_five_scenarios_and_twelve_interview_questions_are_open_answers_with_rubrics(bank: Bank) -> None:
    open_items = [i for i in bank.items if i.kind is ItemKind.OPEN_ANSWER]
    assert sum(i.prompt.startswith("Scenario:") for i in open_items) == 5
    assert sum(i.prompt.startswith("Interview question:") for i in open_items) == 12
    for item in open_items:
        assert len(item.concepts) >= 4, item.id
        assert all(c.synonyms for c in item.concepts)


def test_rubrics_name_the_misstatements_an_examiner_penalises(bank: Bank) -> None:
    concepts = {c.id: c for c in bank.item("iq-django-vs-fastapi").concepts}
    assert "Django is async-first" in concepts["asgi-async"].misstatements
    assert "FastAPI is synchronous" in concepts["asgi-async"].misstatements
    identity = {c.id: c for c in bank.item("iq-secure-api-aad").concepts}["managed-identity"]
    assert "the platform's own identity instead of secrets" in identity.synonyms


def test_every_topic_says_what_to_study(bank: Bank) -> None:
    assert all(len(t.study) > 40 for t in bank.topics)


def test_a_choice_answer_naming_a_missing_key_names_the_item_and_field() -> None:
    raw = _raw()
    raw["items"][0]["answer"] = ["Z"]
    with pytest.raises(BankError, match=r"item 'py-decorator-wraps' field \(item\)") as err:
        parse_bank(json.dumps(raw))
    assert "answer must name choice keys" in str(err.value)


def test_a_missing_explanation_names_the_item_and_field() -> None:
    raw = _raw()
    del raw["items"][3]["explanation"]
    with pytest.raises(BankError, match=rf"item '{raw['items'][3]['id']}' field explanation"):
        parse_bank(json.dumps(raw))


def test_an_item_on_an_unknown_topic_is_rejected_with_its_id() -> None:
    raw = _raw()
    raw["items"][5]["topic"] = "quantum"
    with pytest.raises(
        BankError, match=rf"items\[5\] \({raw['items'][5]['id']}\)\.topic: unknown topic 'quantum'"
    ):
        parse_bank(json.dumps(raw))


def test_duplicate_item_ids_are_rejected() -> None:
    raw = _raw()
    raw["items"][1]["id"] = raw["items"][0]["id"]
    with pytest.raises(BankError, match="duplicate item id"):
        parse_bank(json.dumps(raw))


def test_bank_that_is_not_json_is_rejected_plainly() -> None:
    with pytest.raises(BankError, match="not valid JSON"):
        parse_bank(b"{not json")
