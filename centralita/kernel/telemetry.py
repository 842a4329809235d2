"""OpenTelemetry tracing for a process: replay-safe provider, masked export, OTLP when set.

Every process has one tracer provider (OpenTelemetry allows one per process), the
replay-safe kind temporalio's plugin requires, and one span processor on it:
`MaskedExport`, which masks personal data before any exporter sees a span. Exporters
register with it: OTLP/HTTP when `CENTRALITA_OTLP_ENDPOINT` is set (`setup_tracing`), an
in-memory one in tests (`export_spans` / `stop_exporting`).

New traces are sampled only while an exporter is registered. Without one, spans are
non-recording (close to free) but still carry their context onward, and a sampled parent
that arrives from another process (a `traceparent` header, Temporal's headers) is always
followed, so a process that exports nothing never cuts a trace that others record.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

from centralita.kernel.settings import Settings
from centralita.kernel.tracing_masking import MaskedExport

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

# The instrumentation scope of every span Centralita makes itself.
TRACER_NAME = "centralita"
_EXPORT = MaskedExport()


class _WhileExporting(Sampler):
    """Samples a new trace only while some exporter would receive it."""

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if _EXPORT.active:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return SamplingResult(Decision.DROP)

    def get_description(self) -> str:
        return "WhileExporting"


class _EvictedWorkflowDetach(logging.Filter):
    """Drops OpenTelemetry's "Failed to detach context" for a workflow being discarded.

    When a worker evicts a running workflow from its cache (at shutdown, or when the
    cache is full) its coroutine is closed, and the span context managers the Temporal
    plugin has open in it finish in another `contextvars.Context`, where OpenTelemetry
    cannot detach and logs an error with a traceback. Nothing is wrong (the workflow
    resumes elsewhere by replay, and its spans with it), so that one case, recognised
    by the coroutine's `GeneratorExit` behind the error, is not logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info is None or record.getMessage() != "Failed to detach context":
            return True
        error = record.exc_info[1]
        return not isinstance(getattr(error, "__context__", None), GeneratorExit)


def replay_safe_provider(resource: Resource | None = None) -> ReplaySafeTracerProvider:
    """The global tracer provider, installing a replay-safe one if there is none yet.

    temporalio's OpenTelemetry plugin refuses any other kind: spans made inside
    workflows must stay deterministic on replay. OpenTelemetry lets the global provider
    be set only once per process, so everyone goes through here.
    """
    current = trace.get_tracer_provider()
    if isinstance(current, ReplaySafeTracerProvider):
        return current
    provider = create_tracer_provider(sampler=ParentBased(_WhileExporting()), resource=resource)
    provider.add_span_processor(_EXPORT)
    trace.set_tracer_provider(provider)
    logging.getLogger("opentelemetry.context").addFilter(_EvictedWorkflowDetach())
    return provider


def tracer() -> trace.Tracer:
    """The tracer for Centralita's own spans (calls, turns, dials, webhook attempts)."""
    return trace.get_tracer(TRACER_NAME)


def export_spans(processor: SpanProcessor) -> None:
    """Send this process's finished spans, masked, to `processor` (and sample new traces)."""
    replay_safe_provider()
    _EXPORT.add(processor)


def stop_exporting(processor: SpanProcessor) -> None:
    """Undo `export_spans`; with no exporter left, new traces are no longer sampled."""
    _EXPORT.remove(processor)


def setup_tracing(settings: Settings, component: str) -> None:
    """Install the process's tracer provider, its SQL tracing and, if set, OTLP export.

    Called first by every process the CLI starts (api, orchestrator, media, post-call,
    webhooks), before any database pool opens: psycopg is instrumented by patching how
    connections are made.

    Args:
        settings: exporter endpoint and headers.
        component: process role (api, orchestrator, media...), added to the service name.
    """
    resource = Resource.create({"service.name": f"{settings.service_name}-{component}"})
    replay_safe_provider(resource)
    instrument_database()
    processor = otlp_processor(settings)
    if processor is not None:
        export_spans(processor)
        _flush_when_terminated()
        log.info("exporting traces to %s", settings.otlp_endpoint)


def _flush_when_terminated() -> None:
    """Let SIGTERM end the process through `SystemExit`, so exit handlers flush spans.

    The SDK flushes its batch at interpreter exit, which SIGTERM's default action skips;
    uvicorn re-raises the SIGTERM it handled once its graceful shutdown is over, so the
    API and the media worker would lose their last few seconds of spans at every stop.
    Only when nobody handles SIGTERM yet (workers install their own while running).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_terminated)


def _exit_terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # the shell's code for "killed by SIGTERM"


def otlp_processor(settings: Settings) -> SpanProcessor | None:
    """Batched OTLP/HTTP export to `otlp_endpoint` with `otlp_headers` (None: not set).

    The endpoint is the collector's base URL (`http://otel-collector:4318`); traces go
    to its `/v1/traces`. Headers carry what a hosted backend asks for (an API key).
    """
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter = OTLPSpanExporter(
        endpoint=settings.otlp_endpoint.rstrip("/") + "/v1/traces",
        headers=settings.otlp_headers,
    )
    return BatchSpanProcessor(exporter)


def instrument_database() -> None:
    """A span per SQL statement, its text only: bound parameters are never recorded.

    Idempotent. The statement text holds placeholders, not values (every query here
    passes its values as parameters), and the masking exporter covers what a literal
    might still carry.
    """
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    instrumentor = PsycopgInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(capture_parameters=False, enable_commenter=False)


def instrument_http_app(app: FastAPI) -> None:
    """A server span per request, continuing the caller's `traceparent` (health excluded).

    The per-message ASGI `send`/`receive` spans are left out: a long poll or an export
    streamed page by page would make hundreds of them and say nothing the request's own
    span does not.
    """
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="/health", exclude_spans=["receive", "send"]
    )


@contextlib.contextmanager
def detached() -> Iterator[None]:
    """Run the block outside any trace.

    For work started from inside a call or a request that outlives it and serves many
    (a background flusher): tasks copy the context they are created in, and would
    otherwise file every later span under the first call's trace.
    """
    token = otel_context.attach(otel_context.Context())
    try:
        yield
    finally:
        otel_context.detach(token)
