"""What a benchmark yields: timed series, ratios against baselines and target verdicts."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """Whether a target holds in this run."""

    MET = "met"
    MISSED = "missed"
    NOT_AVAILABLE = "not available"
    NOT_JUDGED = "not judged (--quick)"


@dataclass
class Series:
    """Repeated measurements of one quantity (seconds unless ``unit`` says otherwise)."""

    name: str
    samples: list[float]
    unit: str = "s"
    baseline_of: str | None = None
    peak_rss_mb: float | None = None
    note: str = ""

    @property
    def median(self) -> float:
        """The median sample, the figure every comparison uses."""
        return statistics.median(self.samples)

    def to_dict(self) -> dict[str, Any]:
        """The series with its summary statistics, ready for JSON."""
        return asdict(self) | {"median": self.median, "min": min(self.samples), "max": max(self.samples)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Series:
        """A series read back from ``results.json``."""
        return cls(**{k: data[k] for k in ("name", "samples", "unit", "baseline_of", "peak_rss_mb", "note")})


@dataclass
class Target:
    """One target of the issue and how this run measured against it."""

    text: str
    verdict: Verdict
    measured: str

    def to_dict(self) -> dict[str, Any]:
        """The target as plain JSON-ready data."""
        return {"text": self.text, "verdict": str(self.verdict), "measured": self.measured}


@dataclass
class StageResult:
    """Everything one benchmark measured, or why it could not run."""

    stage: str
    series: list[Series] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    unavailable: str | None = None
    profile: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The stage as plain JSON-ready data."""
        return {
            "stage": self.stage,
            "unavailable": self.unavailable,
            "series": [s.to_dict() for s in self.series],
            "ratios": self.ratios,
            "targets": [t.to_dict() for t in self.targets],
            "profile": self.profile,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageResult:
        """A stage read back from ``results.json``."""
        return cls(
            stage=data["stage"],
            series=[Series.from_dict(s) for s in data["series"]],
            targets=[Target(t["text"], Verdict(t["verdict"]), t["measured"]) for t in data["targets"]],
            ratios=data["ratios"],
            unavailable=data["unavailable"],
            profile=data["profile"],
        )


def unavailable(stage: str, reason: str, targets: list[str]) -> StageResult:
    """A stage that could not run, its targets marked so instead of faked."""
    return StageResult(
        stage=stage,
        unavailable=reason,
        targets=[Target(t, Verdict.NOT_AVAILABLE, reason) for t in targets],
    )


def at_most(text: str, value: float, limit: float, shown: str) -> Target:
    """A target met when ``value <= limit``."""
    return Target(text, Verdict.MET if value <= limit else Verdict.MISSED, shown)


def at_least(text: str, value: float, limit: float, shown: str) -> Target:
    """A target met when ``value >= limit``."""
    return Target(text, Verdict.MET if value >= limit else Verdict.MISSED, shown)


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of a non-empty sample."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]
