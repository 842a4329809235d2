"""The one gate every finished span passes before any exporter: personal data masked.

`MaskedExport` is the only span processor the tracer provider has. When a span ends it
makes one masked copy (name, attributes, events, links, status; `mask_personal` over
every string) and hands that copy to the exporters' processors registered with it, so
no exporter, OTLP or a test's in-memory one, ever sees the original. Masking at the end
rather than where attributes are set means no instrumentation (FastAPI, psycopg,
Temporal, ours) can forget to: the phone in a URL path, an exception message, a SQL
text all go through here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import Attributes, AttributeValue

from centralita.kernel.privacy import mask_personal


def masked_value(value: AttributeValue) -> AttributeValue:
    """An attribute value with personal data masked (strings, and strings in sequences)."""
    if isinstance(value, str):
        return mask_personal(value)
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return tuple(mask_personal(str(item)) for item in value)
    return value


def masked_attributes(attributes: Attributes) -> dict[str, AttributeValue] | None:
    """Attributes with every value masked (keys are names chosen by code, not data)."""
    if attributes is None:
        return None
    return {key: masked_value(value) for key, value in attributes.items()}


def masked_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of a finished span with personal data masked wherever text can hold it."""
    status = span.status
    if status.description:
        status = Status(status.status_code, mask_personal(status.description))
    return ReadableSpan(
        name=mask_personal(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=masked_attributes(span.attributes),
        events=[
            Event(mask_personal(e.name), masked_attributes(e.attributes), e.timestamp)
            for e in span.events
        ],
        links=[Link(link.context, masked_attributes(link.attributes)) for link in span.links],
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class MaskedExport(SpanProcessor):
    """Masks each finished span once and passes the copy to every registered processor.

    Processors (a `BatchSpanProcessor` over OTLP, a test's `SimpleSpanProcessor` over an
    in-memory exporter) are added and removed while the process runs; `active` says
    whether any is registered, which is what decides whether new traces are sampled.
    """

    def __init__(self) -> None:
        self._processors: tuple[SpanProcessor, ...] = ()
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether any exporter is registered."""
        return bool(self._processors)

    def add(self, processor: SpanProcessor) -> None:
        """Send masked spans to `processor` from now on."""
        with self._lock:
            self._processors = (*self._processors, processor)

    def remove(self, processor: SpanProcessor) -> None:
        """Stop sending to `processor` (it is flushed and shut down)."""
        with self._lock:
            self._processors = tuple(p for p in self._processors if p is not processor)
        processor.shutdown()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do: exporters only ever see finished, masked spans."""

    def on_end(self, span: ReadableSpan) -> None:
        """Mask the span and hand the copy on."""
        processors = self._processors
        if not processors:
            return
        copy = masked_span(span)
        for processor in processors:
            processor.on_end(copy)

    def shutdown(self) -> None:
        """Shut every registered processor down (flushing what they hold)."""
        for processor in self._processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush every registered processor."""
        return all(p.force_flush(timeout_millis) for p in self._processors)
