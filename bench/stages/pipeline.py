"""The whole local stack: upload -> report latency for one candidate, 50 concurrent candidates and a
1,000-respondent cohort (beside the offline grader on the same file), and a per-submission breakdown.

Runs ``devstack.stack.up`` (Azurite, the Service Bus emulator, the app on the local Functions host)
on free ports in a temporary folder, drives it over HTTP like a client, and takes it down again.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.context import ROOT, BenchError, Context
from bench.inputs import InputsUnavailable, forms_export, single_candidates
from bench.measure import Series, StageResult, at_most, percentile, unavailable

LATENCY = "upload -> report, one candidate"
CONCURRENT = "50 concurrent single-candidate uploads -> reports"
COHORT = "1,000-respondent export -> all reports"
LATENCY_TARGETS = ["p50 <= 2 s", "p95 <= 4 s"]
CONCURRENT_TARGETS = ["p95 <= 10 s", "slowest <= 30 s"]
COHORT_TARGETS = ["all reports ready <= 60 s", "<= 2.5x the offline grader on the same file"]
CONCURRENT_UPLOADS = 50
# Respondents of the export the per-submission breakdown grades in-process.
BREAKDOWN_RESPONDENTS = 100
# The local host polls the container for new blobs (2 s by default); Azure's Event Grid source
# pushes. A short poll stands in for the push so the figure is the pipeline, not the poll.
BLOB_POLL_SECONDS = "0.2"
# One language worker per core of the 2-core bench machine (docs/local-host.md); an explicit
# FUNCTIONS_WORKER_PROCESS_COUNT in the environment wins, so `=1` measures the single-worker host.
WORKER_PROCESSES = "2"
_POLL = 0.05
_COHORT_POLL = 2.0
# The queues the app's triggers name; the stack itself knows no app.
SERVICEBUS_CONFIG = ROOT / "infra" / "local" / "servicebus-config.json"
# Three times the cohort target is enough to call it missed; past that the run only burns CPU.
COHORT_BUDGET_SECONDS = 180.0


def _unavailable(reason: str) -> list[StageResult]:
    return [
        unavailable(LATENCY, reason, LATENCY_TARGETS),
        unavailable(CONCURRENT, reason, CONCURRENT_TARGETS),
        unavailable(COHORT, reason, COHORT_TARGETS),
    ]


@dataclass(frozen=True)
class LocalStack:
    """A running local stack: the app's base URL, the host log and the app's settings with real ports."""

    base_url: str
    host_log: Path
    app_settings: dict[str, str]


@contextlib.contextmanager
def local_stack() -> Iterator[LocalStack]:
    """The local stack on free ports; stops everything after."""
    from devstack import stack
    from devstack.functions_host.config import load_app_settings
    from devstack.processes import free_port

    ports = stack.StackPorts(free_port(), free_port(), free_port(), free_port(), free_port())
    host_settings = {
        "FUNCTIONS_HOST_BLOB_POLL_SECONDS": BLOB_POLL_SECONDS,
        "FUNCTIONS_WORKER_PROCESS_COUNT": os.environ.get("FUNCTIONS_WORKER_PROCESS_COUNT", WORKER_PROCESSES),
    }
    previous = {k: os.environ.get(k) for k in host_settings}
    os.environ.update(host_settings)
    with tempfile.TemporaryDirectory(prefix="readycheck-bench-") as folder:
        state_file = Path(folder) / "stack.json"
        try:
            # `up` reports its endpoints on stdout; the harness keeps stdout for verdicts.
            with contextlib.redirect_stdout(sys.stderr):
                stack.up(ROOT, ports, servicebus_config=SERVICEBUS_CONFIG, state_file=state_file)
            settings, _ = load_app_settings(ROOT, {}, {})
            yield LocalStack(
                f"http://127.0.0.1:{ports.http}",
                Path(folder) / "functions.log",
                settings | stack.local_overrides(settings, ports),
            )
        finally:
            stack.down(state_file)
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


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


def _one_candidate(http: Any, path: Path, poll: float = _POLL) -> float:
    start = time.perf_counter()
    status = _wait_graded(http, _upload(http, path.read_bytes(), path.name), 60, poll)
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
        # Each poll lists every submission: at 0.5 s the poller alone took ~95 s of the host's worker time.
        time.sleep(_COHORT_POLL)
    # Unfinished: project the total from the rate so far, and say plainly that it is a projection.
    projected = elapsed * total / graded if graded else float("inf")
    note = f"unfinished after {elapsed:.0f} s: {graded:,} of {total:,} graded; projected {projected:.0f} s"
    return CohortRun(Series("cohort upload -> reports graded so far", [elapsed], note=note), projected, note)


def _concurrent(http: Any, paths: list[Path]) -> list[float]:
    """Upload every file at the same moment; each one's upload -> downloadable report."""
    barrier = threading.Barrier(len(paths))

    def one(path: Path) -> float:
        barrier.wait()
        # 50 pollers at 0.25 s took 280 s of worker time in a run, more than the uploads' own work;
        # a browser polls about once a second.
        return _one_candidate(http, path, poll=1.0)

    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        return list(pool.map(one, paths))


def _offline(cohort: Path) -> float:
    """Seconds the offline grader takes for parse + grade + every report of ``cohort`` (this process)."""
    from readycheck_cli.offline_grader import grade_workbook, offline_settings

    with tempfile.TemporaryDirectory(prefix="readycheck-offline-") as out:
        start = time.perf_counter()
        grade_workbook(cohort, Path(out), io.StringIO(), offline_settings(os.environ))
        return time.perf_counter() - start


def run(ctx: Context) -> list[StageResult]:
    """Upload single candidates one after another, then a cohort, against one local stack."""
    if ctx.quick:
        return _unavailable("--quick skips the local stack")
    try:
        import httpx

        from bench.pipeline_breakdown import measure
        from devstack import stack  # noqa: F401 - present means the stack can be started

        templates = single_candidates(ctx.inputs, 4 * ctx.repeat + CONCURRENT_UPLOADS)
        cohort = forms_export(ctx.inputs, 1_000)
        small = forms_export(ctx.inputs, BREAKDOWN_RESPONDENTS)
    except (ImportError, InputsUnavailable) as err:
        return _unavailable(str(err))
    singles, crowd = templates[: 4 * ctx.repeat], templates[4 * ctx.repeat :]
    # Before the stack starts, so the two share nothing but the machine.
    offline = _offline(cohort)
    limits = httpx.Limits(max_connections=CONCURRENT_UPLOADS + 10)
    with local_stack() as running, httpx.Client(base_url=running.base_url, timeout=30, limits=limits) as http:
        _one_candidate(http, singles[0])  # warm-up: first invocations import and connect
        trips = [_one_candidate(http, path) for path in singles[1:]]
        single_profile = function_durations(running.host_log)
        crowd_trips = _concurrent(http, crowd)
        crowd_profile = function_durations(running.host_log, after=single_profile.count)
        cohort_run = _cohort(http, cohort)
        cohort_profile = function_durations(running.host_log, after=crowd_profile.count)
        breakdown = measure(running.app_settings, small.read_bytes())
    latency = Series("upload -> report downloadable", trips, note=f"{len(trips)} uploads, one at a time")
    p50, p95 = percentile(trips, 0.5), percentile(trips, 0.95)
    crowd_series = Series(
        "upload -> report downloadable, all at once", crowd_trips, note=f"{len(crowd_trips)} uploads"
    )
    crowd_p95, slowest = percentile(crowd_trips, 0.95), max(crowd_trips)
    workers = os.environ.get("FUNCTIONS_WORKER_PROCESS_COUNT", WORKER_PROCESSES)
    ratio = cohort_run.projected / offline
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
            stage=CONCURRENT,
            series=[crowd_series],
            targets=[
                at_most(CONCURRENT_TARGETS[0], crowd_p95, 10.0, f"p95 {crowd_p95:.2f} s"),
                at_most(CONCURRENT_TARGETS[1], slowest, 30.0, f"slowest {slowest:.2f} s"),
            ],
            profile=crowd_profile.text,
        ),
        StageResult(
            stage=COHORT,
            series=[
                cohort_run.series,
                Series("offline grader, same file, one core", [offline], note="parse + grade + every report"),
            ],
            targets=[
                at_most(COHORT_TARGETS[0], cohort_run.projected, 60, cohort_run.measured),
                at_most(
                    COHORT_TARGETS[1],
                    ratio,
                    2.5,
                    f"{ratio:.1f}x ({cohort_run.projected:.0f} s vs offline {offline:.0f} s)",
                ),
            ],
            profile=f"{workers} worker process(es); {cohort_profile.text}; {breakdown.text()}",
        ),
    ]
