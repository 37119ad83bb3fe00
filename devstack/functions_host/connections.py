"""Storage and Service Bus clients for the connections bindings name, created once and cached."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from devstack.functions_host.config import HostConfigError, connection_value, identity_settings


class Connections:
    """Clients per connection setting name, built on first use (connection strings or identity)."""

    def __init__(self, settings: Mapping[str, str]) -> None:
        self.settings = settings
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def _cached(self, kind: str, name: str, build: Any) -> Any:
        with self._lock:
            key = (kind, name)
            if key not in self._clients:
                self._clients[key] = build()
            return self._clients[key]

    def _storage_endpoint(self, name: str, service: str) -> str | None:
        """The endpoint of an identity-based storage connection, None for a connection string."""
        identity = identity_settings(self.settings, name or "AzureWebJobsStorage")
        if not identity:
            return None
        if f"{service}ServiceUri" in identity:
            return identity[f"{service}ServiceUri"]
        if service == "blob" and "serviceUri" in identity:
            return identity["serviceUri"]
        if "accountName" in identity:
            return f"https://{identity['accountName']}.{service}.core.windows.net"
        raise HostConfigError(f"connection '{name}' has no {service}ServiceUri or accountName setting")

    def blob_service(self, name: str) -> BlobServiceClient:
        """The blob service client for a connection name (empty means AzureWebJobsStorage)."""

        def build() -> BlobServiceClient:
            endpoint = self._storage_endpoint(name, "blob")
            if endpoint is not None:
                return BlobServiceClient(endpoint, credential=_credential())
            return BlobServiceClient.from_connection_string(connection_value(self.settings, name))

        return self._cached("blob", name, build)  # type: ignore[no-any-return]

    def queue_service(self, name: str) -> QueueServiceClient:
        """The queue service client for a connection name (empty means AzureWebJobsStorage)."""

        def build() -> QueueServiceClient:
            endpoint = self._storage_endpoint(name, "queue")
            if endpoint is not None:
                return QueueServiceClient(endpoint, credential=_credential())
            return QueueServiceClient.from_connection_string(connection_value(self.settings, name))

        return self._cached("queue", name, build)  # type: ignore[no-any-return]

    def table_service(self, name: str) -> TableServiceClient:
        """The table service client for a connection name (empty means AzureWebJobsStorage)."""

        def build() -> TableServiceClient:
            endpoint = self._storage_endpoint(name, "table")
            if endpoint is not None:
                return TableServiceClient(endpoint, credential=_credential())
            return TableServiceClient.from_connection_string(connection_value(self.settings, name))

        return self._cached("table", name, build)  # type: ignore[no-any-return]

    def servicebus_target(self, name: str) -> tuple[str, bool]:
        """(connection string or namespace, True when it is a namespace for identity auth)."""
        identity = identity_settings(self.settings, name)
        if "fullyQualifiedNamespace" in identity and not self.settings.get(name, "").strip():
            return identity["fullyQualifiedNamespace"], True
        return connection_value(self.settings, name, default="AzureWebJobsServiceBus"), False


def _credential() -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()
