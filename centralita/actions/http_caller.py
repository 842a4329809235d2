"""One call of a tenant's HTTP tool: a signed POST, SSRF-checked, pinned, bounded.

The request is signed as our webhooks are (Standard Webhooks: `webhook-id`,
`webhook-timestamp`, `webhook-signature` over the exact body), with the tool's own
secret, so the tenant verifies it with any Standard Webhooks library. The URL is
checked again right before the request (`centralita.webhooks.ssrf.check_url`: a name may
resolve elsewhere than at registration), and the request connects to the addresses that
check approved, the name kept in the `Host` header and TLS server name. Redirects are
not followed; the answer is read up to `MAX_RESPONSE_BYTES`.

`call_http_tool` never raises for what the network or the tenant's server does: the
outcome says whether it worked, and the agent says the tool's failure line if not.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

from centralita.actions.models import HttpToolConfig
from centralita.webhooks.pinned_post import post_pinned
from centralita.webhooks.signing import signed_headers
from centralita.webhooks.ssrf import Resolver, UnsafeUrl, check_url

MAX_RESPONSE_BYTES: Final = 64_000
MAX_TEXT_CHARS: Final = 2_000
USER_AGENT: Final = "Centralita-Tools/1"


@dataclass(frozen=True)
class ToolOutcome:
    """What one tool call gave the agent."""

    result: dict[str, Any]
    success: bool
    error: str | None  # why it failed (None when it worked); never a secret
    latency_ms: float


def request_body(tool: str, call_key: str, arguments: Mapping[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): the tool, the call and the arguments."""
    payload = {"tool": tool, "call_key": call_key, "arguments": dict(arguments)}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


async def call_http_tool(
    tool: HttpToolConfig,
    arguments: Mapping[str, Any],
    *,
    call_key: str,
    allow_hosts: Collection[str] = (),
    client: httpx.AsyncClient | None = None,
    resolver: Resolver | None = None,
) -> ToolOutcome:
    """POST `arguments` to the tool's URL, signed, within its timeout.

    Args:
        tool: the tool, its secret opened.
        arguments: what the agent chose (already checked against the tool's schema).
        call_key: the call's idempotency key (sent in the body: the tenant's log joins it).
        allow_hosts: the SSRF allow-list (`CENTRALITA_WEBHOOK_ALLOW_HOSTS`).
        client: a shared client without proxies; else one is made for this call.
        resolver: replaces DNS (tests).
    """
    started = time.perf_counter()

    def outcome(result: dict[str, Any], error: str | None) -> ToolOutcome:
        latency = (time.perf_counter() - started) * 1000
        return ToolOutcome(result=result, success=error is None, error=error, latency_ms=latency)

    body = request_body(tool.name, call_key, arguments)
    headers = signed_headers([tool.secret], f"tool_{uuid.uuid4().hex}", body)
    timeout_s = tool.timeout_ms / 1000
    try:
        async with asyncio.timeout(timeout_s):
            target = await check_url(tool.url, allow_hosts=allow_hosts, resolver=resolver)
            status, _, raw = await post_pinned(
                target,
                headers,
                body,
                timeout_s=timeout_s,
                client=client,
                read=_read,
                user_agent=USER_AGENT,
            )
    except UnsafeUrl as exc:
        return outcome({"error": "refused_url"}, str(exc))
    except (TimeoutError, httpx.TimeoutException):
        return outcome({"error": "timeout"}, f"timed out after {tool.timeout_ms} ms")
    except (httpx.HTTPError, OSError) as exc:
        return outcome({"error": "unreachable"}, f"{type(exc).__name__}: {exc}"[:300])
    result = _result(raw)
    if not 200 <= status < 300:
        return outcome({"error": f"http_{status}", **result}, f"HTTP {status}")
    return outcome(result, None)


def _result(raw: bytes) -> dict[str, Any]:
    """The answer as the model reads it: a JSON object as it is, anything else wrapped."""
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {"text": raw.decode("utf-8", errors="replace")[:MAX_TEXT_CHARS]}
    return value if isinstance(value, dict) else {"value": value}


async def _read(response: httpx.Response) -> bytes:
    chunks = bytearray()
    async for chunk in response.aiter_bytes():
        chunks.extend(chunk)
        if len(chunks) > MAX_RESPONSE_BYTES:
            break
    return bytes(chunks[:MAX_RESPONSE_BYTES])
