"""Where the time goes: the top functions of a cProfile run, as one line for the results."""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable


def top_functions(call: Callable[[], object], top: int = 6) -> str:
    """Profile one call and name the functions with the most own time, with their share."""
    profiler = cProfile.Profile()
    profiler.runcall(call)
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values()) or 1.0  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]  # type: ignore[attr-defined]
    return "; ".join(
        f"{func}:{line} ({path.rsplit('/', 1)[-1]}) {own / total:.0%}"
        for (path, line, func), (_, _, own, *_) in rows
    )
