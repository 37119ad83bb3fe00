"""Table Storage behind :class:`~shared.ports.TableStore`, with ETag match conditions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableTransactionError, UpdateMode

from shared.errors import ConcurrencyConflict, NotFound, ServiceError, TransientServiceError
from shared.ports import StoredEntity, Value

if TYPE_CHECKING:
    from azure.data.tables import TableClient

_KEYS = ("PartitionKey", "RowKey")


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn SDK errors into the app's error tree."""
    try:
        yield
    except TableTransactionError as err:
        # One failed operation fails the whole transaction: an existing row is a race with another writer.
        if err.status_code == 409:
            raise ConcurrencyConflict(f"{what}: a row already exists") from err
        if err.status_code == 412:
            raise ConcurrencyConflict(f"{what}: a row was changed by another writer") from err
        if err.status_code in (408, 429) or (err.status_code or 0) >= 500:
            raise TransientServiceError(f"table storage busy for {what}: {err.message}") from err
        raise ServiceError(f"table storage refused {what}: {err.message}") from err
    except ResourceNotFoundError as err:
        raise NotFound(f"{what} does not exist") from err
    except (ResourceExistsError, ResourceModifiedError) as err:
        raise ConcurrencyConflict(f"{what} was changed by another writer") from err
    except (ServiceRequestError, ServiceResponseError) as err:
        raise TransientServiceError(f"table storage unreachable for {what}: {err}") from err
    except HttpResponseError as err:
        if err.status_code == 412:
            raise ConcurrencyConflict(f"{what} was changed by another writer") from err
        if err.status_code in (408, 429) or (err.status_code or 0) >= 500:
            raise TransientServiceError(f"table storage busy for {what}: {err.message}") from err
        raise ServiceError(f"table storage refused {what}: {err.message}") from err


def _entity(raw: Mapping[str, Any]) -> StoredEntity:
    properties: dict[str, Value] = {}
    for key, value in raw.items():
        if key in _KEYS:
            continue
        # Int64 values come back wrapped (EntityProperty); every other type is plain.
        properties[key] = value.value if hasattr(value, "edm_type") else value
    metadata = getattr(raw, "metadata", {})
    return StoredEntity(
        str(raw["PartitionKey"]), str(raw["RowKey"]), properties, str(metadata.get("etag", ""))
    )


class AzureTableStore:
    """One Azure (or Azurite) table."""

    def __init__(self, client: TableClient) -> None:
        self._client = client

    def get(self, partition_key: str, row_key: str) -> StoredEntity:
        """The entity, or :class:`NotFound`."""
        with translated(f"entity {partition_key}/{row_key}"):
            return _entity(self._client.get_entity(partition_key, row_key))

    def query_partition(self, partition_key: str) -> list[StoredEntity]:
        """Every entity of one partition, in row-key order."""
        with translated(f"partition {partition_key}"):
            rows = self._client.query_entities("PartitionKey eq @pk", parameters={"pk": partition_key})
            return sorted((_entity(r) for r in rows), key=lambda e: e.row_key)

    def insert(self, partition_key: str, row_key: str, properties: Mapping[str, Value]) -> str:
        """Create the entity; :class:`ConcurrencyConflict` if it exists."""
        with translated(f"entity {partition_key}/{row_key}"):
            result = self._client.create_entity(
                {**properties, "PartitionKey": partition_key, "RowKey": row_key}
            )
        return str(result.get("etag", ""))

    def upsert(self, partition_key: str, row_key: str, properties: Mapping[str, Value]) -> str:
        """Create or replace the entity."""
        with translated(f"entity {partition_key}/{row_key}"):
            result = self._client.upsert_entity(
                {**properties, "PartitionKey": partition_key, "RowKey": row_key}, mode=UpdateMode.REPLACE
            )
        return str(result.get("etag", ""))

    def replace(self, partition_key: str, row_key: str, properties: Mapping[str, Value], etag: str) -> str:
        """Replace only if the ETag still matches; :class:`ConcurrencyConflict` otherwise."""
        return self._update_if_unchanged(partition_key, row_key, properties, etag, UpdateMode.REPLACE)

    def merge(self, partition_key: str, row_key: str, properties: Mapping[str, Value], etag: str) -> str:
        """Update only these properties if the ETag still matches; :class:`ConcurrencyConflict` if not."""
        return self._update_if_unchanged(partition_key, row_key, properties, etag, UpdateMode.MERGE)

    def _update_if_unchanged(
        self,
        partition_key: str,
        row_key: str,
        properties: Mapping[str, Value],
        etag: str,
        mode: UpdateMode,
    ) -> str:
        with translated(f"entity {partition_key}/{row_key}"):
            result = self._client.update_entity(
                {**properties, "PartitionKey": partition_key, "RowKey": row_key},
                mode=mode,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        return str(result.get("etag", ""))

    def insert_all(self, partition_key: str, rows: Sequence[tuple[str, Mapping[str, Value]]]) -> None:
        """Create up to 100 rows of one partition atomically; :class:`ConcurrencyConflict` if one exists."""
        with translated(f"rows of partition {partition_key}"):
            self._client.submit_transaction(
                [("create", {**props, "PartitionKey": partition_key, "RowKey": row}) for row, props in rows]
            )

    def upsert_all_and_merge(
        self,
        partition_key: str,
        rows: Sequence[tuple[str, Mapping[str, Value]]],
        row_key: str,
        properties: Mapping[str, Value],
        etag: str,
    ) -> str:
        """Upsert ``rows`` and merge into ``row_key`` (ETag match) atomically; returns its new ETag."""
        operations: list[Any] = [
            ("upsert", {**props, "PartitionKey": partition_key, "RowKey": row}, {"mode": UpdateMode.REPLACE})
            for row, props in rows
        ]
        operations.append(
            (
                "update",
                {**properties, "PartitionKey": partition_key, "RowKey": row_key},
                {"mode": UpdateMode.MERGE, "etag": etag, "match_condition": MatchConditions.IfNotModified},
            )
        )
        with translated(f"rows of partition {partition_key}"):
            results = self._client.submit_transaction(operations)
        return str(results[-1].get("etag", ""))

    def delete(self, partition_key: str, row_key: str) -> None:
        """Delete the entity; a missing one is fine."""
        with translated(f"entity {partition_key}/{row_key}"):
            self._client.delete_entity(partition_key, row_key)

    def ping(self) -> None:
        """Raise unless the table answers (for the health route)."""
        with translated("the state table"):
            next(iter(self._client.query_entities("PartitionKey eq 'health'", results_per_page=1)), None)
