"""The local stack: Azurite, the Service Bus emulator and an app on the local host, up and down.

``python -m devstack.stack up|down|status [--app-dir DIR] [--port-env-prefix P] [--servicebus-config F]``.
State (PIDs, ports and logs) lives in ``DIR/.devstack/``; ``down`` stops exactly the recorded PIDs;
``up`` on a stack whose parts died restarts those parts. The stack knows no particular app: the
port variables' prefix and the emulator's entity file are parameters.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from devstack.azurite import AzuritePorts, start_azurite
from devstack.functions_host.config import HostConfigError, load_app_settings
from devstack.functions_host.connections import Connections
from devstack.functions_host.indexing import load_function_app
from devstack.functions_host.provisioning import create_storage_resources, required_resources
from devstack.processes import ManagedProcess, ServiceStartError, port_is_open, start_process, wait_until
from devstack.servicebus_emulator import connection_string, start_servicebus_emulator

SERVICES = ("azurite", "servicebus", "functions")
DEFAULT_PORTS = {"http": 7071, "blob": 10000, "queue": 10001, "table": 10002, "servicebus": 5672}
DEFAULT_PORT_ENV_PREFIX = "DEVSTACK"
# Which port each service needs free before it starts.
_SERVICE_PORTS = {
    "azurite": ("blob", "queue", "table"),
    "servicebus": ("servicebus",),
    "functions": ("http",),
}


def port_variables(prefix: str = DEFAULT_PORT_ENV_PREFIX) -> dict[str, str]:
    """The environment variable naming each port: ``<PREFIX>_HTTP_PORT`` and so on."""
    return {name: f"{prefix}_{name.upper()}_PORT" for name in DEFAULT_PORTS}


def default_state_file(app_dir: Path) -> Path:
    """Where the stack of ``app_dir`` records its processes: ``app_dir/.devstack/stack.json``."""
    return app_dir / ".devstack" / "stack.json"


@dataclass(frozen=True)
class StackPorts:
    """Every port of the local stack."""

    http: int
    blob: int
    queue: int
    table: int
    servicebus: int

    @classmethod
    def from_env(cls, env: Mapping[str, str], variables: Mapping[str, str] | None = None) -> StackPorts:
        """Ports from the given variables (``port_variables()`` by default), the usual ports otherwise."""
        variables = variables or port_variables()
        values = {}
        for field_name, default in DEFAULT_PORTS.items():
            variable = variables[field_name]
            raw = env.get(variable, "").strip() or str(default)
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise ServiceStartError(f"{variable} must be a TCP port number, got {raw!r}")
            values[field_name] = int(raw)
        return cls(**values)

    @property
    def azurite(self) -> AzuritePorts:
        """Azurite's three ports."""
        return AzuritePorts(blob=self.blob, queue=self.queue, table=self.table)

    def servicebus_connection_string(self) -> str:
        """The connection string of the local Service Bus emulator on its port."""
        return connection_string(self.servicebus)


@dataclass
class StackState:
    """What ``up`` started: process ids with the command each ran, and the ports."""

    ports: StackPorts
    pids: dict[str, int]
    commands: dict[str, str]
    # Handles of the processes this call started; a caller that outlives them reaps them after down().
    processes: list[ManagedProcess] = field(default_factory=list, repr=False, compare=False)


def local_overrides(settings: Mapping[str, str], ports: StackPorts) -> dict[str, str]:
    """Point every development-storage and emulator setting at the stack's actual ports."""
    overrides = {}
    for key, value in settings.items():
        compact = value.replace(" ", "")
        if compact == "UseDevelopmentStorage=true":
            overrides[key] = ports.azurite.connection_string()
        elif "UseDevelopmentEmulator=true" in compact:
            overrides[key] = ports.servicebus_connection_string()
    return overrides


def _alive(pid: int, command: str) -> bool:
    """True when ``pid`` still runs the recorded command (so a reused PID is never touched)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return command in cmdline


def read_state(state_file: Path) -> StackState | None:
    """The recorded stack, None when there is none."""
    if not state_file.exists():
        return None
    document = json.loads(state_file.read_text())
    return StackState(StackPorts(**document["ports"]), document["pids"], document["commands"])


def _write_state(state: StackState, state_file: Path) -> None:
    state_file.parent.mkdir(parents=True, exist_ok=True)
    document = {"ports": asdict(state.ports), "pids": state.pids, "commands": state.commands}
    state_file.write_text(json.dumps(document, indent=2))


def _check_ports_free(ports: StackPorts, variables: Mapping[str, str], services: list[str]) -> None:
    needed = {field_name for service in services for field_name in _SERVICE_PORTS[service]}
    for field_name in (f for f in DEFAULT_PORTS if f in needed):
        port = getattr(ports, field_name)
        variable = variables[field_name]
        if port_is_open(port):
            raise ServiceStartError(
                f"port {port} ({variable}) is already in use: stop what uses it, "
                f"or pick another port, e.g. {variable}={port + 100}"
            )


def _empty_servicebus_config(path: Path) -> Path:
    """An emulator configuration with one namespace and no entities, for apps without Service Bus."""
    document = {"UserConfig": {"Namespaces": [{"Name": "sbemulatorns", "Queues": [], "Topics": []}]}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))
    return path


def _host_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/admin/host/ping", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def up(
    app_dir: Path,
    ports: StackPorts,
    *,
    servicebus_config: Path | None = None,
    variables: Mapping[str, str] | None = None,
    use_func: bool = False,
    state_file: Path | None = None,
) -> StackState:
    """Start what is not running of Azurite, the emulator and the app; wait for each; record PIDs.

    A recorded stack whose parts all run is left alone; parts that died are started again on the
    recorded ports, the live ones are kept.
    """
    variables = variables or port_variables()
    state_file = state_file or default_state_file(app_dir)
    existing = read_state(state_file)
    running: dict[str, int] = {}
    commands: dict[str, str] = {}
    if existing is not None:
        running = {n: p for n, p in existing.pids.items() if _alive(p, existing.commands[n])}
        commands = {n: existing.commands[n] for n in running}
        if set(running) == set(SERVICES):
            print(f"The local stack is already running (PIDs {sorted(running.values())}).")
            return existing
        if running:
            ports = existing.ports
            print(f"Restarting what is not running: {', '.join(s for s in SERVICES if s not in running)}")
    missing = [service for service in SERVICES if service not in running]
    _check_ports_free(ports, variables, missing)
    data = state_file.parent
    started: list[ManagedProcess] = []
    created: list[str] = []
    try:
        if "azurite" in missing:
            started.append(start_azurite(app_dir, data / "azurite", ports.azurite))
            commands["azurite"] = "azurite"
        if "servicebus" in missing:
            config = servicebus_config or _empty_servicebus_config(data / "servicebus-config.json")
            started.append(
                start_servicebus_emulator(
                    config, ports.servicebus, data / "servicebus.log", data_dir=data / "servicebus"
                )
            )
            commands["servicebus"] = "devstack.servicebus_emulator"
        if "functions" in missing:
            settings, _ = load_app_settings(app_dir, {}, os.environ)
            overrides = local_overrides(settings, ports)
            functions = load_function_app(app_dir, settings | overrides)
            created = create_storage_resources(
                required_resources(functions, settings | overrides), Connections(settings | overrides)
            )
            host = _start_app(app_dir, ports.http, overrides, use_func, data / "functions.log")
            started.append(host)
            commands["functions"] = "func" if use_func else "devstack.functions_host"
            ready = (lambda: port_is_open(ports.http)) if use_func else (lambda: _host_ready(ports.http))
            wait_until(host, ready, timeout=60)
    except BaseException:
        for service in reversed(started):
            service.stop()
        raise
    new_names = [name for name in SERVICES if name in missing]
    pids = running | {name: s.pid for name, s in zip(new_names, started, strict=True)}
    state = StackState(ports, {n: pids[n] for n in SERVICES}, commands, started)
    _write_state(state, state_file)
    _print_endpoints(ports, created, data)
    return state


def _start_app(
    app_dir: Path, port: int, overrides: Mapping[str, str], use_func: bool, log_path: Path
) -> ManagedProcess:
    if use_func:
        func = shutil.which("func")
        if func is None:
            raise ServiceStartError("`func` (Core Tools) is not on the PATH: run `make up` without FUNC=1")
        # Core Tools lets environment variables win over local.settings.json.
        env = dict(os.environ) | dict(overrides)
        return start_process(
            "func start", [func, "start", "--port", str(port)], log_path, env=env, cwd=app_dir
        )
    argv = [sys.executable, "-m", "devstack.functions_host", "--app-dir", str(app_dir), "--port", str(port)]
    for key, value in overrides.items():
        argv += ["--setting", f"{key}={value}"]
    # The host runs in the app's folder; devstack stays importable even when it is not installed.
    package_root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ) | {"PYTHONPATH": path}
    return start_process("functions host", argv, log_path, env=env, cwd=app_dir)


def _print_endpoints(ports: StackPorts, created: list[str], data: Path) -> None:
    print("The local stack is up:")
    print(f"  Functions      http://127.0.0.1:{ports.http}/  (functions: /admin/functions)")
    print(f"  Blob storage   http://127.0.0.1:{ports.blob}/devstoreaccount1")
    print(f"  Queue storage  http://127.0.0.1:{ports.queue}/devstoreaccount1")
    print(f"  Table storage  http://127.0.0.1:{ports.table}/devstoreaccount1")
    print(f"  Service Bus    amqp://127.0.0.1:{ports.servicebus}")
    print(f"  Storage resources: {', '.join(created) or 'none'}")
    print(f"  Logs: {data}/*.log")


def down(state_file: Path, timeout: float = 15.0) -> list[str]:
    """Stop the recorded processes (their process groups), newest first; return what was stopped."""
    state = read_state(state_file)
    if state is None:
        return []
    stopped = []
    for name, pid in reversed(list(state.pids.items())):
        if not _alive(pid, state.commands[name]):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid, state.commands[name]) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid, state.commands[name]):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        stopped.append(name)
    state_file.unlink()
    return stopped


def main(argv: list[str] | None = None) -> int:
    """The ``up``, ``down`` and ``status`` commands, with plain error messages."""
    parser = argparse.ArgumentParser(prog="devstack-stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--app-dir", type=Path, default=Path.cwd(), help="the app (default: here)")
    parser.add_argument(
        "--port-env-prefix",
        default=DEFAULT_PORT_ENV_PREFIX,
        help="ports come from <PREFIX>_HTTP_PORT, _BLOB_PORT, _QUEUE_PORT, _TABLE_PORT, _SERVICEBUS_PORT",
    )
    parser.add_argument(
        "--servicebus-config",
        type=Path,
        default=None,
        help="the emulator's Config.json (default: no entities)",
    )
    parser.add_argument("--func", action="store_true", help="run the app with Core Tools (`func start`)")
    args = parser.parse_args(argv)
    app_dir = args.app_dir.resolve()
    state_file = default_state_file(app_dir)
    try:
        if args.command == "up":
            variables = port_variables(args.port_env_prefix)
            up(
                app_dir,
                StackPorts.from_env(os.environ, variables),
                servicebus_config=args.servicebus_config,
                variables=variables,
                use_func=args.func,
                state_file=state_file,
            )
        elif args.command == "down":
            stopped = down(state_file)
            print(f"Stopped: {', '.join(stopped)}" if stopped else "The local stack is not running.")
        else:
            state = read_state(state_file)
            running = {
                n: p
                for n, p in (state.pids if state else {}).items()
                if state and _alive(p, state.commands[n])
            }
            print(json.dumps({"running": running, "ports": asdict(state.ports) if state else None}, indent=2))
    except (ServiceStartError, HostConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
