"""HTTP triggers on the local host: routes, methods, bindings and auth levels."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from azure.storage.blob import BlobServiceClient

from tests.fixtures.functions_host import RunningHost
from tests.integration.functions_host.conftest import APPS

pytestmark = pytest.mark.integration


def test_route_parameters_query_headers_and_body_reach_the_function(shared_storage_app: RunningHost) -> None:
    response = httpx.post(
        f"{shared_storage_app.base_url}/api/echo/hello/a/b/c?x=1",
        headers={"x-probe": "yes"},
        content=b"payload",
    )
    assert response.status_code == 200
    assert response.json() == {
        "method": "POST",
        "route": {"word": "hello", "rest": "a/b/c"},
        "query": {"x": "1"},
        "header": "yes",
        "body": "payload",
    }


def test_optional_and_catch_all_parameters_may_be_left_out(shared_storage_app: RunningHost) -> None:
    response = httpx.get(f"{shared_storage_app.base_url}/api/echo")
    assert response.status_code == 200
    assert response.json()["route"] == {}


def test_a_route_constraint_that_does_not_match_gives_404(shared_storage_app: RunningHost) -> None:
    assert httpx.get(f"{shared_storage_app.base_url}/api/items/not-a-number").status_code == 404


def test_a_method_the_function_does_not_allow_gives_404(shared_storage_app: RunningHost) -> None:
    assert httpx.delete(f"{shared_storage_app.base_url}/api/echo").status_code == 404


def test_a_path_outside_the_route_prefix_gives_404(shared_storage_app: RunningHost) -> None:
    assert httpx.get(f"{shared_storage_app.base_url}/echo").status_code == 404


def test_table_input_reads_the_row_the_route_parameter_names(shared_storage_app: RunningHost) -> None:
    stored = httpx.put(f"{shared_storage_app.base_url}/api/items/42", json={"colour": "teal"})
    assert (stored.status_code, stored.text) == (200, "stored")
    response = httpx.get(f"{shared_storage_app.base_url}/api/items/42")
    assert response.status_code == 200
    assert response.json() | {"colour": "teal", "RowKey": "42"} == response.json()
    assert httpx.get(f"{shared_storage_app.base_url}/api/items/43").status_code == 404


def test_blob_input_and_output_bindings_copy_a_blob(
    shared_storage_app: RunningHost, blobs: BlobServiceClient
) -> None:
    blobs.get_blob_client("inbox", "letter.bin").upload_blob(b"hello", overwrite=True)
    assert httpx.post(f"{shared_storage_app.base_url}/api/copy/letter.bin").status_code == 201
    assert blobs.get_blob_client("copies", "letter.bin").download_blob().readall() == b"HELLO"


def test_every_level_is_open_when_no_keys_are_configured(shared_storage_app: RunningHost) -> None:
    assert httpx.get(f"{shared_storage_app.base_url}/api/secret").text == "admin ok"


@pytest.fixture(scope="module")
def keyed_app(
    module_functions_host: Callable[..., RunningHost], storage_settings: dict[str, str]
) -> RunningHost:
    keys = {"FUNCTIONS_HOST_MASTER_KEY": "master-key", "FUNCTIONS_HOST_FUNCTION_KEYS": "fn-key-1,fn-key-2"}
    return module_functions_host(APPS / "storage_app", storage_settings | keys)


def test_anonymous_functions_pass_without_a_key_when_keys_are_configured(keyed_app: RunningHost) -> None:
    assert httpx.get(f"{keyed_app.base_url}/api/items/1").status_code == 404  # reached: no such row


def test_function_level_needs_a_function_or_master_key(keyed_app: RunningHost) -> None:
    url = f"{keyed_app.base_url}/api/echo"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"x-functions-key": "wrong"}).status_code == 401
    assert httpx.get(url, headers={"x-functions-key": "fn-key-2"}).status_code == 200
    assert httpx.get(url, params={"code": "fn-key-1"}).status_code == 200
    assert httpx.get(url, params={"code": "master-key"}).status_code == 200


def test_admin_level_needs_the_master_key(keyed_app: RunningHost) -> None:
    url = f"{keyed_app.base_url}/api/secret"
    assert httpx.get(url, headers={"x-functions-key": "fn-key-1"}).status_code == 401
    assert httpx.get(url, headers={"x-functions-key": "master-key"}).text == "admin ok"


def test_the_host_status_needs_the_master_key_when_keys_are_configured(keyed_app: RunningHost) -> None:
    url = f"{keyed_app.base_url}/admin/host/status"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"x-functions-key": "fn-key-1"}).status_code == 401
    assert httpx.get(url, headers={"x-functions-key": "master-key"}).json()["state"] == "Running"


def test_function_metadata_needs_the_master_key_when_keys_are_configured(keyed_app: RunningHost) -> None:
    url = f"{keyed_app.base_url}/admin/functions"
    assert httpx.get(url).status_code == 401
    assert httpx.get(f"{url}/echo").status_code == 401
    assert httpx.get(url, headers={"x-functions-key": "master-key"}).status_code == 200


def test_ping_and_the_index_page_answer_without_a_key(keyed_app: RunningHost) -> None:
    assert httpx.post(f"{keyed_app.base_url}/admin/host/ping").status_code == 200
    index = httpx.get(f"{keyed_app.base_url}/")
    assert index.status_code == 200
    assert "Your Functions 4.0 app is up and running" in index.text
