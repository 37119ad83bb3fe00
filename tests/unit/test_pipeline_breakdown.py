"""The pipeline breakdown books every port call under its category, reads and writes apart."""

from __future__ import annotations

from bench.pipeline_breakdown import TABLE_CATEGORIES, Breakdown, Ledger, Timed
from tests.fakes import FakeTables


def test_table_calls_are_booked_as_reads_writes_and_transactions() -> None:
    ledger = Ledger()
    tables = Timed(FakeTables(), "table", ledger, TABLE_CATEGORIES)
    etag = tables.upsert("p", "submission", {"done": False})
    tables.upsert_all_and_merge("p", [("result|a", {"n": 1})], "submission", {"done": True}, etag)
    tables.query_partition("p")
    tables.get("p", "submission")
    assert dict(ledger.calls) == {"table write": 1, "table transaction": 1, "table read": 2}
    assert all(seconds >= 0 for seconds in ledger.seconds.values())


def test_the_summary_is_per_submission() -> None:
    text = Breakdown(submissions=10, messages=10, rows=[("table read", 2.0, 40.0)]).text()
    assert "1.0 messages" in text
    assert "table read x2.0 40.0 ms" in text
