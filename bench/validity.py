"""Agreement between the open-answer grader and an examiner's hand grades (``make validity``).

The validity set is ``tests/validity/{tune,holdout}.jsonl``: answers to the bank's open items,
each graded 0-4 by hand with a reason, split once by ``scripts/split_validity.py``. Every answer
goes through the production path (``grade_section`` on a one-answer submission). The machine's
0-4 grade is its share of the item's points times four, rounded half up.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts.split_validity import batch_of
from shared.bank import Bank, load_bank
from shared.grading import GradingPlan, grade_section
from shared.submission import Answer, Candidate, SheetFormat, Submission

VALIDITY_DIR = Path(__file__).resolve().parent.parent / "tests" / "validity"
SPLITS = ("holdout", "tune")
# A machine grade this far from the examiner's on the 0-4 scale is a critical error.
CRITICAL_GAP = 2


@dataclass(frozen=True, slots=True)
class Graded:
    """One validity answer with the examiner's grade and the machine's."""

    id: str
    item_id: str
    kind: str
    adversarial: bool
    batch: int
    hand: int
    machine: int
    routed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Agreement:
    """The examiner's figures for one set of answers."""

    count: int
    qwk: float
    exact: float
    adjacent: float
    critical_unrouted: float
    critical_unrouted_count: int
    review_rate: float
    mean_hand: float
    mean_machine: float


def quadratic_weighted_kappa(hand: Sequence[int], machine: Sequence[int], levels: int = 5) -> float:
    """Cohen's kappa with quadratic weights over grades 0..levels-1."""
    n = len(hand)
    if n == 0:
        return float("nan")
    observed = [[0.0] * levels for _ in range(levels)]
    for a, b in zip(hand, machine, strict=True):
        observed[a][b] += 1
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(levels)) for j in range(levels)]
    numerator = denominator = 0.0
    for i in range(levels):
        for j in range(levels):
            weight = (i - j) ** 2 / (levels - 1) ** 2
            numerator += weight * observed[i][j]
            denominator += weight * rows[i] * cols[j] / n
    return 1.0 - numerator / denominator if denominator else 1.0


def agreement(rows: Sequence[Graded]) -> Agreement:
    """Kappa, exact and adjacent agreement, critical errors not routed, and the review rate."""
    n = len(rows)
    critical = [r for r in rows if abs(r.machine - r.hand) >= CRITICAL_GAP and not r.routed]
    return Agreement(
        count=n,
        qwk=quadratic_weighted_kappa([r.hand for r in rows], [r.machine for r in rows]),
        exact=sum(r.machine == r.hand for r in rows) / n if n else math.nan,
        adjacent=sum(abs(r.machine - r.hand) <= 1 for r in rows) / n if n else math.nan,
        critical_unrouted=len(critical) / n if n else math.nan,
        critical_unrouted_count=len(critical),
        review_rate=sum(r.routed for r in rows) / n if n else math.nan,
        mean_hand=sum(r.hand for r in rows) / n if n else math.nan,
        mean_machine=sum(r.machine for r in rows) / n if n else math.nan,
    )


def load_split(name: str, folder: Path = VALIDITY_DIR) -> list[dict[str, object]]:
    """The rows of one split file."""
    lines = (folder / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def machine_grade(points: float, max_points: float) -> int:
    """Points on the 0-4 scale, rounded half up."""
    return math.floor(4 * points / max_points + 0.5 + 1e-9)


def grade_rows(rows: Iterable[dict[str, object]], bank: Bank) -> list[Graded]:
    """Grade every answer through the production path."""
    plan = GradingPlan.of(bank)
    graded: list[Graded] = []
    for row in rows:
        item = bank.item(str(row["item_id"]))
        submission = Submission(
            submission_key=f"validity-{row['id']}",
            source_format=SheetFormat.TEMPLATE,
            candidate=Candidate(name="Validity", email="validity@example.com"),
            answers=(Answer(item_id=item.id, text=str(row["answer"])),),
        )
        result = grade_section(submission, item.section, plan)
        found = next(r for r in result.items if r.item_id == item.id)
        graded.append(
            Graded(
                id=str(row["id"]),
                item_id=item.id,
                kind=str(row["kind"]),
                adversarial=bool(row["adversarial"]),
                batch=batch_of(row),
                hand=int(str(row["grade"])),
                machine=machine_grade(found.points, found.max_points),
                routed=found.needs_review,
                reason=found.review_reason,
            )
        )
    return graded


def by_kind(rows: Sequence[Graded]) -> dict[str, Agreement]:
    """Agreement per kind of answer."""
    groups: dict[str, list[Graded]] = defaultdict(list)
    for row in rows:
        groups[row.kind].append(row)
    return {kind: agreement(group) for kind, group in sorted(groups.items())}


def measure(bank: Bank | None = None, folder: Path = VALIDITY_DIR) -> dict[str, object]:
    """The figures for the held-out split and for all answers, as plain data."""
    source = bank or load_bank()
    held = grade_rows(load_split("holdout", folder), source)
    tune = grade_rows(load_split("tune", folder), source)
    batches = sorted({r.batch for r in held})
    return {
        "holdout": _as_dict(agreement(held)),
        # Later batches were written after earlier held-out figures had been seen: reported apart.
        "holdout_by_batch": {str(b): _as_dict(agreement([r for r in held if r.batch == b])) for b in batches},
        "all": _as_dict(agreement(held + tune)),
        "holdout_by_kind": {k: _as_dict(v) for k, v in by_kind(held).items()},
        "all_by_kind": {k: _as_dict(v) for k, v in by_kind(held + tune).items()},
    }


def _as_dict(a: Agreement) -> dict[str, float | int]:
    return {
        "count": a.count,
        "qwk": round(a.qwk, 3),
        "exact": round(a.exact, 3),
        "adjacent": round(a.adjacent, 3),
        "critical_unrouted": round(a.critical_unrouted, 3),
        "critical_unrouted_count": a.critical_unrouted_count,
        "review_rate": round(a.review_rate, 3),
        "mean_hand": round(a.mean_hand, 2),
        "mean_machine": round(a.mean_machine, 2),
    }


def _table(title: str, overall: dict[str, float | int], kinds: dict[str, dict[str, float | int]]) -> str:
    head = f"{title}: n={overall['count']}  QWK {overall['qwk']:.3f}  exact {overall['exact']:.0%}  "
    head += (
        f"adjacent {overall['adjacent']:.0%}  critical errors not routed {overall['critical_unrouted']:.1%} "
    )
    head += f"({overall['critical_unrouted_count']})  review rate {overall['review_rate']:.0%}"
    if not kinds:
        return head
    lines = [head, f"  {'kind':<22}{'n':>4}{'hand':>7}{'machine':>9}{'exact':>7}{'crit':>6}{'review':>8}"]
    for kind, a in kinds.items():
        lines.append(
            f"  {kind:<22}{a['count']:>4}{a['mean_hand']:>7.2f}{a['mean_machine']:>9.2f}"
            f"{a['exact']:>7.0%}{a['critical_unrouted_count']:>6}{a['review_rate']:>8.0%}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures; ``--tune --list`` lists tuning answers the grader misses, never held-out ones."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--list", action="store_true", help="list disagreements of the tuning split")
    parser.add_argument("--tune", action="store_true", help="the tuning split only (while tuning)")
    args = parser.parse_args(argv)
    if args.tune:
        tune = grade_rows(load_split("tune"), load_bank())
        kinds = {k: _as_dict(v) for k, v in by_kind(tune).items()}
        print(_table("Tuning split", _as_dict(agreement(tune)), kinds))
        for row in tune if args.list else ():
            if row.machine != row.hand:
                flag = "R" if row.routed else " "
                print(
                    f"{flag} {row.id:<34} {row.kind:<20} hand {row.hand} machine {row.machine}  {row.reason}"
                )
        return 0
    figures = measure()
    print(_table("Held-out split", figures["holdout"], figures["holdout_by_kind"]))  # type: ignore[arg-type]
    for batch, overall in figures["holdout_by_batch"].items():  # type: ignore[attr-defined]
        print(_table(f"Held-out, batch {batch}", overall, {}))
    print()
    print(_table("All answers", figures["all"], figures["all_by_kind"]))  # type: ignore[arg-type]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
