"""Azurite (blob, queue and table) for the local stack and the tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import ManagedProcess, ServiceStartError, port_is_open, start_process, wait_until

ACCOUNT = "devstoreaccount1"
# The well-known Azurite development key, published in Azure's docs; not a secret.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class AzuritePorts:
    """The three Azurite service ports."""

    blob: int
    queue: int
    table: int

    def connection_string(self, host: str = "127.0.0.1") -> str:
        """A storage connection string for these ports with the development account."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://{host}:{self.blob}/{ACCOUNT};"
            f"QueueEndpoint=http://{host}:{self.queue}/{ACCOUNT};"
            f"TableEndpoint=http://{host}:{self.table}/{ACCOUNT};"
        )


def azurite_binary(project_root: Path) -> str:
    """The Azurite launcher installed by ``npm ci``, else one on PATH."""
    local = project_root / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return str(local)
    found = shutil.which("azurite")
    if found is None:
        raise ServiceStartError("Azurite is not installed: run `npm ci` (make install does it)")
    return found


def start_azurite(
    project_root: Path, data_dir: Path, ports: AzuritePorts, *, in_memory: bool = False
) -> ManagedProcess:
    """Start Azurite with all three services and wait until each port accepts connections."""
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        azurite_binary(project_root),
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--loose",
        "--blobHost", "127.0.0.1", "--blobPort", str(ports.blob),
        "--queueHost", "127.0.0.1", "--queuePort", str(ports.queue),
        "--tableHost", "127.0.0.1", "--tablePort", str(ports.table),
    ]  # fmt: skip
    argv += ["--inMemoryPersistence"] if in_memory else ["--location", str(data_dir)]
    service = start_process("azurite", argv, data_dir / "azurite.log")
    wait_until(
        service,
        lambda: all(port_is_open(p) for p in (ports.blob, ports.queue, ports.table)),
        timeout=60,
    )
    return service
