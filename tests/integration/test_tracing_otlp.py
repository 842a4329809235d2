"""The OTLP exporter as the settings configure it: endpoint, headers, masked spans.

A collector stand-in on 127.0.0.1 receives what `otlp_processor` sends over OTLP/HTTP
(protobuf), as the docker-compose collector would.
"""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from centralita.kernel.settings import Settings
from centralita.kernel.telemetry import export_spans, otlp_processor, stop_exporting, tracer
from tests.fakes.loopback import LoopbackServer

pytestmark = pytest.mark.integration


class _Collector(LoopbackServer):
    """Accepts `POST /v1/traces` and keeps each request's headers and spans."""

    def __init__(self) -> None:
        super().__init__()
        # Not traced itself: each export it answered would be a span to export again.
        self.app = FastAPI(telemetry={"tracing": False})
        self.requests: list[tuple[dict[str, str], ExportTraceServiceRequest]] = []
        self.app.add_api_route("/v1/traces", self._traces, methods=["POST"])

    async def _traces(self, request: Request) -> Response:
        parsed = ExportTraceServiceRequest()
        parsed.ParseFromString(await request.body())
        self.requests.append((dict(request.headers), parsed))
        return Response(status_code=200)


def test_no_endpoint_no_exporter() -> None:
    assert otlp_processor(Settings(_env_file=None)) is None


async def test_spans_reach_the_configured_endpoint_with_its_headers_masked() -> None:
    async with _Collector() as collector:
        settings = Settings(
            _env_file=None,
            otlp_endpoint=f"{collector.origin}/",
            otlp_headers={"x-api-key": "collector-secret"},
        )
        processor = otlp_processor(settings)
        assert processor is not None
        export_spans(processor)
        try:
            with tracer().start_as_current_span("dial +56961234567") as span:
                span.set_attribute("centralita.note", "RUT 12.345.678-5")
            # The exporter posts from its own thread; the collector answers on this loop.
            assert await asyncio.to_thread(processor.force_flush, 10_000)
        finally:
            await asyncio.to_thread(stop_exporting, processor)

    [(headers, request)] = collector.requests
    assert headers["x-api-key"] == "collector-secret"
    assert headers["content-type"] == "application/x-protobuf"
    [resource_spans] = request.resource_spans
    [scope_spans] = resource_spans.scope_spans
    [exported] = scope_spans.spans
    assert exported.name == "dial +56*****4567"
    attributes = {a.key: a.value.string_value for a in exported.attributes}
    assert attributes == {"centralita.note": "RUT **.***.**8-5"}
