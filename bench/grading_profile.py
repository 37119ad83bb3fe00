"""CPU time of grading and rendering, with the empty-document floor measured in the same run.

``python -m bench.grading_profile [--profile grade|render]``. CPU time (``time.process_time``)
rather than wall time, and medians, so that a machine shared with other work still gives
comparable numbers; compare the report with the floor, not with a number from another day.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from collections.abc import Callable

from bench.inputs import bank, submissions


def cpu_median(call: Callable[[], object], repeat: int) -> float:
    """Median CPU seconds of ``repeat`` calls, after one warm-up call."""
    call()
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        call()
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def main() -> None:
    """Print CPU ms per graded submission, per rendered report and per empty python-docx save."""
    import docx

    from shared.adapters.docx_report import render_report
    from shared.grading import GradingPlan, grade_submission
    from shared.readiness import assess
    from shared.report import build_report
    from shared.settings import ReadinessBands

    parser = argparse.ArgumentParser(prog="python -m bench.grading_profile", description=__doc__)
    parser.add_argument("--submissions", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--profile", choices=("grade", "render"), help="also print the top functions")
    args = parser.parse_args()

    source = bank()
    batch = submissions(source, args.submissions)
    plan = GradingPlan.of(source)
    graded = grade_submission(batch[0], plan)
    model = build_report(batch[0], graded, assess(graded, source, ReadinessBands()), source)

    def grade_all() -> None:
        for submission in batch:
            grade_submission(submission, plan)

    def empty_document() -> None:
        docx.Document().save(io.BytesIO())

    calls: dict[str, Callable[[], object]] = {"grade": grade_all, "render": lambda: render_report(model)}
    grade = cpu_median(grade_all, args.repeat) / len(batch)
    render = cpu_median(calls["render"], args.repeat)
    floor = cpu_median(empty_document, args.repeat)
    print(f"grade one submission ({len(source.items)} items): {grade * 1000:.2f} ms CPU (median)")
    print(f"render one report with its chart:     {render * 1000:.1f} ms CPU (median)")
    print(f"empty python-docx document + save:    {floor * 1000:.1f} ms CPU (median, the floor)")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(calls[args.profile])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
