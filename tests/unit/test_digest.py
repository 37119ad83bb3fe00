"""The daily digest: counts, cohort statistics, who needs help, empty days and reruns."""

from __future__ import annotations

import json
from datetime import date

from shared.bank import ItemKind, load_bank
from shared.digest import build_digest, previous_day, run_digest
from shared.errors import WorkbookRejected
from shared.grading import grade_submission
from shared.grading_flow import GradingWork, record_dead_letter
from shared.ingest import ingest_blob
from shared.readiness import assess
from shared.settings import ReadinessBands
from shared.submission import Answer, Candidate, SheetFormat, Submission
from tests.fakes import World, drain
from tests.plans import plan_for

DAY = date(2026, 3, 2)


def _digest(world: World, day: date = DAY) -> dict[str, object]:
    name = run_digest(world.services, day)
    loaded: dict[str, object] = json.loads(world.blobs.read(world.settings.digests_container, name))
    return loaded


def test_a_day_with_data_counts_uploads_and_submissions_by_outcome() -> None:
    world = World()
    world.stage("good.xlsx", "Ada Lovelace", "Alan Turing")
    ingest_blob(world.services, "good.xlsx")
    first = GradingWork.from_json(world.sender.sent[0].body)
    record_dead_letter(world.services, first.to_json(), "m1", "MaxDeliveryCountExceeded", "")
    drain(world)
    world.stage("pending.xlsx", "Grace Hopper")
    ingest_blob(world.services, "pending.xlsx")
    world.engine.parsed[b"bad"] = WorkbookRejected("no")
    world.blobs.write(world.settings.answer_sheets_container, "bad.xlsx", b"bad", "x")
    ingest_blob(world.services, "bad.xlsx")
    digest = _digest(world)
    counts = digest["counts"]
    assert isinstance(counts, dict)
    assert counts["uploads received"] == 3
    assert counts["uploads partially graded"] == 1
    assert counts["uploads rejected"] == 1
    assert counts["uploads still grading"] == 1
    assert counts["submissions graded"] == 1
    assert counts["submissions failed"] == 1
    assert counts["submissions still grading"] == 1
    assert len(digest["names"]) == 1  # type: ignore[arg-type]


def test_identical_bytes_uploaded_twice_count_each_candidate_once() -> None:
    world = World()
    data = world.stage("first.xlsx", "Ada Lovelace", "Alan Turing")
    world.stage("second.xlsx", "Ada Lovelace", "Alan Turing", data=data)
    ingest_blob(world.services, "first.xlsx")
    ingest_blob(world.services, "second.xlsx")
    drain(world)
    digest = _digest(world)
    counts = digest["counts"]
    assert isinstance(counts, dict)
    assert counts["uploads received"] == 2
    assert counts["uploads graded"] == 2
    assert counts["submissions graded"] == 2
    names = digest["names"]
    assert isinstance(names, list)
    assert sorted(names) == ["Ada Lovelace", "Alan Turing"]


def test_an_empty_day_gives_a_digest_with_zero_counts() -> None:
    world = World()
    digest = _digest(world, date(2026, 1, 1))
    counts = digest["counts"]
    assert isinstance(counts, dict)
    assert set(counts.values()) == {0}
    assert digest["names"] == []


def test_a_rerun_replaces_the_digest_with_identical_bytes() -> None:
    world = World()
    world.stage("good.xlsx", "Ada Lovelace", "Alan Turing")
    ingest_blob(world.services, "good.xlsx")
    drain(world)
    run_digest(world.services, DAY)
    first = world.blobs.read(world.settings.digests_container, "2026-03-02.docx")
    run_digest(world.services, DAY)
    assert world.blobs.read(world.settings.digests_container, "2026-03-02.docx") == first
    assert world.blobs.writes.count((world.settings.digests_container, "2026-03-02.docx")) == 2


def test_the_scheduled_digest_covers_the_previous_utc_day() -> None:
    world = World()
    assert previous_day(world.services) == date(2026, 3, 1)


def _answered(name: str, correct: int) -> Submission:
    bank = load_bank()
    choice = [i for i in bank.items if i.kind is ItemKind.SINGLE_CHOICE]
    answers = tuple(Answer(item_id=i.id, choices=i.answer) for i in choice[:correct])
    email = f"{name.lower()}@example.com"
    return Submission(
        submission_key=f"key-{name}",
        candidate=Candidate(name=name, email=email),
        source_format=SheetFormat.TEMPLATE,
        answers=answers,
    )


def test_the_digest_model_lists_the_lowest_scorers_first_with_their_weakest_topics() -> None:
    bank = load_bank()
    graded = [
        grade_submission(_answered(n, k), plan_for(bank))
        for n, k in (("Strong", 12), ("Weak", 1), ("Middle", 6))
    ]
    assessments = [assess(g, bank, ReadinessBands()) for g in graded]
    model = build_digest("2026-03-02", {"uploads received": 1}, graded, assessments, bank)
    assert [h.name for h in model.needs_help] == ["Weak", "Middle", "Strong"]
    assert all(len(h.weakest_topics) == 3 for h in model.needs_help)
    assert model.stats is not None
    assert model.stats.count == 3
    assert not model.empty


def test_the_digest_model_of_an_empty_day_has_no_statistics() -> None:
    model = build_digest("2026-03-02", {}, [], [], load_bank())
    assert model.stats is None
    assert model.empty
