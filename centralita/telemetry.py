"""OpenTelemetry tracing for a process: replay-safe provider, OTLP export when configured."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

from centralita.settings import Settings


def replay_safe_provider(resource: Resource | None = None) -> ReplaySafeTracerProvider:
    """The global tracer provider, installing a replay-safe one if there is none yet.

    temporalio's OpenTelemetry plugin refuses any other kind: spans made inside
    workflows must stay deterministic on replay. OpenTelemetry lets the global provider
    be set only once per process, so everyone goes through here.
    """
    current = trace.get_tracer_provider()
    if isinstance(current, ReplaySafeTracerProvider):
        return current
    provider = create_tracer_provider(resource=resource)
    trace.set_tracer_provider(provider)
    return provider


def setup_tracing(settings: Settings, component: str) -> None:
    """Install the process's tracer provider, exporting over OTLP/HTTP when configured.

    Spans leave the process only when `CENTRALITA_OTLP_ENDPOINT` is set; otherwise they
    are dropped at no cost.

    Args:
        settings: exporter endpoint and headers.
        component: process role (api, orchestrator, media), added to the service name.
    """
    resource = Resource.create({"service.name": f"{settings.service_name}-{component}"})
    provider = replay_safe_provider(resource)
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(
            endpoint=settings.otlp_endpoint.rstrip("/") + "/v1/traces",
            headers=settings.otlp_headers,
        )
        provider.add_span_processor(BatchSpanProcessor(exporter))
