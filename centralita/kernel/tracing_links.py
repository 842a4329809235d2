"""A domain event's trace: noted when the event is recorded, linked when it is delivered.

Webhook deliveries leave the call's trace: the dispatcher is a loop in another process
that reads the `domain_events` outbox, and each (endpoint, subject) has one delivery
workflow that outlives any one event. So a delivery attempt cannot be the child of the
span that recorded its event; it carries a span link to it instead (the OpenTelemetry
way for batch and queue consumers), which trace viewers follow both ways.

The producer's context has to travel with the row. Without a column of its own (no
migration), it rides in the payload under `TRACE_KEY`, which `centralita.kernel.events.envelope`
removes again: receivers never see it. It is written only for sampled traces, that is
while the producing process exports spans, so a system without tracing stores nothing
more than before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.trace import Link
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACE_KEY: Final = "_trace"
_W3C = TraceContextTextMapPropagator()


def current_trace_context() -> dict[str, str] | None:
    """The current span as W3C trace context (`traceparent`), if it is sampled."""
    span_context = trace.get_current_span().get_span_context()
    if not (span_context.is_valid and span_context.trace_flags.sampled):
        return None
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier or None


def with_trace_context(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with the current trace context added (unchanged when not traced)."""
    context = current_trace_context()
    return {**data, TRACE_KEY: context} if context else data


def without_trace_context(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` as receivers see it: without the trace context."""
    return {key: value for key, value in data.items() if key != TRACE_KEY}


def trace_link(payload: Mapping[str, Any]) -> Link | None:
    """A link to the span that recorded the event with this payload, if it noted one."""
    carrier = payload.get(TRACE_KEY)
    if not isinstance(carrier, Mapping):
        return None
    extracted = _W3C.extract({str(k): str(v) for k, v in carrier.items()})
    span_context = trace.get_current_span(extracted).get_span_context()
    return Link(span_context) if span_context.is_valid else None
