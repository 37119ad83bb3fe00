"""Service Bus emulator: throughput and latency over AMQP, against a plain loopback TCP round trip.

The measuring itself is the emulator's own benchmark, ``bench/servicebus_bench.py``; this stage runs
it once per repetition in a fresh interpreter and turns its JSON into series and verdicts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.context import ROOT, BenchError, Context, child_env
from bench.measure import Series, StageResult, at_least, at_most

STAGE = "Service Bus emulator"
TARGETS = [
    ">= 2,000 messages/s sent in batches",
    ">= 1,000 messages/s received with prefetch",
    "p99 send->receive <= 20 ms at 100 msg/s",
]


def _one_run(quick: bool) -> dict[str, Any]:
    sizes = ["--messages", "200", "--latency-messages", "20"] if quick else []
    argv = [sys.executable, "-m", "bench.servicebus_bench", *sizes]
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=300, cwd=ROOT, env=child_env(), check=False
        )
    except subprocess.TimeoutExpired as err:
        raise BenchError("bench.servicebus_bench did not finish within 300 s") from err
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise BenchError(f"bench.servicebus_bench exited with {proc.returncode}: {tail}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def run(ctx: Context) -> StageResult:
    """Run the emulator benchmark a few times; medians of its figures, loopback TCP as the floor."""
    runs = [_one_run(ctx.quick) for _ in range(max(1, min(ctx.repeat, 3)))]
    sent = Series("send, batched", [r["send_batched_per_s"] for r in runs], unit="msg/s")
    received = Series(
        "receive-and-delete, prefetch", [r["receive_and_delete_prefetch_per_s"] for r in runs], unit="msg/s"
    )
    completed = Series(
        "peek-lock receive + complete, prefetch",
        [r["receive_peek_lock_complete_prefetch_per_s"] for r in runs],
        unit="msg/s",
    )
    latency = [r["send_to_receive_latency"] for r in runs]
    p50 = Series("send->receive p50 at 100 msg/s", [lat["p50_ms"] / 1000 for lat in latency])
    p99 = Series("send->receive p99 at 100 msg/s", [lat["p99_ms"] / 1000 for lat in latency])
    floor = [r["floor_loopback_tcp"] for r in runs]
    tcp50 = Series(
        "baseline: loopback TCP round trip p50", [f["p50_ms"] / 1000 for f in floor], baseline_of=p50.name
    )
    tcp99 = Series(
        "baseline: loopback TCP round trip p99", [f["p99_ms"] / 1000 for f in floor], baseline_of=p99.name
    )
    p50.note = p99.note = f"{runs[0]['send_to_receive_latency']['messages']} messages per run"
    sent.note = received.note = completed.note = f"{runs[0]['messages']:,} messages per run"
    return StageResult(
        stage=STAGE,
        series=[sent, received, completed, p50, p99, tcp50, tcp99],
        ratios={
            "send->receive p50 / TCP round trip p50": p50.median / tcp50.median,
            "send->receive p99 / TCP round trip p99": p99.median / tcp99.median,
        },
        targets=[
            at_least(TARGETS[0], sent.median, 2_000, f"{sent.median:,.0f} msg/s"),
            at_least(
                TARGETS[1],
                received.median,
                1_000,
                f"{received.median:,.0f} msg/s receive-and-delete; "
                f"{completed.median:,.0f} msg/s peek-lock + complete",
            ),
            at_most(TARGETS[2], p99.median, 0.020, f"p99 {p99.median * 1000:.1f} ms"),
        ],
    )
