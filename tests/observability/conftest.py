"""Tracing for one test module at a time, into an in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from cadml import telemetry


@pytest.fixture(scope="module")
def span_exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    telemetry.disable_tracing()
    assert telemetry.configure_tracing("web", exporter=exporter)
    try:
        yield exporter
    finally:
        # The rest of the suite runs untraced, as a default deployment does.
        telemetry.disable_tracing()


@pytest.fixture
def spans(span_exporter: InMemorySpanExporter) -> InMemorySpanExporter:
    span_exporter.clear()
    return span_exporter
