"""Rendering: one .docx readiness report with its chart, against the straightforward build."""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.context import Context
from bench.inputs import InputsUnavailable, bank, submissions
from bench.measure import Series, StageResult, at_most, unavailable
from bench.naive_report import render_naive
from bench.profiling import top_functions

STAGE = "render one report"
TARGETS = ["render one .docx report with its chart <= 50 ms on one core"]
READYCHECK = "ReadyCheck render_report (chart included)"
NAIVE = "baseline: naive python-docx (table.cell loops) + default matplotlib chart"


def _series(name: str, call: Callable[[], object], repeat: int) -> Series:
    call()  # warm-up: imports, fonts and style caches, as a warm worker has them
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return Series(name, samples)


def run(ctx: Context) -> StageResult:
    """Render the same graded submission both ways, alternating, several times."""
    try:
        from shared.adapters import docx_report
        from shared.grading import GradingPlan, grade_submission
        from shared.readiness import assess
        from shared.report import build_report
        from shared.settings import ReadinessBands

        source = bank()
        render_report = docx_report.render_report
    except (ImportError, AttributeError, InputsUnavailable) as err:
        return unavailable(STAGE, f"the renderer is not ready ({err})", TARGETS)
    submission = submissions(source, 1)[0]
    graded = grade_submission(submission, GradingPlan.of(source))
    model = build_report(submission, graded, assess(graded, source, ReadinessBands()), source)
    ours = _series(READYCHECK, lambda: render_report(model), ctx.repeat)
    # The naive tables grow quadratically; --quick feeds them a tenth of the items to stay a smoke run.
    naive_input = graded.model_copy(update={"items": graded.items[:8]}) if ctx.quick else graded
    naive = _series(NAIVE, lambda: render_naive(naive_input, source), max(1, min(ctx.repeat, 3)))
    naive.baseline_of = ours.name
    return StageResult(
        stage=STAGE,
        series=[ours, naive],
        ratios={"naive / ReadyCheck": naive.median / ours.median},
        targets=[at_most(TARGETS[0], ours.median, 0.050, f"{ours.median * 1000:.0f} ms median")],
        profile=top_functions(lambda: render_report(model)),
    )
