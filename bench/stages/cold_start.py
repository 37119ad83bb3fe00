"""Cold start: ``import function_app`` in a fresh interpreter, against the imports it must avoid."""

from __future__ import annotations

import subprocess
import sys

from bench.context import ROOT, Context, child_env, run_child
from bench.measure import Series, StageResult, Target, Verdict, at_most, unavailable

STAGE = "cold start"
TARGETS = [
    "`import function_app` <= 0.5 s",
    "importing the app loads none of pandas, matplotlib, openpyxl",
]
HEAVY = ["pandas", "matplotlib", "openpyxl", "fastexcel", "docx"]
# Settings the app may read at import; the ports are closed on purpose, nothing is contacted.
_IMPORT_ENV = {
    "READYCHECK_STORAGE": "UseDevelopmentStorage=true",
    "READYCHECK_SERVICEBUS": "Endpoint=sb://127.0.0.1:9;SharedAccessKeyName=bench;SharedAccessKey=bench;"
    "UseDevelopmentEmulator=true",
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
}
CANDIDATES = {
    "import function_app": ["function_app"],
    "baseline: import azure.functions": ["azure.functions"],
    "baseline: import pandas + matplotlib.pyplot + openpyxl": ["pandas", "matplotlib.pyplot", "openpyxl"],
}


def run(ctx: Context) -> StageResult:
    """Time each import set in fresh interpreters, interleaved round by round."""
    if not (ROOT / "function_app.py").exists():
        return unavailable(STAGE, "function_app.py does not exist", TARGETS)
    samples: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    heavy_loaded: set[str] = set()
    for _ in range(ctx.repeat):
        for name, modules in CANDIDATES.items():
            result = run_child("imports", {"modules": modules, "heavy": HEAVY}, env=_IMPORT_ENV, timeout=120)
            samples[name].append(result["seconds"])
            if name == "import function_app":
                heavy_loaded.update(result["heavy_loaded"])
    app = Series("import function_app", samples["import function_app"])
    floor = Series("baseline: import azure.functions", samples["baseline: import azure.functions"])
    heavy = Series(
        "baseline: import pandas + matplotlib.pyplot + openpyxl",
        samples["baseline: import pandas + matplotlib.pyplot + openpyxl"],
        baseline_of=app.name,
    )
    floor.baseline_of = app.name
    forbidden = sorted(heavy_loaded & {"pandas", "matplotlib", "openpyxl"})
    return StageResult(
        stage=STAGE,
        series=[app, floor, heavy],
        ratios={
            "function_app / azure.functions floor": app.median / floor.median,
            "function_app / heavy imports": app.median / heavy.median,
        },
        targets=[
            at_most(TARGETS[0], app.median, 0.5, f"{app.median:.3f} s median"),
            Target(
                TARGETS[1],
                Verdict.MISSED if forbidden else Verdict.MET,
                f"loaded at import: {', '.join(sorted(heavy_loaded)) or 'none of ' + ', '.join(HEAVY)}",
            ),
        ],
        profile=import_profile(),
    )


def import_profile(top: int = 8) -> str:
    """The costliest imports under ``import function_app``, from ``python -X importtime``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import function_app"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=child_env() | _IMPORT_ENV,
        timeout=120,
        check=False,
    )
    rows: list[tuple[int, str]] = []
    children: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        # Python lists an import's children before it, indented two spaces deeper.
        depth = (len(parts[2]) - len(parts[2].lstrip()) - 1) // 2
        name = parts[2].strip()
        if depth == 1:
            children.append((int(parts[1]), name))
        elif depth == 0:
            rows = children if name == "function_app" else rows
            children = []
    rows.sort(reverse=True)
    return "; ".join(f"{name} {micros / 1000:.0f} ms" for micros, name in rows[:top])
