"""The one cached place where SDK clients are created: lazily, once per worker, then reused.

Connections come from :class:`~shared.settings.Connection`: a connection string locally, or
identity-based settings in Azure (a user-assigned managed identity when ``__clientId`` is
set, otherwise ``DefaultAzureCredential``). SDK modules are imported here, inside the
functions, so importing a blueprint stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from shared.errors import ConfigurationError
from shared.settings import Connection, get_settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.data.tables import TableClient
    from azure.servicebus import ServiceBusClient
    from azure.storage.blob import BlobServiceClient

    from shared.adapters.messaging import ServiceBusSender
    from shared.adapters.tables import AzureTableStore
    from shared.ports import Services


@lru_cache(maxsize=4)
def credential(client_id: str) -> TokenCredential:
    """The Microsoft Entra credential for identity-based connections."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential()


@lru_cache(maxsize=4)
def blob_service(connection: Connection) -> BlobServiceClient:
    """The Blob service client of a storage connection."""
    from azure.storage.blob import BlobServiceClient

    if connection.connection_string:
        return BlobServiceClient.from_connection_string(connection.connection_string)
    if not connection.blob_uri:
        raise ConfigurationError(
            f"{connection.name}__blobServiceUri is required for an identity-based connection"
        )
    return BlobServiceClient(connection.blob_uri, credential=credential(connection.client_id))


@lru_cache(maxsize=8)
def table_client(connection: Connection, table: str) -> TableClient:
    """A client of one table (created if missing) of a storage connection."""
    from azure.core.exceptions import ResourceExistsError
    from azure.data.tables import TableServiceClient

    if connection.connection_string:
        service = TableServiceClient.from_connection_string(connection.connection_string)
    elif connection.table_uri:
        service = TableServiceClient(connection.table_uri, credential=credential(connection.client_id))
    else:
        raise ConfigurationError(
            f"{connection.name}__tableServiceUri is required for an identity-based connection"
        )
    from shared.adapters.tables import translated

    with translated(f"table {table}"), suppress(ResourceExistsError):  # exists after the first start
        service.create_table(table)
    return service.get_table_client(table)


@lru_cache(maxsize=4)
def servicebus(connection: Connection) -> ServiceBusClient:
    """The Service Bus client of a connection (opening links is what costs; senders are reused)."""
    from azure.servicebus import ServiceBusClient

    if connection.connection_string:
        return ServiceBusClient.from_connection_string(connection.connection_string)
    if not connection.namespace:
        raise ConfigurationError(
            f"{connection.name}__fullyQualifiedNamespace is required for an identity-based connection"
        )
    return ServiceBusClient(connection.namespace, credential=credential(connection.client_id))


@lru_cache(maxsize=1)
def _table_store() -> AzureTableStore:
    from shared.adapters.tables import AzureTableStore

    settings = get_settings()
    return AzureTableStore(table_client(settings.storage, settings.table_prefix))


@lru_cache(maxsize=1)
def _sender() -> ServiceBusSender:
    from shared.adapters.messaging import ServiceBusSender

    settings = get_settings()
    return ServiceBusSender(servicebus(settings.servicebus), settings.grading_queue)


@lru_cache(maxsize=1)
def services() -> Services:
    """The pipeline's real services, built once per worker from the settings."""
    from shared import telemetry
    from shared.adapters.blob_store import AzureBlobStore
    from shared.adapters.core_engine import CoreEngine
    from shared.ports import Services

    settings = get_settings()
    telemetry.configure(settings.app_insights_connection)
    return Services(
        tables=_table_store(),
        blobs=AzureBlobStore(blob_service(settings.storage)),
        sender=_sender(),
        engine=CoreEngine(settings),
        clock=SystemClock(),
        settings=settings,
    )


def health_checks() -> dict[str, Callable[[], None]]:
    """One check per backing service, for ``GET /api/health``."""
    return {"storage": lambda: _table_store().ping(), "servicebus": lambda: _sender().ping()}


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """Now, timezone-aware UTC."""
        return datetime.now(UTC)
