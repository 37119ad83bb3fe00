"""The whole local stack: upload -> report latency for one candidate, and a 1,000-respondent cohort.

Runs ``devstack.stack.up`` (Azurite, the Service Bus emulator, the app on the local Functions host)
on free ports in a temporary folder, drives it over HTTP like a client, and takes it down again.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.context import ROOT, BenchError, Context
from bench.inputs import InputsUnavailable, forms_export, single_candidates
from bench.measure import Series, StageResult, at_most, percentile, unavailable

LATENCY = "upload -> report, one candidate"
COHORT = "1,000-respondent export -> all reports"
LATENCY_TARGETS = ["p50 <= 2 s", "p95 <= 4 s"]
COHORT_TARGETS = ["all reports ready <= 60 s"]
# The local host polls the container for new blobs (2 s by default); Azure's Event Grid source
# pushes. A short poll stands in for the push so the figure is the pipeline, not the poll.
BLOB_POLL_SECONDS = "0.2"
_POLL = 0.05
# Three times the cohort target is enough to call it missed; past that the run only burns CPU.
COHORT_BUDGET_SECONDS = 180.0


def _unavailable(reason: str) -> list[StageResult]:
    return [unavailable(LATENCY, reason, LATENCY_TARGETS), unavailable(COHORT, reason, COHORT_TARGETS)]


@contextlib.contextmanager
def local_stack() -> Iterator[tuple[str, Path]]:
    """The local stack on free ports; yields the app's base URL and host log, stops everything after."""
    from devstack import stack
    from devstack.processes import free_port

    ports = stack.StackPorts(free_port(), free_port(), free_port(), free_port(), free_port())
    previous = os.environ.get("FUNCTIONS_HOST_BLOB_POLL_SECONDS")
    os.environ["FUNCTIONS_HOST_BLOB_POLL_SECONDS"] = BLOB_POLL_SECONDS
    with tempfile.TemporaryDirectory(prefix="readycheck-bench-") as folder:
        state_file = Path(folder) / "stack.json"
        try:
            # `up` reports its endpoints on stdout; the harness keeps stdout for verdicts.
            with contextlib.redirect_stdout(sys.stderr):
                stack.up(ROOT, ports, state_file=state_file)
            yield f"http://127.0.0.1:{ports.http}", Path(folder) / "functions.log"
        finally:
            stack.down(state_file)
            if previous is None:
                os.environ.pop("FUNCTIONS_HOST_BLOB_POLL_SECONDS", None)
            else:
                os.environ["FUNCTIONS_HOST_BLOB_POLL_SECONDS"] = previous


_EXECUTED = re.compile(r"Executed 'Functions\.(\w+)' \((\w+), Id=[^,]*, Duration=(\d+)ms\)")


@dataclass(frozen=True)
class Durations:
    """Invocation durations the host logged: how many lines were read and a one-line summary."""

    count: int
    text: str


def function_durations(log: Path, after: int = 0) -> Durations:
    """Per-function invocation count and median duration from the host log, past the first ``after``."""
    found = _EXECUTED.findall(log.read_text(errors="replace"))
    by_function: dict[str, list[int]] = {}
    for name, _, millis in found[after:]:
        by_function.setdefault(name, []).append(int(millis))
    text = "; ".join(
        f"{name} x{len(values)} median {statistics.median(values):.0f} ms, total {sum(values) / 1000:.1f} s"
        for name, values in sorted(by_function.items(), key=lambda kv: -sum(kv[1]))
    )
    return Durations(len(found), f"host invocations: {text}" if text else "")


def _upload(http: Any, data: bytes, name: str) -> str:
    response = http.post("/api/uploads", params={"filename": name}, content=data)
    if response.status_code != 202:
        raise BenchError(f"upload of {name} answered {response.status_code}: {response.text[:200]}")
    return str(response.json()["status_url"])


def _wait_graded(http: Any, status_url: str, timeout: float, poll: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: dict[str, Any] = http.get(status_url).json()
        if status["status"] not in ("received", "grading"):
            if status["status"] != "graded":
                raise BenchError(f"{status_url} ended {status['status']}: {status.get('problems')}")
            return status
        time.sleep(poll)
    raise BenchError(f"{status_url} was not graded within {timeout:.0f} s")


def _one_candidate(http: Any, path: Path) -> float:
    start = time.perf_counter()
    status = _wait_graded(http, _upload(http, path.read_bytes(), path.name), 60, _POLL)
    [submission] = status["submissions"]
    report = http.get(submission["report_url"])
    if report.status_code != 200 or not report.content.startswith(b"PK"):
        raise BenchError(f"report of {path.name} answered {report.status_code}")
    return time.perf_counter() - start


@dataclass(frozen=True)
class CohortRun:
    """How far a cohort got: its time series, the projected total and the text for the target."""

    series: Series
    projected: float
    measured: str


def _cohort(http: Any, path: Path) -> CohortRun:
    """Upload a cohort and wait for every report, giving up at the budget with the progress made."""
    start = time.perf_counter()
    status_url = _upload(http, path.read_bytes(), path.name)
    graded = total = 0
    while (elapsed := time.perf_counter() - start) < COHORT_BUDGET_SECONDS:
        status = http.get(status_url).json()
        submissions = status.get("submissions", [])
        total = len(submissions)
        graded = sum(1 for s in submissions if s.get("status") == "graded")
        if status["status"] not in ("received", "grading"):
            note = f"{graded:,} of {total:,} submissions graded, status {status['status']}"
            return CohortRun(Series("cohort upload -> every report", [elapsed], note=note), elapsed, note)
        time.sleep(0.5)
    # Unfinished: project the total from the rate so far, and say plainly that it is a projection.
    projected = elapsed * total / graded if graded else float("inf")
    note = f"unfinished after {elapsed:.0f} s: {graded:,} of {total:,} graded; projected {projected:.0f} s"
    return CohortRun(Series("cohort upload -> reports graded so far", [elapsed], note=note), projected, note)


def run(ctx: Context) -> list[StageResult]:
    """Upload single candidates one after another, then a cohort, against one local stack."""
    if ctx.quick:
        return _unavailable("--quick skips the local stack")
    try:
        import httpx

        from devstack import stack  # noqa: F401 - present means the stack can be started

        templates = single_candidates(ctx.inputs, 4 * ctx.repeat)
        cohort = forms_export(ctx.inputs, 1_000)
    except (ImportError, InputsUnavailable) as err:
        return _unavailable(str(err))
    with local_stack() as (base_url, host_log), httpx.Client(base_url=base_url, timeout=30) as http:
        _one_candidate(http, templates[0])  # warm-up: first invocations import and connect
        trips = [_one_candidate(http, path) for path in templates[1:]]
        single_profile = function_durations(host_log)
        cohort_run = _cohort(http, cohort)
        cohort_profile = function_durations(host_log, after=single_profile.count)
    latency = Series("upload -> report downloadable", trips, note=f"{len(trips)} uploads, one at a time")
    p50, p95 = percentile(trips, 0.5), percentile(trips, 0.95)
    return [
        StageResult(
            stage=LATENCY,
            series=[latency],
            targets=[
                at_most(LATENCY_TARGETS[0], p50, 2.0, f"p50 {p50:.2f} s"),
                at_most(LATENCY_TARGETS[1], p95, 4.0, f"p95 {p95:.2f} s"),
            ],
            profile=single_profile.text,
        ),
        StageResult(
            stage=COHORT,
            series=[cohort_run.series],
            targets=[at_most(COHORT_TARGETS[0], cohort_run.projected, 60, cohort_run.measured)],
            profile=cohort_profile.text,
        ),
    ]
