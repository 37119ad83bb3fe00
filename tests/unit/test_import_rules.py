"""The layers' import rules (the import-linter contracts in pyproject.toml) hold, and each can break."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = ("shared", "blueprints", "devstack", "readycheck_cli")


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=where, capture_output=True, text=True, timeout=120, check=False
    )


def test_every_layer_keeps_its_import_rules() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "forbidden_import"),
    [
        ("shared/report.py", "import shared.adapters.docx_report"),
        ("shared/grading.py", "import readycheck_cli.commands"),
        ("shared/bank.py", "import azure.functions"),
        ("shared/adapters/blob_store.py", "import blueprints.health"),
        ("blueprints/health.py", "import devstack.stack"),
        ("readycheck_cli/commands.py", "import devstack.processes"),
    ],
)
def test_a_forbidden_import_breaks_the_rules(tmp_path: Path, module: str, forbidden_import: str) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / module).open("a", encoding="utf-8") as source:
        source.write(f"\n{forbidden_import}\n")
    done = lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" not in done.stdout
    importer = module.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {forbidden_import.removeprefix('import ')}" in done.stdout
