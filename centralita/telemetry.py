"""OpenTelemetry tracing for a process: replay-safe provider, OTLP export when configured."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.contrib.opentelemetry import create_tracer_provider

from centralita.settings import Settings

_configured = False


def setup_tracing(settings: Settings, component: str) -> None:
    """Install the global tracer provider once per process.

    The provider comes from temporalio's `create_tracer_provider` so spans made inside
    workflows stay deterministic on replay. Spans leave the process only when an OTLP
    endpoint is configured (`CENTRALITA_OTLP_ENDPOINT`); otherwise they are dropped.

    Args:
        settings: exporter endpoint and headers.
        component: process role (api, orchestrator, media), added to the service name.
    """
    global _configured
    if _configured:
        return
    resource = Resource.create({"service.name": f"{settings.service_name}-{component}"})
    provider = create_tracer_provider(resource=resource)
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(
            endpoint=settings.otlp_endpoint.rstrip("/") + "/v1/traces",
            headers=settings.otlp_headers,
        )
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = True
