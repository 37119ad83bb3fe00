"""The one place where SDK clients are created: lazily, once per worker, then reused.

The composition root (``bootstrap.py``) calls :func:`build_services` and :func:`build_health_checks`
once, with the settings it read; nothing here reads the environment.

Connections come from :class:`~shared.settings.Connection`: a connection string locally, or
identity-based settings in Azure (a user-assigned managed identity when ``__clientId`` is
set, otherwise ``DefaultAzureCredential``). SDK modules are imported here, inside the
functions, so importing a blueprint stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import suppress
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from shared.errors import ConfigurationError, NotFound, ReadyCheckError, TransientServiceError
from shared.settings import Connection, Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.data.tables import TableClient, TableServiceClient
    from azure.servicebus import ServiceBusClient
    from azure.storage.blob import BlobServiceClient

    from shared.adapters.tables import AzureTableStore
    from shared.ports import Services


# A retry budget of seconds, not minutes: an HTTP caller gets 503 + Retry-After quickly, and a trigger
# fails fast into its own redelivery (the host's blob retries, Service Bus delivery count), which is
# where long waits belong. The SDK defaults (storage: backoff from 15 s; tables: 10 retries) take
# over a minute to give up on an unreachable account.
_STORAGE_RETRIES = 2
_STORAGE_BACKOFF_SECONDS = 0.5
_CONNECT_TIMEOUT_SECONDS = 5
# Large enough for a 10 MiB workbook on a slow link.
_READ_TIMEOUT_SECONDS = 30
_SERVICEBUS_RETRY: dict[str, Any] = {
    "retry_total": 2,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 2,
    "try_timeout": 10,
}
# /api/health answers within this, whatever a dependency does.
HEALTH_TIMEOUT_SECONDS = 5.0


def _table_options(retries: int, timeout: float) -> dict[str, Any]:
    return {
        "retry_total": retries,
        "retry_backoff_factor": _STORAGE_BACKOFF_SECONDS,
        "retry_backoff_max": 2,
        "connection_timeout": min(timeout, _CONNECT_TIMEOUT_SECONDS),
        "read_timeout": timeout,
    }


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
    from azure.storage.blob import BlobServiceClient, LinearRetry

    options: dict[str, Any] = {
        "retry_policy": LinearRetry(
            backoff=1,
            retry_total=_STORAGE_RETRIES,
            random_jitter_range=1,
        ),
        "connection_timeout": _CONNECT_TIMEOUT_SECONDS,
        "read_timeout": _READ_TIMEOUT_SECONDS,
    }
    if connection.connection_string:
        return BlobServiceClient.from_connection_string(connection.connection_string, **options)
    if not connection.blob_uri:
        raise ConfigurationError(
            f"{connection.name}__blobServiceUri is required for an identity-based connection"
        )
    return BlobServiceClient(connection.blob_uri, credential=credential(connection.client_id), **options)


def _table_service(connection: Connection, options: dict[str, Any]) -> TableServiceClient:
    from azure.data.tables import TableServiceClient

    if connection.connection_string:
        return TableServiceClient.from_connection_string(connection.connection_string, **options)
    if connection.table_uri:
        return TableServiceClient(
            connection.table_uri, credential=credential(connection.client_id), **options
        )
    raise ConfigurationError(
        f"{connection.name}__tableServiceUri is required for an identity-based connection"
    )


@lru_cache(maxsize=8)
def table_client(connection: Connection, table: str) -> TableClient:
    """A client of one table (created if missing) of a storage connection."""
    from azure.core.exceptions import ResourceExistsError

    service = _table_service(connection, _table_options(_STORAGE_RETRIES, _READ_TIMEOUT_SECONDS))
    from shared.adapters.tables import translated

    with translated(f"table {table}"), suppress(ResourceExistsError):  # exists after the first start
        service.create_table(table)
    return service.get_table_client(table)


@lru_cache(maxsize=4)
def servicebus(connection: Connection) -> ServiceBusClient:
    """The Service Bus client of a connection (opening links is what costs; senders are reused)."""

    return _servicebus_client(connection, _SERVICEBUS_RETRY)


def _servicebus_client(connection: Connection, options: dict[str, Any]) -> ServiceBusClient:
    from azure.servicebus import ServiceBusClient

    if connection.connection_string:
        return ServiceBusClient.from_connection_string(connection.connection_string, **options)
    if not connection.namespace:
        raise ConfigurationError(
            f"{connection.name}__fullyQualifiedNamespace is required for an identity-based connection"
        )
    return ServiceBusClient(connection.namespace, credential=credential(connection.client_id), **options)


def build_services(settings: Settings) -> Services:
    """The pipeline's real services, built from the settings (the composition root calls this once)."""
    from shared import telemetry
    from shared.adapters.blob_store import AzureBlobStore
    from shared.adapters.core_engine import CoreEngine
    from shared.adapters.messaging import ServiceBusSender
    from shared.adapters.tables import AzureTableStore
    from shared.ports import Services

    telemetry.configure(settings.app_insights_connection)
    return Services(
        tables=AzureTableStore(table_client(settings.storage, settings.table_prefix)),
        blobs=AzureBlobStore(blob_service(settings.storage)),
        sender=ServiceBusSender(servicebus(settings.servicebus), settings.grading_queue),
        engine=CoreEngine(settings),
        clock=SystemClock(),
        settings=settings,
    )


def build_health_checks(settings: Settings) -> dict[str, Callable[[], None]]:
    """One check per backing service, for ``GET /api/health``: each really reaches it, within the timeout."""
    from shared.adapters.messaging import ServiceBusSender
    from shared.adapters.tables import AzureTableStore

    # Clients of their own that do not retry, built on the first check (a bad setting reads as unavailable).
    @cache
    def probe_table() -> AzureTableStore:
        service = _table_service(settings.storage, _table_options(0, HEALTH_TIMEOUT_SECONDS))
        return AzureTableStore(service.get_table_client(settings.table_prefix))

    @cache
    def probe_sender() -> ServiceBusSender:
        # Every ping opens a new link, so a broken namespace is seen at once.
        options = {"retry_total": 0, "try_timeout": HEALTH_TIMEOUT_SECONDS}
        return ServiceBusSender(_servicebus_client(settings.servicebus, options), settings.grading_queue)

    return {
        "storage": _within_timeout("storage", lambda: _storage_answers(probe_table())),
        "servicebus": _within_timeout("Service Bus", lambda: probe_sender().ping()),
    }


def _storage_answers(table: AzureTableStore) -> None:
    try:
        table.ping()
    except NotFound:
        return  # the account answered; the table is created on the app's first write


def _within_timeout(name: str, check: Callable[[], None]) -> Callable[[], None]:
    def bounded() -> None:
        # A thread of its own: a black-holed connection must not hold the health answer past the timeout.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health")
        try:
            pool.submit(check).result(timeout=HEALTH_TIMEOUT_SECONDS)
        except FutureTimeout:
            raise TransientServiceError(
                f"{name} did not answer within {HEALTH_TIMEOUT_SECONDS:g} s"
            ) from None
        except ReadyCheckError:
            raise
        except Exception as err:
            # An SDK error the adapters do not name is still an unreachable dependency.
            raise TransientServiceError(f"{name}: {type(err).__name__}") from err
        finally:
            pool.shutdown(wait=False)

    return bounded


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """Now, timezone-aware UTC."""
        return datetime.now(UTC)
