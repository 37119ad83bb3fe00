"""The local stack: up brings everything up once and answers, down stops exactly what up started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from azure.storage.blob import BlobServiceClient

from devstack.processes import ServiceStartError, free_port, port_is_open, start_process
from devstack.stack import StackPorts, StackState, down, port_variables, up
from tests.fixtures.functions_host import READYCHECK_PORTS, ROOT
from tests.polling import eventually


def _runs(pid: int, program: str) -> bool:
    return Path(f"/proc/{pid}/cmdline").read_bytes().startswith(program.encode())


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


@pytest.mark.e2e
def test_the_stack_answers_its_health_route_and_runs_the_blob_trigger(
    local_stack: tuple[StackState, Path],
) -> None:
    state, state_file = local_stack
    response = httpx.get(f"http://127.0.0.1:{state.ports.http}/api/health", timeout=10)
    assert response.status_code == 200
    blobs = BlobServiceClient.from_connection_string(state.ports.azurite.connection_string())
    blobs.get_blob_client("answer-sheets", "stack-probe.xlsx").upload_blob(b"not a workbook", overwrite=True)
    log = state_file.parent / "functions.log"
    eventually(lambda: "Executing 'Functions.ingest_workbook'" in log.read_text(), timeout=30)


@pytest.mark.e2e
def test_running_up_twice_does_not_start_a_second_stack(local_stack: tuple[StackState, Path]) -> None:
    state, state_file = local_stack
    again = up(ROOT, state.ports, state_file=state_file)
    assert again.pids == state.pids


@pytest.mark.e2e
def test_a_taken_port_is_named_with_its_variable(
    local_stack: tuple[StackState, Path], tmp_path: Path
) -> None:
    state, _ = local_stack
    taken = StackPorts(**{**state.ports.__dict__, "http": state.ports.blob})
    with pytest.raises(
        ServiceStartError, match=rf"port {state.ports.blob} \(READYCHECK_HTTP_PORT\) is already in use"
    ):
        up(ROOT, taken, variables=READYCHECK_PORTS, state_file=tmp_path / "other" / "stack.json")


def test_down_stops_exactly_the_recorded_processes(tmp_path: Path) -> None:
    recorded = start_process("sleeper", ["sleep", "300"], tmp_path / "sleeper.log")
    stranger = subprocess.Popen(["sleep", "301"])  # a process down must leave alone
    state_file = tmp_path / "stack.json"
    ports = {"http": 1, "blob": 2, "queue": 3, "table": 4, "servicebus": 5}
    document = {
        "ports": ports,
        "pids": {"sleeper": recorded.pid, "reused": stranger.pid},
        # The stranger's PID is recorded for another command, as after PID reuse.
        "commands": {"sleeper": "sleep 300", "reused": "azurite"},
    }
    state_file.write_text(json.dumps(document))
    # Until the children have exec'd, /proc shows the forking interpreter's command line.
    eventually(lambda: all(_runs(p, "sleep") for p in (recorded.pid, stranger.pid)))
    try:
        assert down(state_file) == ["sleeper"]
        recorded.process.wait(timeout=10)
        assert not _alive(recorded.pid)
        assert stranger.poll() is None
        assert not state_file.exists()
    finally:
        stranger.kill()
        stranger.wait()
        recorded.stop()


def test_ports_come_from_the_apps_environment_variables_and_bad_values_are_named() -> None:
    ports = StackPorts.from_env({"READYCHECK_HTTP_PORT": "7072"}, port_variables("READYCHECK"))
    assert (ports.http, ports.blob, ports.servicebus) == (7072, 10000, 5672)
    with pytest.raises(ServiceStartError, match="READYCHECK_QUEUE_PORT must be a TCP port number"):
        StackPorts.from_env({"READYCHECK_QUEUE_PORT": "queue"}, port_variables("READYCHECK"))


def test_without_a_prefix_the_port_variables_are_devstacks_own() -> None:
    assert StackPorts.from_env({"DEVSTACK_HTTP_PORT": "7073"}).http == 7073
    assert StackPorts.from_env({"READYCHECK_HTTP_PORT": "7073"}).http == 7071


def test_up_after_the_host_died_restarts_only_the_host(tmp_path: Path) -> None:
    app = Path(__file__).parent / "apps" / "crash_app"
    ports = StackPorts(
        http=free_port(), blob=free_port(), queue=free_port(), table=free_port(), servicebus=free_port()
    )
    state_file = tmp_path / "stack.json"
    first = up(app, ports, state_file=state_file)
    started = list(first.processes)
    try:
        os.killpg(first.pids["functions"], signal.SIGKILL)
        eventually(lambda: not _alive(first.pids["functions"]) and not port_is_open(ports.http))
        again = up(app, ports, state_file=state_file)
        started += again.processes
        assert again.pids["functions"] != first.pids["functions"]
        assert {n: again.pids[n] for n in ("azurite", "servicebus")} == {
            n: first.pids[n] for n in ("azurite", "servicebus")
        }
        assert httpx.get(f"http://127.0.0.1:{ports.http}/api/end/none", timeout=30).status_code == 200
    finally:
        down(state_file)
        for process in started:
            process.process.wait(timeout=10)
