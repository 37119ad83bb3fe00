"""The emulator's command line: bad configuration gets a located message and exit code 2, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.processes import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def _run(config: Path) -> subprocess.CompletedProcess[str]:
    """Run the emulator with ``config``; it should refuse to start."""
    argv = [sys.executable, "-m", "devstack.servicebus_emulator", "--config", str(config)]
    return subprocess.run(
        [*argv, "--port", str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    )


def _config(tmp_path: Path, queue: dict[str, object]) -> Path:
    """A Config.json with one queue entry."""
    path = tmp_path / "Config.json"
    path.write_text(json.dumps({"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [queue]}]}}))
    return path


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        ({"Name": "grading", "Properties": {"LockDuration": "1 minute"}}, "Queues[0] (grading) LockDuration"),
        ({"Name": "grading", "Properties": {"MaxDeliveryCount": 0}}, "MaxDeliveryCount must be at least 1"),
        ({"Name": "grading", "Properties": {"RequiresSession": True}}, "sessions are not emulated"),
        ({"Properties": {}}, "Queues[0]: each queue needs a non-empty string Name"),
        (
            {"Name": "a", "Properties": {"ForwardDeadLetteredMessagesTo": "nowhere"}},
            "ForwardDeadLetteredMessagesTo names an unknown queue 'nowhere'",
        ),
    ],
)
def test_an_invalid_queue_is_reported_with_its_location(
    tmp_path: Path, queue: dict[str, object], expected: str
) -> None:
    result = _run(_config(tmp_path, queue))
    assert result.returncode == 2
    assert expected in result.stderr
    assert str(tmp_path / "Config.json") in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_that_is_not_json_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "Config.json"
    path.write_text('{\n  "UserConfig": {,\n}')
    result = _run(path)
    assert result.returncode == 2
    assert "line 2 column" in result.stderr
    assert "Traceback" not in result.stderr
