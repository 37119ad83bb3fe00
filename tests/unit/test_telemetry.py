"""Tracing: one trace from the upload through every grading message to the report."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import telemetry
from shared.ingest import ingest_blob
from tests.fakes import World, drain

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def test_parse_grade_and_render_spans_share_the_uploads_trace(spans: InMemorySpanExporter) -> None:
    world = World()
    world.stage("one.xlsx", "Ada Lovelace")
    with trace.get_tracer("test").start_as_current_span("upload") as root:
        ingest_blob(world.services, "one.xlsx")
    trace_id = root.get_span_context().trace_id
    drain(world)  # graders run outside the upload's context: only the message carries it
    by_name: dict[str, list[int]] = {}
    for span in spans.get_finished_spans():
        by_name.setdefault(span.name, []).append(span.context.trace_id)
    assert by_name["readycheck.parse"] == [trace_id]
    assert by_name["readycheck.grade"] == [trace_id] * 4
    assert by_name["readycheck.render"] == [trace_id]


def test_without_a_connection_string_nothing_is_configured() -> None:
    assert telemetry.configure("") is False
