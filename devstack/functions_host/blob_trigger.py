"""Blob triggers: the polling source (Azurite scan) and the Event Grid source, with receipts and poison."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlparse

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from devstack.functions_host.bindings import BindingRuntime
from devstack.functions_host.config import HostOptions
from devstack.functions_host.expressions import match_blob_path, resolve_settings, split_blob_path
from devstack.functions_host.indexing import FunctionSpec
from devstack.functions_host.invoker import InvocationFailed, Invoker
from devstack.functions_host.logs import HOST_LOGGER

log = logging.getLogger(HOST_LOGGER)
HOSTS_CONTAINER = "azure-webjobs-hosts"
POISON_QUEUE = "webjobs-blobtrigger-poison"
LOCAL_TOPIC = "/subscriptions/local/resourceGroups/local/providers/Microsoft.Storage/storageAccounts"


@dataclass(frozen=True)
class BlobRef:
    """One version of a blob: where it is and its ETag."""

    container: str
    name: str
    etag: str


class BlobTrigger:
    """Processes blob versions once each for one function, across restarts (receipts in storage)."""

    def __init__(
        self,
        spec: FunctionSpec,
        invoker: Invoker,
        runtime: BindingRuntime,
        options: HostOptions,
        hosts_storage: BlobServiceClient,
        poison_queue: Any,
        host_id: str,
    ) -> None:
        self.spec = spec
        self.invoker = invoker
        self.runtime = runtime
        self.options = options
        self.hosts = hosts_storage.get_container_client(HOSTS_CONTAINER)
        self.poison_queue = poison_queue
        self.host_id = host_id
        self.pattern = resolve_settings(str(spec.trigger.get("path", "")), runtime.settings)
        self.container, _ = split_blob_path(self.pattern)
        self.connection = str(spec.trigger.get("connection", ""))
        self._done: set[tuple[str, str]] = set()
        self._running: set[tuple[str, str]] = set()
        self.watch_for_event_grid = (
            runtime.settings.get("FUNCTIONS_HOST_EVENTGRID_WATCHER", "true") != "false"
        )
        self.in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(options.blobs.max_degree_of_parallelism)

    @property
    def event_grid(self) -> bool:
        """True for ``source="EventGrid"`` triggers (fed through the webhook)."""
        return str(self.spec.trigger.get("source", "")).lower() == "eventgrid"

    def _receipt(self, blob: BlobRef) -> Any:
        etag = blob.etag.strip('"')
        return self.hosts.get_blob_client(
            f"blobreceipts/{self.host_id}/Host.Functions.{self.spec.name}/{etag}/{blob.container}/{blob.name}"
        )

    def _read_receipt(self, blob: BlobRef) -> dict[str, str]:
        try:
            return dict(self._receipt(blob).get_blob_properties().metadata)
        except ResourceNotFoundError:
            return {}

    def _write_receipt(self, blob: BlobRef, metadata: dict[str, str]) -> None:
        with contextlib.suppress(ResourceExistsError):
            self.hosts.create_container()
        self._receipt(blob).upload_blob(b"", overwrite=True, metadata=metadata)

    def _changed_blobs(self) -> list[BlobRef]:
        service = self.runtime.connections.blob_service(self.connection)
        prefix = self.pattern.partition("/")[2].split("{", 1)[0]
        container = service.get_container_client(self.container)
        # A missing container raises here, so the listener reports it and retries.
        return [
            BlobRef(self.container, b.name, str(b.etag))
            for b in container.list_blobs(name_starts_with=prefix or None)
            if (b.name, str(b.etag)) not in self._done
        ]

    async def poll_once(self) -> None:
        """Scan the container once and start processing every new or changed blob version."""
        blobs = await self.invoker.in_io(self._changed_blobs)
        for blob in blobs:
            if match_blob_path(self.pattern, blob.container, blob.name) is None:
                self._done.add((blob.name, blob.etag))
                continue
            if (blob.name, blob.etag) in self._running:
                continue
            if self.event_grid and self.watch_for_event_grid:
                # Azurite raises no events: the watcher makes the one Event Grid would deliver.
                url = self.runtime.connections.blob_service(self.connection).url.rstrip("/")
                event = blob_created_event(f"{url}/{blob.container}/{blob.name}", blob.etag, blob.name)
                blob = self.blob_from_event(event) or blob
            self._running.add((blob.name, blob.etag))
            task = asyncio.ensure_future(self._process_guarded(blob))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    async def _process_guarded(self, blob: BlobRef) -> None:
        try:
            async with self._slots:
                await self.process(blob)
        except InvocationFailed:
            pass  # already logged; the next scan retries it until the poison threshold
        except Exception as err:
            log.warning(
                "Blob '%s/%s' for '%s' will be retried: %s",
                blob.container,
                blob.name,
                self.spec.full_name,
                err,
            )
        finally:
            self._running.discard((blob.name, blob.etag))

    async def process(self, blob: BlobRef) -> bool:
        """Invoke the function for one blob version unless its receipt says done; True if it ran now."""
        receipt = await self.invoker.in_io(self._read_receipt, blob)
        if receipt.get("status") in {"Succeeded", "Poisoned"}:
            self._done.add((blob.name, blob.etag))
            return False
        attempts = int(receipt.get("attempts", "0")) + 1
        await self.invoker.in_io(self._write_receipt, blob, {"attempts": str(attempts), "status": "Running"})
        try:
            await self._invoke(blob)
        except InvocationFailed:
            if attempts >= self.options.blobs.poison_blob_threshold:
                await self.invoker.in_io(self._poison, blob, attempts)
                self._done.add((blob.name, blob.etag))
            else:
                await self.invoker.in_io(
                    self._write_receipt, blob, {"attempts": str(attempts), "status": "Failed"}
                )
            raise
        await self.invoker.in_io(
            self._write_receipt, blob, {"attempts": str(attempts), "status": "Succeeded"}
        )
        self._done.add((blob.name, blob.etag))
        return True

    def _poison(self, blob: BlobRef, attempts: int) -> None:
        log.error(
            "Blob '%s/%s' failed %d times in '%s': moved to the '%s' queue",
            blob.container, blob.name, attempts, self.spec.full_name, POISON_QUEUE,
        )  # fmt: skip
        with contextlib.suppress(ResourceExistsError):
            self.poison_queue.create_queue()
        message = {
            "Type": "BlobTrigger",
            "FunctionId": f"Host.Functions.{self.spec.name}",
            "BlobType": "BlockBlob",
            "ContainerName": blob.container,
            "BlobName": blob.name,
            "ETag": blob.etag,
        }
        self.poison_queue.send_message(base64.b64encode(json.dumps(message).encode()).decode())
        self._write_receipt(blob, {"attempts": str(attempts), "status": "Poisoned"})

    async def _invoke(self, blob: BlobRef) -> None:
        data: dict[str, Any] = dict(match_blob_path(self.pattern, blob.container, blob.name) or {})
        client = self.runtime.connections.blob_service(self.connection).get_blob_client(
            blob.container, blob.name
        )

        def download() -> tuple[bytes, dict[str, Any]]:
            downloader = client.download_blob()
            props = downloader.properties
            return downloader.readall(), {
                "Metadata": dict(props.metadata),
                "Properties": {"ETag": props.etag},
            }

        content, details = await self.invoker.in_io(download)
        data.update(details)
        data.update({"BlobTrigger": f"{blob.container}/{blob.name}", "Uri": client.url})
        props = self.runtime.resolved(self.spec.trigger, data) | {"path": f"{blob.container}/{blob.name}"}
        value = self.runtime.blob_value(
            content, props, self.spec.annotations.get(self.spec.trigger.name), client.url
        )
        reason = "EventGrid" if self.event_grid else "New blob detected"
        await self.invoker.invoke(self.spec, value, data, f"{reason}({blob.container}/{blob.name})")

    def blob_from_event(self, event: Mapping[str, Any]) -> BlobRef | None:
        """The blob a BlobCreated event names when it matches this trigger's path, else None."""
        if event.get("eventType") != "Microsoft.Storage.BlobCreated":
            return None
        data = event.get("data") or {}
        path = unquote(urlparse(str(data.get("url", ""))).path).lstrip("/")
        parts = path.split("/")
        # Azurite URLs carry the account name first (/devstoreaccount1/container/blob).
        if len(parts) > 2 and parts[0] == "devstoreaccount1":
            parts = parts[1:]
        container, name = parts[0], "/".join(parts[1:])
        if match_blob_path(self.pattern, container, name) is None:
            return None
        return BlobRef(container, name, str(data.get("eTag", "")))


def blob_created_event(url: str, etag: str, subject: str) -> dict[str, Any]:
    """A BlobCreated event in the Event Grid schema, as the local watcher sends it."""
    return {
        "id": str(uuid.uuid4()),
        "topic": f"{LOCAL_TOPIC}/devstoreaccount1",
        "subject": subject,
        "eventType": "Microsoft.Storage.BlobCreated",
        "eventTime": datetime.now(UTC).isoformat(),
        "dataVersion": "",
        "metadataVersion": "1",
        "data": {"api": "PutBlob", "url": url, "eTag": etag, "blobType": "BlockBlob"},
    }
