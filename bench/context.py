"""What every benchmark is handed: where things are, how hard to run, and a child-process runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class BenchError(RuntimeError):
    """A benchmark could not complete; the message says which step and why."""


@dataclass(frozen=True)
class Context:
    """Run options shared by every benchmark."""

    inputs: Path
    out: Path
    repeat: int
    quick: bool

    def rows(self, full: int) -> int:
        """Respondent count for an input: ``full`` normally, a handful with ``--quick``."""
        return min(full, 20) if self.quick else full


def child_env() -> dict[str, str]:
    """The environment for child interpreters: the project importable, no stray bytecode writes."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_child(
    task: str, args: dict[str, Any], *, env: dict[str, str] | None = None, timeout: float = 600
) -> dict[str, Any]:
    """Run ``bench.child`` TASK in a fresh interpreter and return the JSON it prints last."""
    argv = [sys.executable, "-m", "bench.child", task, json.dumps(args)]
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            env=child_env() | (env or {}),
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"{task} did not finish within {timeout:.0f} s") from err
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise BenchError(f"{task} exited with {proc.returncode}: {tail}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
