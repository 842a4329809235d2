"""One webhook delivery attempt: a POST, judged.

The URL is checked again right before sending (`ssrf.check_url`), because the name may
resolve somewhere else than at registration (DNS rebinding), and the request then goes to
the addresses that check approved: the URL's host is replaced by the address, the original
name travels in the ``Host`` header and, for https, as the TLS server name, so the
certificate is still verified against the name. Redirects are never followed: a 3xx could
point anywhere, including inside the network.

`send` never raises for anything the receiver or the network does; it returns an
`AttemptOutcome` whose verdict tells the delivery workflow what to do next.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

from centralita.webhooks.pinned_post import post_pinned
from centralita.webhooks.retry_schedule import parse_retry_after
from centralita.webhooks.ssrf import (
    HostNotResolved,
    Resolver,
    UnsafeUrl,
    check_url,
)

Verdict = Literal["delivered", "retry", "gone", "refused"]
"""delivered: 2xx. retry: any other answer or no answer; try again on the schedule.
gone: 410, the receiver asks to be disabled. refused: the URL is unsafe; no request made."""

EXCERPT_CHARS = 500
_EXCERPT_BYTES = 4 * EXCERPT_CHARS  # enough for 500 characters of UTF-8, bounded
USER_AGENT = "Centralita-Webhooks/1"


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt gave; stored as the attempt's log line."""

    verdict: Verdict
    status_code: int | None  # None when no response arrived
    latency_ms: float  # the whole attempt: delivery-time URL check, request, excerpt
    error: str | None  # why the attempt failed, None when delivered
    retry_after: timedelta | None  # what a 429/5xx asked for (capped), else None
    response_excerpt: str | None  # the first characters of the response body


async def send(
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    timeout_s: float = 10.0,
    allow_hosts: Collection[str] = (),
    client: httpx.AsyncClient | None = None,
    resolver: Resolver | None = None,
) -> AttemptOutcome:
    """POST `body` with `headers` to `url`, once, and judge the answer.

    Args:
        url: the endpoint's URL, checked again here.
        headers: the signed headers (`signing.signed_headers`) and any others.
        body: the exact bytes that were signed.
        timeout_s: the limit for the whole attempt, connection to last byte read.
        allow_hosts: the SSRF allow-list (local development).
        client: a shared client; it must not use a proxy (that would undo the address
            pinning). Without one, a private client is made for this attempt.
        resolver: replaces DNS (tests).
    """
    started = time.perf_counter()

    def outcome(verdict: Verdict, error: str | None, **fields: Any) -> AttemptOutcome:
        latency_ms = (time.perf_counter() - started) * 1000.0
        fields.setdefault("status_code", None)
        fields.setdefault("retry_after", None)
        fields.setdefault("response_excerpt", None)
        return AttemptOutcome(verdict=verdict, latency_ms=latency_ms, error=error, **fields)

    try:
        target = await check_url(url, allow_hosts=allow_hosts, resolver=resolver)
    except HostNotResolved as exc:
        return outcome("retry", str(exc))  # DNS may answer again later
    except UnsafeUrl as exc:
        return outcome("refused", str(exc))
    try:
        async with asyncio.timeout(timeout_s):
            status, response_headers, excerpt = await post_pinned(
                target,
                headers,
                body,
                timeout_s=timeout_s,
                client=client,
                read=_excerpt,
                user_agent=USER_AGENT,
            )
    except (TimeoutError, httpx.TimeoutException):
        return outcome("retry", f"timed out after {timeout_s:g} s")
    except httpx.InvalidURL as exc:
        return outcome("refused", f"refused: malformed URL ({exc})")
    except (httpx.HTTPError, OSError, HostNotResolved) as exc:
        return outcome("retry", _describe(exc))
    fields: dict[str, Any] = {"status_code": status, "response_excerpt": excerpt}
    if 200 <= status < 300:
        return outcome("delivered", None, **fields)
    if status == 410:
        return outcome("gone", "HTTP 410 Gone: the receiver asks to stop", **fields)
    if 300 <= status < 400:
        location = response_headers.get("location")
        where = f"to {location}" if location else "(no Location)"
        return outcome("retry", f"HTTP {status}: redirect {where} not followed", **fields)
    if status == 429 or status >= 500:
        asked = parse_retry_after(response_headers.get("retry-after"), datetime.now(UTC))
        fields["retry_after"] = asked
    return outcome("retry", f"HTTP {status}", **fields)


async def _excerpt(response: httpx.Response) -> str:
    """The start of the body, without reading a huge or endless one to its end."""
    chunks = bytearray()
    async for chunk in response.aiter_bytes():
        chunks.extend(chunk)
        if len(chunks) >= _EXCERPT_BYTES:
            break
    head = bytes(chunks[:_EXCERPT_BYTES])
    try:
        text = head.decode(response.encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = head.decode("utf-8", errors="replace")
    return text[:EXCERPT_CHARS]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
