"""Write a run's results: ``results.json``, the Markdown table ``results.md`` and ``pipeline.png``."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import Series, StageResult


def write_all(out: Path, stages: Sequence[StageResult], meta: dict[str, Any]) -> list[Path]:
    """Write every output for these stage results into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    meta = meta | {
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {_cpu_count()} cores",
        "load_average_at_end": round(os.getloadavg()[0], 2),
    }
    json_path, md_path, png_path = out / "results.json", out / "results.md", out / "pipeline.png"
    json_path.write_text(json.dumps({"meta": meta, "stages": [s.to_dict() for s in stages]}, indent=2) + "\n")
    md_path.write_text(markdown(stages, meta))
    chart(stages, png_path)
    return [json_path, md_path, png_path]


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def _value(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.3g} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:,.0f} {unit}"


def markdown(stages: Sequence[StageResult], meta: dict[str, Any]) -> str:
    """The results as Markdown: targets first, then every series with its spread and ratios."""
    lines = [
        "# ReadyCheck benchmark results",
        "",
        f"Run {meta['finished']} on {meta['machine']}, Python {meta['python']} (1-minute load average "
        f"{meta['load_average_at_start']} at the start, {meta['load_average_at_end']} at the end); "
        f"{meta['repeat']} repetition(s) per measurement{', --quick inputs' if meta['quick'] else ''}. "
        "Medians; the machine is shared, so compare figures within one run."
        + (
            f" Only {', '.join(meta['rerun'])} ran now; other stages are from the run of {meta['kept_from']}."
            if meta.get("kept_from")
            else ""
        ),
        "",
        "## Targets",
        "",
        "| stage | target | measured | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for stage in stages:
        lines += [f"| {stage.stage} | {t.text} | {t.measured} | **{t.verdict}** |" for t in stage.targets]
    lines += [
        "",
        "## Measurements",
        "",
        "| stage | measurement | median | min | max | runs | peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for stage in stages:
        if stage.unavailable:
            lines.append(f"| {stage.stage} | not available: {stage.unavailable} | | | | | |")
        for s in stage.series:
            rss = f"{s.peak_rss_mb:.0f} MB" if s.peak_rss_mb is not None else ""
            name = f"{s.name} ({s.note})" if s.note else s.name
            lines.append(
                f"| {stage.stage} | {name} | {_value(s.median, s.unit)} | {_value(min(s.samples), s.unit)} "
                f"| {_value(max(s.samples), s.unit)} | {len(s.samples)} | {rss} |"
            )
    ratios = [(stage.stage, name, value) for stage in stages for name, value in stage.ratios.items()]
    if ratios:
        lines += [
            "",
            "## Ratios (of medians, same run)",
            "",
            "| stage | ratio | value |",
            "| --- | --- | --- |",
        ]
        lines += [f"| {stage} | {name} | {value:.2f}x |" for stage, name, value in ratios]
    profiles = [(stage.stage, stage.profile) for stage in stages if stage.profile]
    if profiles:
        lines += ["", "## Where the time goes", ""]
        lines += [f"- **{stage}**: {profile}" for stage, profile in profiles]
    return "\n".join(lines) + "\n"


_COLOURS = {"baseline": "#9e9e9e", "reference": "#a9c7e8", "ReadyCheck": "#0078d4"}


def _label(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def chart(stages: Sequence[StageResult], path: Path) -> None:
    """A horizontal bar chart of every latency median (log scale), min-max as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars: list[tuple[str, Series]] = [
        (stage.stage, s) for stage in stages for s in stage.series if s.unit == "s"
    ]
    fig, ax = plt.subplots(figsize=(13, 0.32 * max(len(bars), 4) + 1.4), layout="constrained")
    labels = [_label(f"{stage}: {s.name}") for stage, s in bars]
    medians = [s.median for _, s in bars]
    spread = [
        [s.median - min(s.samples) for _, s in bars],
        [max(s.samples) - s.median for _, s in bars],
    ]
    colours = [_COLOURS.get(s.name.split(":")[0], _COLOURS["ReadyCheck"]) for _, s in bars]
    ax.barh(range(len(bars)), medians, xerr=spread, color=colours, capsize=2)
    ax.set_yticks(range(len(bars)), labels, fontsize=8)
    ax.invert_yaxis()
    if bars:
        ax.set_xscale("log")
    ax.set_xlabel(
        "seconds, median on a log scale (blue ReadyCheck, grey baseline, light reference; bars min..max)"
    )
    ax.set_title("ReadyCheck stage latencies")
    fig.savefig(path, dpi=100)
    plt.close(fig)
