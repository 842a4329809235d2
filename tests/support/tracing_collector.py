"""A stand-in OTLP/HTTP collector on loopback: it keeps the spans it is sent."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.fakes.loopback import LoopbackServer


class Collector(LoopbackServer):
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
