"""The devstack installs as its own package (``pip install ./devstack``) and its commands run an app."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx
import pytest

from devstack.processes import free_port, start_process, wait_until
from tests.fixtures.functions_host import ROOT, host_answers
from tests.integration.functions_host.conftest import APPS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with devstack installed from a copy of its folder; its bin directory."""
    folder = tmp_path_factory.mktemp("package")
    source = folder / "devstack"
    shutil.copytree(
        ROOT / "devstack", source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info")
    )
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # The dependencies come from the test run's own environment: no network, no index.
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-build-isolation", "--no-index", str(source)],
        check=True,
    )  # fmt: skip
    return venv / "bin"


def test_the_package_is_imported_from_the_venv_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [installed / "python", "-c", "import devstack; print(devstack.__file__)"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
    ).stdout  # fmt: skip
    assert where.startswith(str(installed.parent))


@pytest.mark.parametrize(
    "command", ["devstack-functions-host", "devstack-servicebus-emulator", "devstack-stack"]
)
def test_each_console_script_runs(installed: Path, command: str, tmp_path: Path) -> None:
    done = subprocess.run([installed / command, "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0
    assert "usage:" in done.stdout


def test_the_installed_host_serves_an_ordinary_app(
    installed: Path, tmp_path: Path, storage_settings: dict[str, str]
) -> None:
    port = free_port()
    argv = [str(installed / "devstack-functions-host"), "--app-dir", str(APPS / "crash_app")]
    argv += ["--port", str(port), "--setting", f"Storage={storage_settings['Storage']}"]
    argv += ["--setting", f"AzureWebJobsStorage={storage_settings['AzureWebJobsStorage']}"]
    host = start_process(
        "installed host", argv, tmp_path / "host.log", env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(host, lambda: host_answers(url), timeout=30)
        answer = httpx.get(f"{url}/api/end/none", timeout=30)
        assert (answer.status_code, answer.text.startswith("worker ")) == (200, True)
    finally:
        host.stop()
