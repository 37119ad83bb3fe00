"""Input and output bindings as the Python worker provides them: blob, table, queue, Service Bus."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import azure.functions as func
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.functions.blob import InputStream

from devstack.functions_host.config import HostOptions
from devstack.functions_host.connections import Connections
from devstack.functions_host.expressions import resolve_properties, settings_resolved, split_blob_path
from devstack.functions_host.indexing import Binding, FunctionSpec
from devstack.functions_host.output_conversion import OutputDatum


class OutValue(func.Out[Any]):
    """The ``func.Out`` a function sets; the host writes the value after the function returns."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        """Remember the value to write."""
        self._value = val

    def get(self) -> Any:
        """The value set so far (None if unset)."""
        return self._value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


def _queue_messages(datum: OutputDatum) -> list[bytes]:
    """Queue messages for a datum: a JSON array is one message per item, as the host's extension does."""
    if datum.type != "json":
        return [datum.as_bytes()]
    document = json.loads(datum.value)
    items = document if isinstance(document, list) else [document]
    return [(i if isinstance(i, str) else json.dumps(i)).encode("utf-8") for i in items]


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


class BindingRuntime:
    """Reads input bindings and writes output bindings for invocations."""

    def __init__(self, settings: Mapping[str, str], connections: Connections, options: HostOptions) -> None:
        self.settings = settings
        self.connections = connections
        self.options = options
        self._senders: dict[tuple[str, str], Any] = {}
        self._sender_lock = threading.Lock()
        # Told the queue's name after this host writes to it, so its own queue trigger wakes at once.
        self.on_queue_written: Callable[[str], None] = lambda _queue: None

    def resolved(self, binding: Binding, data: Mapping[str, Any]) -> dict[str, Any]:
        """The binding's properties with ``%SETTING%`` and ``{name}`` expressions resolved."""
        return resolve_properties(settings_resolved(binding.properties, self.settings), data)

    def read_inputs(self, spec: FunctionSpec, data: Mapping[str, Any]) -> dict[str, Any]:
        """The values of every input binding, by parameter name (blocking)."""
        values: dict[str, Any] = {}
        for binding in spec.inputs:
            props = self.resolved(binding, data)
            if binding.type == "blob":
                values[binding.name] = self._read_blob(props, spec.annotations.get(binding.name))
            elif binding.type == "table":
                values[binding.name] = self._read_table(props)
        return values

    def blob_value(self, content: bytes, props: Mapping[str, Any], annotation: Any, uri: str) -> Any:
        """Blob content in the form the parameter asks for (annotation first, then dataType)."""
        kind = _blob_kind(annotation, str(props.get("dataType", "")))
        if kind is bytes:
            return content
        if kind is str:
            return content.decode("utf-8")
        return InputStream(data=content, name=str(props.get("path", "")), uri=uri, length=len(content))

    def _read_blob(self, props: Mapping[str, Any], annotation: Any) -> Any:
        container, name = split_blob_path(str(props["path"]))
        client = self.connections.blob_service(str(props.get("connection", ""))).get_blob_client(
            container, name
        )
        try:
            content = client.download_blob().readall()
        except ResourceNotFoundError:
            return None
        return self.blob_value(content, props, annotation, client.url)

    def _read_table(self, props: Mapping[str, Any]) -> str:
        table = self.connections.table_service(str(props.get("connection", ""))).get_table_client(
            str(props["tableName"])
        )
        partition, row = props.get("partitionKey"), props.get("rowKey")
        if partition is not None and row is not None:
            # The real host hands a Python function an array here too: the one entity, or none.
            try:
                found = [dict(table.get_entity(str(partition), str(row)))]
            except ResourceNotFoundError:
                found = []
            return json.dumps(found, default=_json_default)
        filters = [f"PartitionKey eq '{str(partition).replace(chr(39), chr(39) * 2)}'"] if partition else []
        if props.get("filter"):
            filters.append(f"({props['filter']})")
        query = " and ".join(filters)
        try:
            entities = table.query_entities(query) if query else table.list_entities()
            take = int(props.get("take", 0) or 0)
            rows = [dict(e) for _, e in zip(range(take or 1_000_000), entities, strict=False)]
        except ResourceNotFoundError:
            rows = []
        return json.dumps(rows, default=_json_default)

    def write_output(self, binding: Binding, datum: OutputDatum | None, data: Mapping[str, Any]) -> None:
        """Write one encoded output (blocking); an unset output writes nothing, as in the worker."""
        if datum is None or binding.type == "http":
            return
        props = self.resolved(binding, data)
        connection = str(props.get("connection", ""))
        if binding.type == "blob":
            container, name = split_blob_path(str(props["path"]))
            service = self.connections.blob_service(connection)
            with contextlib.suppress(ResourceExistsError):
                service.create_container(container)
            service.get_blob_client(container, name).upload_blob(datum.as_bytes(), overwrite=True)
        elif binding.type == "queue":
            queue = self.connections.queue_service(connection).get_queue_client(str(props["queueName"]))
            with contextlib.suppress(ResourceExistsError):
                queue.create_queue()
            for body in _queue_messages(datum):
                text = (
                    base64.b64encode(body).decode() if self.options.queues.base64_messages else body.decode()
                )
                queue.send_message(text)
            self.on_queue_written(queue.queue_name)
        elif binding.type == "table":
            table = self.connections.table_service(connection).create_table_if_not_exists(
                str(props["tableName"])
            )
            for entry in _items(json.loads(datum.as_bytes())):
                entry.setdefault("PartitionKey", props.get("partitionKey"))
                entry.setdefault("RowKey", props.get("rowKey"))
                table.upsert_entity(entry)
        elif binding.type == "serviceBus":
            topic = props.get("topicName")
            self._send_servicebus(connection, str(topic or props.get("queueName")), bool(topic), datum)

    def _send_servicebus(self, connection: str, entity: str, is_topic: bool, datum: OutputDatum) -> None:
        from azure.servicebus import ServiceBusMessage

        with self._sender_lock:
            sender = self._sender(connection, entity, is_topic)
            sender.send_messages([ServiceBusMessage(datum.as_bytes())])

    def _sender(self, connection: str, entity: str, is_topic: bool) -> Any:
        from azure.servicebus import ServiceBusClient

        key = (connection, entity)
        if key not in self._senders:
            target, is_namespace = self.connections.servicebus_target(connection)
            if is_namespace:
                from azure.identity import DefaultAzureCredential

                client = ServiceBusClient(target, DefaultAzureCredential())
            else:
                client = ServiceBusClient.from_connection_string(target)
            sender = client.get_topic_sender(entity) if is_topic else client.get_queue_sender(entity)
            self._senders[key] = (client, sender)
        return self._senders[key][1]

    def close(self) -> None:
        """Close cached Service Bus senders and clients."""
        with self._sender_lock:
            for client, sender in self._senders.values():
                sender.close()
                client.close()
            self._senders.clear()


def _blob_kind(annotation: Any, data_type: str) -> type:
    if annotation is bytes or annotation is str:
        return annotation
    if isinstance(annotation, type) and issubclass(annotation, func.InputStream):
        return func.InputStream
    if data_type.upper() == "BINARY":
        return bytes
    if data_type.upper() == "STRING":
        return str
    return func.InputStream
