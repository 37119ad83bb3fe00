"""Digest: a month of daily digests, 30 days x 1,000 graded submissions."""

from __future__ import annotations

import time

from bench.context import Context
from bench.inputs import InputsUnavailable, bank, graded_results
from bench.measure import Series, StageResult, at_most, unavailable
from bench.profiling import top_functions

STAGE = "digest"
TARGETS = ["digest over 30 days x 1,000 submissions <= 5 s"]
BUDGET_SECONDS = 60.0


def run(ctx: Context) -> StageResult:
    """Build 30 daily digests from 1,000 graded, assessed submissions each (the core, no storage)."""
    try:
        from shared.digest import build_digest
        from shared.readiness import assess
        from shared.settings import ReadinessBands

        source = bank()
    except (ImportError, InputsUnavailable) as err:
        return unavailable(STAGE, str(err), TARGETS)
    days, per_day = (2, 20) if ctx.quick else (30, 1_000)
    graded = graded_results(ctx.inputs, per_day)

    def build_day(day: int) -> None:
        assessments = [assess(g, source, ReadinessBands()) for g in graded]
        build_digest(f"2026-03-{day:02d}", {"submissions graded": per_day}, graded, assessments, source)

    def month() -> None:
        for day in range(1, days + 1):
            build_day(day)

    samples: list[float] = []
    # A month is long on a loaded machine: repeat only while the runs stay within the budget.
    while len(samples) < ctx.repeat and sum(samples) < BUDGET_SECONDS:
        start = time.perf_counter()
        month()
        samples.append(time.perf_counter() - start)
    series = Series(
        "ReadyCheck assess + build_digest, every day of the month",
        samples,
        note=f"{days} days x {per_day:,} submissions; storage reads and the .docx not included",
    )
    return StageResult(
        stage=STAGE,
        series=[series],
        targets=[at_most(TARGETS[0], series.median, 5.0, f"{series.median:.2f} s median (core only)")],
        profile=top_functions(lambda: build_day(1)),
    )
