"""Tracing, metrics and privacy-safe logging; a no-op unless Application Insights is configured.

OpenTelemetry's API is light and works without an SDK (every call is a no-op), so the
handlers always use it; ``azure-monitor-opentelemetry`` (heavy) is imported only when
``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache

from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import Span

log = logging.getLogger("readycheck")
_TRACER = "readycheck"


def configure(connection_string: str) -> bool:
    """Send traces, metrics and logs to Application Insights when a connection string is set."""
    if not connection_string:
        return False
    from azure.monitor.opentelemetry import configure_azure_monitor  # heavy: only in Azure

    configure_azure_monitor(connection_string=connection_string, logger_name="readycheck")
    return True


def pseudonym(value: str) -> str:
    """A short stable hash that lets logs correlate a person without naming them."""
    return hashlib.sha256(value.strip().casefold().encode()).hexdigest()[:12]


def trace_headers() -> dict[str, str]:
    """The current W3C trace context (``traceparent``/``tracestate``) to carry in a message."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def span(name: str, parent: Mapping[str, str] | None = None, **attributes: str | int) -> Iterator[Span]:
    """A span named ``readycheck.<name>``, a child of ``parent``'s trace context when given."""
    context = propagate.extract(dict(parent)) if parent else None
    tracer = trace.get_tracer(_TRACER)
    with tracer.start_as_current_span(f"readycheck.{name}", context=context, attributes=attributes) as s:
        yield s


class _Instruments:
    def __init__(self) -> None:
        meter = metrics.get_meter(_TRACER)
        self.workbooks_parsed = meter.create_counter("readycheck.workbooks_parsed")
        self.workbooks_rejected = meter.create_counter("readycheck.workbooks_rejected")
        self.submissions_graded = meter.create_counter("readycheck.submissions_graded")
        self.submissions_failed = meter.create_counter("readycheck.submissions_failed")
        self.grading_latency = meter.create_histogram("readycheck.grading_latency", unit="s")
        self.report_size = meter.create_histogram("readycheck.report_size", unit="By")


@lru_cache(maxsize=1)
def instruments() -> _Instruments:
    """The app's custom metrics, created once."""
    return _Instruments()


def event(message: str, **ids: str | int) -> None:
    """Log one structured event; pass ids and counts only, never names or emails."""
    log.info("%s %s", message, " ".join(f"{k}={v}" for k, v in sorted(ids.items())), extra=dict(ids))
