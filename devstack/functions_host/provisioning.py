"""The storage resources an app's bindings name, and creating them idempotently."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from azure.core.exceptions import ResourceExistsError

from devstack.functions_host.connections import Connections
from devstack.functions_host.expressions import resolve_settings, split_blob_path
from devstack.functions_host.indexing import Binding, FunctionSpec


@dataclass
class Resources:
    """Containers, queues and tables per storage connection name; Service Bus entities by name."""

    containers: dict[str, set[str]] = field(default_factory=dict)
    queues: dict[str, set[str]] = field(default_factory=dict)
    tables: dict[str, set[str]] = field(default_factory=dict)
    servicebus_entities: set[str] = field(default_factory=set)


def _static(name: str) -> str | None:
    """A name without ``{...}`` expressions, else None (it is only known per invocation)."""
    return None if "{" in name else name


def required_resources(functions: Iterable[FunctionSpec], settings: Mapping[str, str]) -> Resources:
    """Every fixed container, queue, table and Service Bus entity the functions' bindings name."""
    found = Resources()
    for spec in functions:
        for binding in (spec.trigger, *spec.inputs, *spec.outputs):
            _collect(binding, settings, found)
    return found


def _collect(binding: Binding, settings: Mapping[str, str], found: Resources) -> None:
    connection = str(binding.get("connection", "") or "AzureWebJobsStorage")
    kind = binding.type.removesuffix("Trigger")
    if kind == "blob" and binding.get("path"):
        container = _static(split_blob_path(resolve_settings(str(binding.get("path")), settings))[0])
        if container:
            found.containers.setdefault(connection, set()).add(container)
    elif kind == "queue" and binding.get("queueName"):
        queue = _static(resolve_settings(str(binding.get("queueName")), settings))
        if queue:
            found.queues.setdefault(connection, set()).add(queue)
    elif kind == "table" and binding.get("tableName"):
        table = _static(resolve_settings(str(binding.get("tableName")), settings))
        if table:
            found.tables.setdefault(connection, set()).add(table)
    elif kind == "serviceBus":
        entity = binding.get("queueName") or binding.get("topicName")
        if entity:
            found.servicebus_entities.add(resolve_settings(str(entity), settings))


def create_storage_resources(resources: Resources, connections: Connections) -> list[str]:
    """Create the storage resources (existing ones are left alone); return what now exists."""
    created = []
    for connection, containers in resources.containers.items():
        service = connections.blob_service(connection)
        for container in sorted(containers):
            with contextlib.suppress(ResourceExistsError):
                service.create_container(container)
            created.append(f"container {container}")
    for connection, queues in resources.queues.items():
        queue_service = connections.queue_service(connection)
        for queue in sorted(queues):
            with contextlib.suppress(ResourceExistsError):
                queue_service.create_queue(queue)
            created.append(f"queue {queue}")
    for connection, tables in resources.tables.items():
        table_service = connections.table_service(connection)
        for table in sorted(tables):
            table_service.create_table_if_not_exists(table)
            created.append(f"table {table}")
    return created
