"""Start the emulator as a child process and build connection strings for it."""

from __future__ import annotations

import sys
from pathlib import Path

from devstack.processes import ManagedProcess, start_process, wait_until
from devstack.servicebus_emulator.startup_probe import cbs_answers


def connection_string(port: int, host: str = "127.0.0.1") -> str:
    """The Service Bus connection string for an emulator (the key is ignored but must be present)."""
    return (
        f"Endpoint=sb://{host}:{port};SharedAccessKeyName=RootManageSharedAccessKey;"
        "SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;"
    )


def start_servicebus_emulator(
    config: Path,
    port: int,
    log_path: Path,
    *,
    data_dir: Path | None = None,
    timeout: float = 30.0,
) -> ManagedProcess:
    """Start ``python -m devstack.servicebus_emulator`` and wait until CBS answers on ``port``."""
    argv = [
        sys.executable,
        "-m",
        "devstack.servicebus_emulator",
        "--config",
        str(config),
        "--port",
        str(port),
    ]
    if data_dir is not None:
        argv += ["--data", str(data_dir)]
    project_root = Path(__file__).resolve().parents[2]
    service = start_process("servicebus-emulator", argv, log_path, cwd=project_root)
    wait_until(service, lambda: cbs_answers(port), timeout=timeout, interval=0.05)
    return service
