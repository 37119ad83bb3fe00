"""Examiner agreement of the open-answer grader on the held-out validity split (``make validity``)."""

from __future__ import annotations

from bench.context import Context
from bench.measure import Series, StageResult, at_least, at_most

STAGE = "open-answer validity"
TARGETS = [
    "held-out quadratic weighted kappa >= 0.85",
    "held-out critical errors not routed to review <= 2%",
    "held-out review rate <= 25%",
]


def run(ctx: Context) -> StageResult:
    """Grade the validity set through the production path; report the held-out figures and all."""
    from bench.validity import measure

    figures = measure()
    held: dict[str, float] = figures["holdout"]  # type: ignore[assignment]
    every: dict[str, float] = figures["all"]  # type: ignore[assignment]
    series = [
        Series(f"{split} {name}", [float(values[key])], unit=unit)
        for split, values in (("held-out", held), ("all", every))
        for name, key, unit in (
            ("quadratic weighted kappa", "qwk", "kappa"),
            ("exact agreement", "exact", "share"),
            ("adjacent agreement", "adjacent", "share"),
            ("critical errors not routed", "critical_unrouted", "share"),
            ("review rate", "review_rate", "share"),
        )
    ]
    for s in series:
        s.note = f"n={int(held['count'] if s.name.startswith('held-out') else every['count'])}"
    batches: dict[str, dict[str, float]] = figures["holdout_by_batch"]  # type: ignore[assignment]
    for batch, values in batches.items():
        for name, key, unit in (
            ("quadratic weighted kappa", "qwk", "kappa"),
            ("critical errors not routed", "critical_unrouted", "share"),
        ):
            one = Series(f"held-out batch {batch} {name}", [float(values[key])], unit=unit)
            one.note = f"n={int(values['count'])}"
            series.append(one)
    return StageResult(
        stage=STAGE,
        series=series,
        targets=[
            at_least(TARGETS[0], held["qwk"], 0.85, f"QWK {held['qwk']:.3f} (all {every['qwk']:.3f})"),
            at_most(
                TARGETS[1],
                held["critical_unrouted"],
                0.02,
                f"{held['critical_unrouted']:.1%} ({held['critical_unrouted_count']:.0f} answers)",
            ),
            at_most(TARGETS[2], held["review_rate"], 0.25, f"{held['review_rate']:.0%}"),
        ],
    )
