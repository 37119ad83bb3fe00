"""``python -m bench``: run every benchmark (or ``--only NAME``) and write the results.

Exit status: 0 when every benchmark ran (targets may be missed: the results say which),
1 when a benchmark failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.context import ROOT, BenchError, Context
from bench.measure import StageResult, Verdict
from bench.outputs import write_all
from bench.stages import cold_start, digest, grading, parsing, pipeline, rendering, servicebus, validity

BENCHMARKS: dict[str, Callable[[Context], StageResult | list[StageResult]]] = {
    "parse": parsing.run_5k,
    "parse-large": parsing.run_50k,
    "grade": grading.run,
    "validity": validity.run,
    "render": rendering.run,
    "cold-start": cold_start.run,
    "servicebus": servicebus.run,
    "digest": digest.run,
    "pipeline": pipeline.run,
}


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks, write the outputs and print the targets' verdicts."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny inputs, one repetition (a smoke run)")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only this one")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per measurement (default 5)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench", help="folder for the results")
    parser.add_argument("--inputs", type=Path, default=ROOT / "bench" / "inputs", help="generated inputs")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 5)
    ctx = Context(inputs=args.inputs, out=args.out, repeat=repeat, quick=args.quick)
    ctx.inputs.mkdir(parents=True, exist_ok=True)
    results: list[StageResult] = []
    failed = False
    # The machine is shared: the load average tells a reader how far absolute figures are inflated.
    load_at_start = round(os.getloadavg()[0], 2)
    for name in args.only or list(BENCHMARKS):
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        start = time.monotonic()
        try:
            outcome = BENCHMARKS[name](ctx)
        except BenchError as err:
            failed = True
            outcome = StageResult(stage=name, unavailable=f"failed: {err}")
        print(f"bench: {name} done in {time.monotonic() - start:.1f} s", file=sys.stderr, flush=True)
        for result in outcome if isinstance(outcome, list) else [outcome]:
            if ctx.quick:
                # Tiny inputs say nothing about the targets; a smoke run only proves the harness works.
                for target in result.targets:
                    if target.verdict is not Verdict.NOT_AVAILABLE:
                        target.verdict = Verdict.NOT_JUDGED
            results.append(result)
            for target in result.targets:
                print(f"  [{target.verdict}] {result.stage}: {target.text}: {target.measured}")
            if result.unavailable:
                print(f"  not available: {result.unavailable}")
    meta: dict[str, object] = {"repeat": repeat, "quick": args.quick, "load_average_at_start": load_at_start}
    previous = ctx.out / "results.json"
    if args.only and previous.exists():
        # Rerunning some benchmarks keeps the others' last results, so one table stays complete.
        document = json.loads(previous.read_text())
        meta["kept_from"] = document["meta"].get("kept_from") or document["meta"]["finished"]
        meta["rerun"] = args.only
        results = merge_results([StageResult.from_dict(s) for s in document["stages"]], results)
    written = write_all(ctx.out, results, meta)
    print("wrote " + ", ".join(str(p) for p in written))
    return 1 if failed else 0


def merge_results(kept: list[StageResult], fresh: list[StageResult]) -> list[StageResult]:
    """``kept`` in its order with same-named stages replaced by ``fresh``; new stages appended."""
    by_stage = {r.stage: r for r in fresh}
    merged = [by_stage.pop(r.stage, r) for r in kept]
    return merged + list(by_stage.values())


if __name__ == "__main__":
    sys.exit(main())
