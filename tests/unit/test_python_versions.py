"""Every Python Azure Functions runs this app on installs it; any other is refused by name, at once."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from scripts.python_version import SUPPORTED, problem

ROOT = Path(__file__).resolve().parents[2]
NAMES = [f"{major}.{minor}" for major, minor in SUPPORTED]


def pins(path: Path, name: str) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text("utf-8").splitlines())
    requirements = [Requirement(line) for line in lines if line and not line.startswith("-")]
    return [r for r in requirements if r.name.lower() == name]


def test_the_supported_pythons_pass_the_check() -> None:
    assert NAMES == ["3.11", "3.12", "3.13"]
    assert all(problem(version) == "" for version in SUPPORTED)


@pytest.mark.parametrize("version", [(2, 7), (3, 10), (3, 14), (4, 0)])
def test_other_pythons_are_refused_with_the_supported_ones_named(version: tuple[int, int]) -> None:
    message = problem(version)
    assert "needs Python 3.11, 3.12, 3.13" in message
    assert f"this is Python {version[0]}.{version[1]} " in message


def test_the_check_lets_this_python_through_silently() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/python_version.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_the_makefile_checks_the_python_before_making_the_venv() -> None:
    makefile = (ROOT / "Makefile").read_text("utf-8")
    check = "$(PYTHON) scripts/python_version.py\n\t$(PYTHON) -m venv"
    assert makefile.count(check) == 2  # the app's venv and checkov's


@pytest.mark.parametrize("minor", range(8, 16))
def test_requires_python_admits_exactly_the_supported_versions(minor: int) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    admitted = SpecifierSet(pyproject["project"]["requires-python"]).contains(f"3.{minor}.0")
    assert admitted == ((3, minor) in SUPPORTED)


@pytest.mark.parametrize("lock", ["requirements.txt", "constraints.txt"])
@pytest.mark.parametrize("version", SUPPORTED)
def test_each_supported_python_gets_exactly_one_azure_functions_pin(
    lock: str, version: tuple[int, int]
) -> None:
    python = f"{version[0]}.{version[1]}"
    chosen = [
        r
        for r in pins(ROOT / lock, "azure-functions")
        if r.marker is None or r.marker.evaluate({"python_version": python, "python_full_version": python})
    ]
    assert len(chosen) == 1, [str(r) for r in chosen]
    (pin,) = chosen
    # azure-functions 1.x stops before Python 3.13; 2.x requires it.
    assert str(pin.specifier).startswith("==2." if version >= (3, 13) else "==1.")
