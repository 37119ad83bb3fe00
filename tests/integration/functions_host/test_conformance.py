"""The local host behaves as Azure's host and Python worker where apps written by others can tell."""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import Callable

import httpx
import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from tests.fixtures.functions_host import RunningHost
from tests.integration.functions_host.conftest import APPS, create_containers
from tests.polling import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def conformance_app(
    module_functions_host: Callable[..., RunningHost],
    storage_settings: dict[str, str],
    blobs: BlobServiceClient,
    queues: QueueServiceClient,
) -> RunningHost:
    create_containers(blobs, "conformance")
    for name in ("conformance-out", "conformance-chain"):
        with contextlib.suppress(ResourceExistsError):
            queues.create_queue(name)
    return module_functions_host(APPS / "conformance_app", storage_settings)


def _get(host: RunningHost, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{host.base_url}/api/{path}", params=params, timeout=30)


def _blob(blobs: BlobServiceClient, name: str) -> bytes | None:
    try:
        return bytes(blobs.get_blob_client("conformance", name).download_blob().readall())
    except ResourceNotFoundError:
        return None


def _queued(queues: QueueServiceClient, marker: str) -> list[str]:
    peeked = queues.get_queue_client("conformance-out").peek_messages(max_messages=32)
    texts = [base64.b64decode(m.content).decode() for m in peeked]
    return [t for t in texts if marker in t]


def test_a_context_parameter_receives_the_invocation_context(conformance_app: RunningHost) -> None:
    answer = _get(conformance_app, "context")
    assert answer.status_code == 200
    document = answer.json()
    assert document["function_name"] == "with_context"
    assert uuid.UUID(document["invocation_id"])


@pytest.mark.parametrize(
    ("kind", "content"), [("bytesio", b"from a BytesIO"), ("stringio", b"from a StringIO")]
)
def test_a_file_like_object_is_accepted_as_a_blob_output(
    conformance_app: RunningHost, blobs: BlobServiceClient, kind: str, content: bytes
) -> None:
    name = f"{kind}-{uuid.uuid4().hex[:8]}"
    assert _get(conformance_app, f"blob-out/{kind}/{name}").status_code == 200
    assert _blob(blobs, name) == content


def test_a_dict_is_refused_as_a_blob_output_as_the_worker_refuses_it(
    conformance_app: RunningHost, blobs: BlobServiceClient
) -> None:
    name = f"dict-{uuid.uuid4().hex[:8]}"
    assert _get(conformance_app, f"blob-out/dict/{name}").status_code == 500
    assert _blob(blobs, name) is None
    assert 'unsupported type "blob" for Python type "dict"' in conformance_app.log()


def test_a_queue_message_object_is_accepted_as_a_queue_output(
    conformance_app: RunningHost, queues: QueueServiceClient
) -> None:
    marker = uuid.uuid4().hex
    assert _get(conformance_app, "queue-out/message", text=marker).status_code == 200
    [text] = eventually(lambda: _queued(queues, marker))
    assert json.loads(text) == {"id": None, "body": marker}


def test_a_dict_as_a_queue_output_is_iterated_into_one_message_per_key_as_the_worker_does(
    conformance_app: RunningHost, queues: QueueServiceClient
) -> None:
    marker = uuid.uuid4().hex
    assert _get(conformance_app, "queue-out/dict", text=marker).status_code == 200
    assert eventually(lambda: _queued(queues, marker)) == [marker]


def test_a_list_as_a_queue_output_writes_one_message_per_item(
    conformance_app: RunningHost, queues: QueueServiceClient
) -> None:
    marker = uuid.uuid4().hex
    assert _get(conformance_app, "queue-out/list", text=marker).status_code == 200
    assert eventually(lambda: len(_queued(queues, marker)) == 2 and _queued(queues, marker)) == [marker] * 2


def test_a_dict_is_refused_as_a_table_output(conformance_app: RunningHost) -> None:
    assert _get(conformance_app, f"table-out/{uuid.uuid4().hex}").status_code == 500
    assert 'unsupported type "table" for Python type "dict"' in conformance_app.log()


def test_an_http_output_left_unset_answers_200_with_an_empty_body(conformance_app: RunningHost) -> None:
    answer = _get(conformance_app, "http-unset")
    assert (answer.status_code, answer.content) == (200, b"")


def test_a_table_input_with_partition_and_row_key_is_an_array(
    conformance_app: RunningHost, storage_connection_string: str
) -> None:
    tables = TableServiceClient.from_connection_string(storage_connection_string)
    row = uuid.uuid4().hex
    tables.create_table_if_not_exists("conformance").upsert_entity(
        {"PartitionKey": "p", "RowKey": row, "colour": "teal"}
    )
    found = _get(conformance_app, f"row/{row}").json()
    assert [(e["RowKey"], e["colour"]) for e in found] == [(row, "teal")]
    assert _get(conformance_app, f"row/{uuid.uuid4().hex}").json() == []


def test_function_metadata_lists_every_function_with_its_bindings(conformance_app: RunningHost) -> None:
    listed = httpx.get(f"{conformance_app.base_url}/admin/functions", timeout=30).json()
    assert "chain" in {f["name"] for f in listed}
    one = httpx.get(f"{conformance_app.base_url}/admin/functions/row", timeout=30).json()
    assert one["invoke_url_template"] == f"{conformance_app.base_url}/api/row/{{id}}"
    assert {b["type"] for b in one["config"]["bindings"]} == {"httpTrigger", "table", "http"}
    assert httpx.get(f"{conformance_app.base_url}/admin/functions/nothing", timeout=30).status_code == 404


def test_a_queue_message_written_by_this_host_is_picked_up_before_the_next_poll(
    conformance_app: RunningHost, blobs: BlobServiceClient
) -> None:
    # host.json sets maxPollingInterval to 30 s: only the host's own wake-up can beat the 20 s below.
    text = uuid.uuid4().hex
    eventually(lambda: "The listener for function 'Functions.chain' started" in conformance_app.log())
    assert _get(conformance_app, f"chain/{text}").status_code == 200
    assert eventually(lambda: _blob(blobs, f"chain-{text}"), timeout=20) == text.encode()


def test_startup_lists_http_functions_with_their_full_urls(conformance_app: RunningHost) -> None:
    port = conformance_app.port
    assert f"row: [GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS] http://localhost:{port}/api/row/{{id}}" in (
        conformance_app.log()
    )
    assert "chain: queueTrigger" in conformance_app.log()
