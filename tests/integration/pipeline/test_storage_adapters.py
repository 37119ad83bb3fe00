"""The Table and Blob adapters against Azurite over HTTP, with the official SDKs."""

from __future__ import annotations

import threading
import uuid

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from shared.adapters.blob_store import AzureBlobStore
from shared.adapters.tables import AzureTableStore
from shared.errors import ConcurrencyConflict, NotFound

pytestmark = pytest.mark.integration


@pytest.fixture
def tables(storage_connection_string: str) -> AzureTableStore:
    service = TableServiceClient.from_connection_string(storage_connection_string)
    name = "t" + uuid.uuid4().hex[:12]
    service.create_table(name)
    return AzureTableStore(service.get_table_client(name))


@pytest.fixture
def blobs(storage_connection_string: str) -> AzureBlobStore:
    return AzureBlobStore(BlobServiceClient.from_connection_string(storage_connection_string))


def test_an_entity_round_trips_with_its_types(tables: AzureTableStore) -> None:
    tables.upsert("p|1", "row", {"text": "a/b#c", "count": 3, "ratio": 0.5, "sent": True})
    entity = tables.get("p|1", "row")
    assert entity.properties == {"text": "a/b#c", "count": 3, "ratio": 0.5, "sent": True}
    assert entity.etag


def test_a_missing_entity_is_not_found(tables: AzureTableStore) -> None:
    with pytest.raises(NotFound):
        tables.get("p|1", "nothing")


def test_inserting_an_existing_entity_is_a_conflict(tables: AzureTableStore) -> None:
    tables.insert("p|1", "row", {"n": 1})
    with pytest.raises(ConcurrencyConflict):
        tables.insert("p|1", "row", {"n": 2})
    assert tables.get("p|1", "row").properties["n"] == 1


def test_a_replace_with_a_stale_etag_is_a_conflict(tables: AzureTableStore) -> None:
    etag = tables.insert("p|1", "row", {"n": 1})
    fresh = tables.replace("p|1", "row", {"n": 2}, etag)
    with pytest.raises(ConcurrencyConflict):
        tables.replace("p|1", "row", {"n": 3}, etag)
    tables.replace("p|1", "row", {"n": 4}, fresh)
    assert tables.get("p|1", "row").properties["n"] == 4


def test_concurrent_conditional_increments_lose_no_update(tables: AzureTableStore) -> None:
    tables.insert("p|1", "counter", {"n": 0})

    def bump() -> None:
        for _ in range(5):
            while True:
                current = tables.get("p|1", "counter")
                try:
                    tables.replace("p|1", "counter", {"n": int(current.properties["n"]) + 1}, current.etag)
                except ConcurrencyConflict:
                    continue
                break

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tables.get("p|1", "counter").properties["n"] == 20


def test_a_partition_query_returns_only_that_partition_in_row_order(tables: AzureTableStore) -> None:
    for row in ("b", "a", "c"):
        tables.upsert("p|1", row, {"v": row})
    tables.upsert("p|2", "a", {"v": "other"})
    assert [e.row_key for e in tables.query_partition("p|1")] == ["a", "b", "c"]


def test_a_conditional_merge_keeps_other_properties_and_refuses_a_stale_etag(tables: AzureTableStore) -> None:
    etag = tables.upsert("p|1", "row", {"a": 1, "b": "kept"})
    new_etag = tables.merge("p|1", "row", {"a": 2}, etag)
    assert tables.get("p|1", "row").properties == {"a": 2, "b": "kept"}
    with pytest.raises(ConcurrencyConflict):
        tables.merge("p|1", "row", {"a": 3}, etag)
    assert tables.get("p|1", "row").etag == new_etag


def test_rows_inserted_together_are_all_stored(tables: AzureTableStore) -> None:
    tables.insert_all("p|1", [(f"r{i:03}", {"n": i}) for i in range(100)])
    rows = tables.query_partition("p|1")
    assert [(r.row_key, r.properties["n"]) for r in rows] == [(f"r{i:03}", i) for i in range(100)]


def test_inserting_together_with_an_existing_row_writes_nothing(tables: AzureTableStore) -> None:
    tables.insert("p|1", "taken", {"n": 0})
    with pytest.raises(ConcurrencyConflict):
        tables.insert_all("p|1", [("new", {"n": 1}), ("taken", {"n": 2})])
    assert [(r.row_key, r.properties["n"]) for r in tables.query_partition("p|1")] == [("taken", 0)]


def test_rows_and_a_conditional_merge_are_written_together(tables: AzureTableStore) -> None:
    etag = tables.upsert("p|1", "submission", {"done_a": False, "payload": "kept"})
    tables.upsert("p|1", "result|a", {"old": True})
    new_etag = tables.upsert_all_and_merge(
        "p|1", [("result|a", {"n": 1}), ("result|b", {"n": 2})], "submission", {"done_a": True}, etag
    )
    rows = {r.row_key: r for r in tables.query_partition("p|1")}
    assert {k: r.properties for k, r in rows.items()} == {
        "result|a": {"n": 1},
        "result|b": {"n": 2},
        "submission": {"done_a": True, "payload": "kept"},
    }
    assert rows["submission"].etag == new_etag
    tables.merge("p|1", "submission", {"done_b": True}, new_etag)  # the returned ETag is the current one


def test_a_stale_etag_in_the_transaction_writes_none_of_its_rows(tables: AzureTableStore) -> None:
    stale = tables.upsert("p|1", "submission", {"done_a": False})
    tables.merge("p|1", "submission", {"done_b": True}, stale)
    with pytest.raises(ConcurrencyConflict):
        tables.upsert_all_and_merge("p|1", [("result|a", {"n": 1})], "submission", {"done_a": True}, stale)
    rows = tables.query_partition("p|1")
    assert [(r.row_key, r.properties) for r in rows] == [("submission", {"done_a": False, "done_b": True})]


def test_deleting_twice_is_fine(tables: AzureTableStore) -> None:
    tables.upsert("p|1", "row", {"v": 1})
    tables.delete("p|1", "row")
    tables.delete("p|1", "row")
    with pytest.raises(NotFound):
        tables.get("p|1", "row")


def test_long_text_survives_chunking(tables: AzureTableStore) -> None:
    from shared.records import chunked, unchunked

    text = "é" * 70_000
    tables.upsert("p|1", "big", chunked("payload", text))
    assert unchunked("payload", tables.get("p|1", "big").properties) == text


def test_a_blob_is_written_into_a_new_container_and_read_back(blobs: AzureBlobStore) -> None:
    container = "c" + uuid.uuid4().hex[:12]
    written = blobs.write(container, "dir/a.docx", b"hello", "application/x-test")
    info = blobs.info(container, "dir/a.docx")
    assert info.size == 5
    assert info.etag == written.etag
    assert info.content_type == "application/x-test"
    assert blobs.read(container, "dir/a.docx") == b"hello"


def test_a_missing_blob_is_not_found(blobs: AzureBlobStore) -> None:
    with pytest.raises(NotFound):
        blobs.info("nocontainer" + uuid.uuid4().hex[:8], "x")
    with pytest.raises(NotFound):
        blobs.read("nocontainer" + uuid.uuid4().hex[:8], "x")


def test_overwriting_a_blob_changes_its_etag(blobs: AzureBlobStore) -> None:
    container = "c" + uuid.uuid4().hex[:12]
    first = blobs.write(container, "a", b"1", "x").etag
    second = blobs.write(container, "a", b"2", "x").etag
    assert first != second
