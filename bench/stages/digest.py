"""Digest: one day's digest while the table holds a month (30 days x 1,000 graded submissions).

The digest reads one day partition (``shared.digest.day_counts_and_graded``), so the month's other
29 days are never touched; what it costs is the day's 1,000 submissions. This measures the core of
that work (assess every submission, cohort statistics, the digest model); the Table reads and the
.docx rendering are outside it and are named in the results.
"""

from __future__ import annotations

import time

from bench.context import Context
from bench.inputs import InputsUnavailable, bank, graded_results
from bench.measure import Series, StageResult, at_most, unavailable
from bench.profiling import top_functions

STAGE = "digest"
TARGETS = ["digest over 30 days x 1,000 submissions <= 5 s (one day's digest; core only)"]


def run(ctx: Context) -> StageResult:
    """Assess and summarise one day of 1,000 graded submissions, several times."""
    try:
        from shared.digest import build_digest
        from shared.readiness import assess
        from shared.settings import ReadinessBands

        source = bank()
    except (ImportError, InputsUnavailable) as err:
        return unavailable(STAGE, str(err), TARGETS)
    per_day = 20 if ctx.quick else 1_000
    graded = graded_results(ctx.inputs, per_day)

    def one_day() -> None:
        assessments = [assess(g, source, ReadinessBands()) for g in graded]
        build_digest("2026-03-01", {"submissions graded": per_day}, graded, assessments, source)

    samples: list[float] = []
    for _ in range(ctx.repeat):
        start = time.perf_counter()
        one_day()
        samples.append(time.perf_counter() - start)
    series = Series(
        "ReadyCheck assess + build_digest, one day",
        samples,
        note=f"{per_day:,} graded submissions; Table reads and the .docx not included",
    )
    return StageResult(
        stage=STAGE,
        series=[series],
        targets=[at_most(TARGETS[0], series.median, 5.0, f"{series.median:.2f} s median (core only)")],
        profile=top_functions(one_day),
    )
