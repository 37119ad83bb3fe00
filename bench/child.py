"""Child-process entry: ``python -m bench.child TASK JSON`` prints one JSON line of measurements.

A fresh interpreter per measurement keeps cold imports cold and peak RSS attributable to one reader.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _read(args: dict[str, Any]) -> dict[str, Any]:
    from bench.stages.parsing import READERS

    reader = READERS[args["reader"]]
    # The warm-up pays the reader's lazy imports on a tiny file, so only reading is timed.
    reader(Path(args["warmup"]).read_bytes())
    data = Path(args["path"]).read_bytes()
    start = time.perf_counter()
    reader(data)
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb()}


def _profile(args: dict[str, Any]) -> dict[str, Any]:
    from bench.profiling import top_functions
    from bench.stages.parsing import READERS

    reader = READERS[args["reader"]]
    reader(Path(args["warmup"]).read_bytes())  # the lazy imports, so the profile shows reading only
    data = Path(args["path"]).read_bytes()
    return {"profile": top_functions(lambda: reader(data), top=int(args["top"]))}


def _imports(args: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    for name in args["modules"]:
        __import__(name)
    seconds = time.perf_counter() - start
    heavy = sorted(m for m in args["heavy"] if m in sys.modules)
    return {"seconds": seconds, "heavy_loaded": heavy, "peak_rss_mb": _peak_rss_mb()}


TASKS = {"read": _read, "profile": _profile, "imports": _imports}


def main() -> None:
    """Run one task and print its result as the last line of standard output."""
    task, raw = sys.argv[1], sys.argv[2]
    print(json.dumps(TASKS[task](json.loads(raw))))


if __name__ == "__main__":
    main()
