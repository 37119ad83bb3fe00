"""Claims, not words: swapped roles, dismissals, plain-words paraphrase and routing to a reviewer."""

from __future__ import annotations

import pytest

from shared.bank import Claim, Concept, load_bank
from shared.grading import grade_section
from shared.rubric import ESSENTIAL_CAP, RubricResult, compile_rubric, grade_answers, grade_with_rubric
from shared.semantic import default_encoder
from shared.submission import Answer, Candidate, SheetFormat, Submission
from tests.plans import plan_for
from tests.word_overlap_encoder import WordOverlapEncoder

ASYNC = Concept(
    id="async",
    label="FastAPI is async-native",
    weight=1.0,
    synonyms=("ASGI", "async"),
    claims=(
        Claim(
            subjects=("FastAPI",),
            rivals=("Django",),
            attributes=("async-native", "ASGI"),
            statement="FastAPI, not Django, is the async-native ASGI framework",
        ),
    ),
)
ORM = Concept(id="orm", label="Django ships an ORM", weight=1.0, synonyms=("ORM", "admin"))
SECRETS = Concept(
    id="secrets",
    label="Secrets live in Key Vault",
    weight=1.0,
    synonyms=("Key Vault",),
    claims=(
        Claim(
            subjects=("Key Vault",),
            rivals=("App Insights",),
            attributes=("secrets",),
            statement="Key Vault holds secrets",
        ),
    ),
)
RETRIES = Concept(
    id="retries",
    label="Retries and idempotent handlers",
    weight=1.0,
    synonyms=("retries", "idempotent"),
    essential=True,
    paraphrases=("a handler that runs twice on the same message leaves the same result",),
)
QUEUE = Concept(
    id="queue",
    label="A queue decouples producers from consumers",
    weight=1.0,
    synonyms=("queue", "Service Bus"),
    paraphrases=("the web tier hands work to a waiting line that workers drain at their own pace",),
)


def grade(text: str, *concepts: Concept, prompt: str = "") -> RubricResult:
    return grade_with_rubric(text, compile_rubric(concepts, prompt, WordOverlapEncoder()))


def state(result: RubricResult, concept_id: str) -> str:
    return next(v.state for v in result.verdicts if v.concept.id == concept_id)


def test_swapped_roles_lose_the_concept_and_the_feedback_names_the_claim() -> None:
    result = grade("Django is the async-native one, FastAPI is the WSGI one.", ASYNC)
    verdict = result.verdicts[0]
    assert verdict.state == "misstated"
    assert "FastAPI, not Django" in verdict.note
    assert "Django is the async-native one" in verdict.quote
    assert result.share == 0.0


def test_the_right_roles_earn_the_concept() -> None:
    result = grade(
        "FastAPI is async-native and runs on an ASGI server such as uvicorn, so it waits well.", ASYNC
    )
    assert state(result, "async") == "explained"


def test_a_name_brought_in_as_a_contrast_owns_nothing() -> None:
    result = grade(
        "Unlike Django, FastAPI is async-native and serves many waiting clients on one thread.", ASYNC
    )
    assert state(result, "async") == "explained"


def test_a_denied_rival_attribute_is_a_correct_contrast() -> None:
    result = grade(
        "Django is not async-native by design, it grew up on WSGI and added async views later on.", ASYNC
    )
    assert state(result, "async") != "misstated"


def test_an_attribute_followed_by_from_belongs_to_the_name_after_it() -> None:
    result = grade(
        "Settings come from App Configuration and secrets from Key Vault through managed identity.", SECRETS
    )
    assert state(result, "secrets") == "explained"


def test_an_attribute_given_to_the_wrong_service_is_misstated() -> None:
    result = grade("App Insights stores the secrets for the whole platform in one place.", SECRETS)
    assert state(result, "secrets") == "misstated"


@pytest.mark.parametrize(
    "text",
    [
        "There is no need for retries because the platform delivers every message exactly as sent.",
        "Retries are not needed here, the broker takes care of everything for us.",
        "We don't bother with dead letters, poison handling or retries in this design at all.",
        "Skip retries, they only slow the consumers down under load.",
    ],
)
def test_waving_an_essential_practice_away_costs_its_weight_and_caps_the_answer(text: str) -> None:
    result = grade(
        text + " Orders go on a queue so the web tier never waits for the warehouse.", RETRIES, QUEUE
    )
    assert state(result, "retries") == "dismissed"
    assert result.share <= ESSENTIAL_CAP


def test_advice_that_contains_a_negation_is_not_a_dismissal() -> None:
    result = grade(
        "Never let a consumer fail silently: retries with backoff, then the message is parked.", RETRIES
    )
    assert state(result, "retries") == "explained"


@pytest.mark.parametrize(
    "text",
    [
        "Never use retries in real projects: the broker redelivers on its own, so handlers stay simple.",
        "What I never do is propagate retries between services, each one fails on its own.",
        "Retries are something you can ignore in practice because the host removes failed messages.",
    ],
)
def test_rejecting_or_ignoring_an_essential_practice_is_a_dismissal(text: str) -> None:
    result = grade(text + " Orders go on a queue so the web tier never waits.", RETRIES, QUEUE)
    assert state(result, "retries") == "dismissed"
    assert result.share <= ESSENTIAL_CAP


@pytest.mark.parametrize(
    "text",
    [
        "We check the consumers so nobody forgets retries with backoff before the message is parked.",
        "Never skip retries with backoff: a consumer that gives up at once loses orders.",
        "Retries with backoff are not optional for a consumer that talks to a flaky partner API.",
    ],
)
def test_a_negated_dismissal_affirms_the_practice(text: str) -> None:
    assert state(grade(text, RETRIES), "retries") == "explained"


def test_a_rejection_stops_at_its_clause() -> None:
    result = grade(
        "Don't use connection strings in code, use Key Vault for the secrets of every service.", SECRETS
    )
    assert state(result, "secrets") == "explained"


def test_a_word_the_concept_uses_itself_does_not_dismiss_it() -> None:
    bindings = Concept(
        id="bindings",
        label="Bindings are optional declarative connections, zero or more",
        weight=1.0,
        synonyms=("bindings",),
    )
    result = grade(
        "Bindings are optional, zero or more per function, declared next to the trigger.", bindings
    )
    assert state(result, "bindings") != "dismissed"


@pytest.mark.parametrize(
    "text",
    [
        "Shared tables across services are something I avoid, each service owns its store.",
        "Application Insights through the distro rather than shared tables that every team writes to.",
    ],
)
def test_a_misstatement_the_answer_turns_down_is_not_held_against_it(text: str) -> None:
    owned = Concept(
        id="owned",
        label="Each service owns its data",
        weight=1.0,
        synonyms=("owns its store",),
        misstatements=("shared tables",),
    )
    assert state(grade(text, owned), "owned") != "misstated"


def test_an_attribute_takes_the_name_later_in_its_own_clause_before_an_earlier_clause() -> None:
    result = grade(
        "Settings live in App Insights dashboards, secrets stay in Key Vault behind identity.", SECRETS
    )
    assert state(result, "secrets") == "explained"


def test_a_dotted_name_does_not_end_a_sentence() -> None:
    settings_file = Concept(
        id="settings", label="Secrets never in settings.py", weight=1.0, synonyms=("nothing in settings.py",)
    )
    result = grade(
        "Keep nothing in settings.py that is secret, read it from the vault at start-up.", settings_file
    )
    assert state(result, "settings") == "explained"


def test_a_note_is_not_a_negation() -> None:
    result = grade("A short note goes on the queue so the warehouse workers pick the order up later.", QUEUE)
    assert state(result, "queue") == "explained"


def test_cannot_negates() -> None:
    result = grade(
        "The old monolith cannot have a queue between its tiers, it calls the warehouse directly.", QUEUE
    )
    assert state(result, "queue") == "negated"


def test_a_clause_after_so_does_not_deny_what_came_before() -> None:
    result = grade(
        "Every consumer retries with backoff so nobody needs to replay orders by hand at night.", RETRIES
    )
    assert state(result, "retries") == "explained"


def test_an_attribute_is_never_given_to_a_name_in_an_earlier_clause() -> None:
    result = grade("App Insights shows the traces of every call, then secrets are read at start-up.", SECRETS)
    assert state(result, "secrets") != "misstated"


def test_instead_alone_opens_a_claim_rather_than_bringing_in_a_contrast() -> None:
    opened = grade(
        "We kept the old stack. Instead Django here is the one framework that is async-native.", ASYNC
    )
    assert state(opened, "async") == "misstated"


def test_a_name_an_attribute_is_sent_to_does_not_own_it() -> None:
    result = grade(
        "For every service, secrets rotated weekly with each rotation logged to App Insights.", SECRETS
    )
    assert state(result, "secrets") != "misstated"


def test_plain_words_earn_a_concept_through_its_description() -> None:
    text = "The web tier hands each job to a waiting line that the workers drain at their own pace."
    result = grade(text, QUEUE)
    assert state(result, "queue") in ("explained", "paraphrased")
    assert result.share == 1.0


def test_without_a_sentence_model_plain_words_earn_nothing() -> None:
    text = "The web tier hands each job to a waiting line that the workers drain at their own pace."
    result = grade_with_rubric(text, compile_rubric((QUEUE,)))
    assert result.share == 0.0


def test_the_question_copied_back_earns_nothing() -> None:
    prompt = "Explain queues and retries."
    result = grade("Queues and retries: these are the queues and the retries.", QUEUE, RETRIES, prompt=prompt)
    assert result.share == 0.0


def test_a_single_wrong_claim_in_a_strong_answer_goes_to_a_reviewer_with_the_reason() -> None:
    text = (
        "Django is the async-native one. Django ships an ORM and an admin site that editors use daily. "
        "Orders go on a queue so the web tier never waits for the warehouse to answer."
    )
    result = grade(text, ASYNC, ORM, QUEUE)
    assert state(result, "async") == "misstated"
    assert result.needs_review
    assert "wrong claim" in result.review_reason


def test_an_answer_wrong_throughout_is_not_routed() -> None:
    text = "Django is the async-native one. App Insights stores the secrets for every service we run."
    result = grade(text, ASYNC, SECRETS)
    assert result.share == 0.0
    assert not result.needs_review


def test_evidence_quotes_the_sentence_that_earned_each_concept() -> None:
    submission = Submission(
        submission_key="evidence",
        source_format=SheetFormat.TEMPLATE,
        candidate=Candidate(name="E", email="e@example.com"),
        answers=(
            Answer(
                item_id="iq-django-vs-fastapi",
                text="Django is batteries-included with its ORM, admin and migrations for content sites. "
                "Django is the async-native ASGI one while FastAPI is the WSGI one.",
            ),
        ),
    )
    bank = load_bank()
    item = bank.item("iq-django-vs-fastapi")
    result = next(
        r for r in grade_section(submission, item.section, plan_for(bank)).items if r.item_id == item.id
    )
    quotes = {e.state: e.quote for e in result.evidence}
    assert quotes["misstated"].startswith("Django is the async-native ASGI one")
    assert "batteries-included" in quotes["credited"]
    assert "wrong way round" in result.feedback


def test_the_same_answers_give_byte_identical_results() -> None:
    bank = load_bank()
    submission = Submission(
        submission_key="determinism",
        source_format=SheetFormat.TEMPLATE,
        candidate=Candidate(name="D", email="d@example.com"),
        answers=tuple(
            Answer(item_id=i.id, text=f"{i.explanation} We would not skip monitoring.")
            for i in bank.items
            if i.concepts
        ),
    )
    section = bank.item("iq-django-vs-fastapi").section
    first = grade_section(submission, section, plan_for(bank)).model_dump_json()
    assert first == grade_section(submission, section, plan_for(bank)).model_dump_json()


def test_answers_read_together_score_as_each_alone() -> None:
    bank = load_bank()
    items = [i for i in bank.items if i.concepts][:5]
    rubrics = [compile_rubric(i.concepts, i.prompt, default_encoder()) for i in items]
    texts = [i.explanation for i in items]
    together = grade_answers(list(zip(texts, rubrics, strict=True)))
    alone = [grade_answers([(t, r)])[0] for t, r in zip(texts, rubrics, strict=True)]
    assert together == alone
