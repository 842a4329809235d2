"""The OTLP exporter as the settings configure it: endpoint, headers, masked spans.

A collector stand-in on 127.0.0.1 receives what `otlp_processor` sends over OTLP/HTTP
(protobuf), as the docker-compose collector would.
"""

from __future__ import annotations

import asyncio

import pytest

from centralita.kernel.settings import Settings
from centralita.kernel.telemetry import export_spans, otlp_processor, stop_exporting, tracer
from tests.support.tracing_collector import Collector

pytestmark = pytest.mark.integration


def test_no_endpoint_no_exporter() -> None:
    assert otlp_processor(Settings(_env_file=None)) is None


async def test_spans_reach_the_configured_endpoint_with_its_headers_masked() -> None:
    async with Collector() as collector:
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
