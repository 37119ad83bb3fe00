"""What the worker imports to index the app, and what the status and report routes pull in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "matplotlib", "openpyxl", "docx", "fastexcel", "azure.storage.blob", "azure.servicebus")


def _modules_after(code: str) -> set[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_indexing_the_app_imports_no_heavy_library() -> None:
    loaded = _modules_after("import function_app; function_app.app.get_functions()")
    assert [m for m in HEAVY if m in loaded] == []


def test_the_status_and_report_handlers_never_import_pandas_matplotlib_or_openpyxl() -> None:
    loaded = _modules_after("import function_app, shared.api_handlers, shared.http_results")
    assert [m for m in ("pandas", "matplotlib", "openpyxl") if m in loaded] == []
