"""The ``readycheck`` command: declared in pyproject.toml, installed by make, named by the docs."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from readycheck_cli.commands import main

ROOT = Path(__file__).resolve().parents[2]
INSTALLED = Path(sys.executable).with_name("readycheck")
DOCUMENTS = ["README.md", "Makefile", *(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]


def test_pyproject_declares_the_readycheck_command_on_the_command_lines_main() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert pkgutil.resolve_name(pyproject["project"]["scripts"]["readycheck"]) is main


def test_make_installs_the_project_so_the_command_exists() -> None:
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert (
        "$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e ."
        in makefile
    )


@pytest.mark.skipif(not INSTALLED.exists(), reason="`make install` installs the readycheck command")
def test_the_installed_command_runs_from_anywhere_and_rejects_a_broken_workbook(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    done = subprocess.run(
        [str(INSTALLED), "grade", str(broken), "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"error: {broken} was rejected: " in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_docs_and_the_makefile_name_the_readycheck_command(document: str) -> None:
    text = (ROOT / document).read_text("utf-8")
    assert "python -m shared " not in text
    assert "shared.offline_grader" not in text


def test_the_readme_and_make_targets_run_the_readycheck_command() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert "`readycheck grade FILE.xlsx --out DIR`" in readme
    assert "`readycheck template --out FILE`" in readme
    assert '$(BIN)/readycheck grade "$$f"' in makefile
    assert "$(BIN)/readycheck template --out answer-sheet-template.xlsx" in makefile
