"""Client spans for our own outgoing HTTP requests, and the headers that carry them on.

Only the requests that continue a trace in another of our processes (the dial activity
asking the media worker to place a call) and the webhook attempts are traced; httpx is
not instrumented globally. Span names and attributes follow the HTTP semantic
conventions (`{method} {url.template}`, `server.address`...). The full URL is never
recorded: a receiver's URL may carry a token in its query, and paths carry call keys
already given as attributes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

from opentelemetry import propagate
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

from centralita.kernel.telemetry import tracer


@contextlib.contextmanager
def client_span(
    method: str,
    url: str,
    *,
    template: str | None = None,
    attributes: dict[str, str | int] | None = None,
    links: Sequence[Link] = (),
) -> Iterator[tuple[Span, dict[str, str]]]:
    """A CLIENT span for one request, current for the block, and its propagation headers.

    Args:
        method: the HTTP method.
        url: where the request goes (only its scheme, host and port are recorded).
        template: the route's template (`/carrier/calls/{key}`), named in the span.
        attributes: more attributes (`centralita.*`).
        links: spans this request is about without being their child.

    Yields:
        The span, and the `traceparent` headers to send with the request.
    """
    parts = urlsplit(url)
    span_attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.scheme": parts.scheme,
        "server.address": parts.hostname or "",
    }
    if parts.port is not None:
        span_attributes["server.port"] = parts.port
    if template is not None:
        span_attributes["url.template"] = template
    span_attributes.update(attributes or {})
    name = f"{method} {template}" if template else method
    with tracer().start_as_current_span(
        name, kind=SpanKind.CLIENT, attributes=span_attributes, links=links
    ) as span:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        yield span, headers


def record_response(span: Span, status_code: int | None, error: str | None = None) -> None:
    """The response's status on its client span; 4xx/5xx and no response are errors."""
    if status_code is not None:
        span.set_attribute("http.response.status_code", status_code)
    if status_code is None or status_code >= 400:
        kind = error or str(status_code)
        span.set_attribute("error.type", kind)
        span.set_status(Status(StatusCode.ERROR, kind))
