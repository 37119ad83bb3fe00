"""The examiner's validity set is whole, split by its rule, and measured by a correct kappa."""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict

import pytest

from bench.validity import agreement, load_split, machine_grade, quadratic_weighted_kappa
from scripts.split_validity import batch_of
from shared.bank import ItemKind, load_bank


@pytest.fixture(scope="module")
def rows() -> dict[str, list[dict[str, object]]]:
    return {name: load_split(name) for name in ("tune", "holdout")}


def test_every_open_item_has_enough_hand_graded_answers(rows: dict[str, list[dict[str, object]]]) -> None:
    every = rows["tune"] + rows["holdout"]
    open_items = {i.id for i in load_bank().items if i.kind is ItemKind.OPEN_ANSWER}
    per_item = Counter(str(r["item_id"]) for r in every)
    assert set(per_item) == open_items
    assert min(per_item.values()) >= 8
    assert len(every) >= 150
    assert sum(bool(r["adversarial"]) for r in every) >= 40
    assert len({r["id"] for r in every}) == len(every)
    for row in every:
        assert row["grade"] in (0, 1, 2, 3, 4), row["id"]
        assert str(row["reason"]).strip(), row["id"]
        assert str(row["answer"]).strip(), row["id"]


def test_the_split_follows_its_rule_and_holds_out_a_third_of_each_item_in_each_batch(
    rows: dict[str, list[dict[str, object]]],
) -> None:
    by_item: dict[tuple[int, str], list[str]] = defaultdict(list)
    for row in rows["tune"] + rows["holdout"]:
        by_item[(batch_of(row), str(row["item_id"]))].append(str(row["id"]))
    held = {str(r["id"]) for r in rows["holdout"]}
    for ids in by_item.values():
        ordered = sorted(ids, key=lambda i: hashlib.sha256(f"readycheck-validity:{i}".encode()).hexdigest())
        cut = math.ceil(len(ids) * 0.35)
        assert set(ordered[:cut]) <= held
        assert not set(ordered[cut:]) & held
    assert len(held) / (len(rows["tune"]) + len(held)) >= 0.3


def test_kappa_is_one_for_perfect_agreement_and_falls_with_distance() -> None:
    hand = [0, 1, 2, 3, 4, 4, 2]
    assert quadratic_weighted_kappa(hand, hand) == 1.0
    near = quadratic_weighted_kappa(hand, [min(4, g + 1) for g in hand])
    far = quadratic_weighted_kappa(hand, [4 - g for g in hand])
    assert 0 < near < 1
    assert far < 0 < near


def test_kappa_matches_a_hand_computed_example() -> None:
    # Observed weighted disagreement 1/16 against 3/16 expected by chance: kappa = 1 - 1/3.
    assert quadratic_weighted_kappa([0, 2], [0, 1]) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("points", "grade"), [(0.0, 0), (0.62, 0), (0.63, 1), (2.5, 2), (3.12, 2), (3.13, 3), (5.0, 4)]
)
def test_machine_grades_round_half_up_on_the_four_point_scale(points: float, grade: int) -> None:
    assert machine_grade(points, 5.0) == grade


def test_critical_errors_count_only_answers_not_routed() -> None:
    from bench.validity import Graded

    def row(hand: int, machine: int, routed: bool) -> Graded:
        return Graded("x", "i", "k", False, 1, hand, machine, routed, "")

    figures = agreement([row(0, 3, False), row(0, 3, True), row(2, 3, False), row(4, 4, False)])
    assert figures.critical_unrouted_count == 1
    assert figures.review_rate == 0.25
    assert figures.adjacent == 0.5
