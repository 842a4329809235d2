"""Spans in tests: an in-memory exporter on the process's one tracer provider.

OpenTelemetry lets a process install its tracer provider once, so tests do not make
their own: they register an in-memory exporter with the provider every process has
(`centralita.kernel.telemetry.export_spans`) for the length of a block and take it away after,
which also turns sampling of new traces back off. What the exporter holds went through
the same masking every exporter gets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util.types import Attributes

from centralita.kernel.telemetry import export_spans, stop_exporting


@contextlib.contextmanager
def captured_spans() -> Iterator[InMemorySpanExporter]:
    """Every span finished in this process during the block, masked, in the exporter."""
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    export_spans(processor)
    try:
        yield exporter
    finally:
        stop_exporting(processor)


def texts_of(spans: Iterable[ReadableSpan]) -> Iterator[str]:
    """Every text a span carries: name, attribute values, events, links, status."""
    for span in spans:
        yield span.name
        if span.status.description:
            yield span.status.description
        yield from _attribute_texts(span.attributes)
        for event in span.events:
            yield event.name
            yield from _attribute_texts(event.attributes)
        for link in span.links:
            yield from _attribute_texts(link.attributes)


def _attribute_texts(attributes: Attributes) -> Iterator[str]:
    for key, value in (attributes or {}).items():
        yield key
        if isinstance(value, str):
            yield value
        elif isinstance(value, list | tuple):
            yield from (str(item) for item in value)
        else:
            yield str(value)
