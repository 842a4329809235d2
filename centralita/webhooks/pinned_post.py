"""A POST to the addresses the SSRF check resolved and allowed, never resolved again.

Webhook deliveries (`sender.py`) and tenants' HTTP tools (`centralita/actions`) both post
to URLs a tenant chose: the check (`ssrf.check_url`) resolves the host once and the
request connects to those addresses only (the `Host` header and TLS SNI keep the name),
so a DNS answer that changes between the check and the connection cannot point the
request inside the network. No redirects are followed; no proxy from the environment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import httpx

from centralita.webhooks.ssrf import DEFAULT_PORTS, HostNotResolved, Target

_T = TypeVar("_T")
# Reads what the caller keeps of a response's body (bounded: never an endless one).
ReadBody = Callable[[httpx.Response], Awaitable[_T]]


async def post_pinned(
    target: Target,
    headers: Mapping[str, str],
    body: bytes,
    *,
    timeout_s: float,
    client: httpx.AsyncClient | None,
    read: ReadBody[_T],
    user_agent: str,
) -> tuple[int, httpx.Headers, _T]:
    """POST to each checked address in turn until one accepts the connection.

    Raises:
        httpx.ConnectError: no address accepted the connection (the last one's error).
        HostNotResolved: the target has no address (never from `check_url`).
    """
    if client is None:
        # trust_env=False: an HTTP(S)_PROXY from the environment would connect for us.
        async with httpx.AsyncClient(trust_env=False) as own:
            return await post_pinned(
                target,
                headers,
                body,
                timeout_s=timeout_s,
                client=own,
                read=read,
                user_agent=user_agent,
            )
    request_headers = httpx.Headers(headers)
    request_headers["host"] = host_header(target)
    request_headers.setdefault("user-agent", user_agent)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else None
    last_error: httpx.ConnectError | None = None
    for address in target.addresses:
        pinned = httpx.URL(target.url).copy_with(
            scheme=target.scheme, host=address, port=target.port
        )
        try:
            async with client.stream(
                "POST",
                pinned,
                content=body,
                headers=request_headers,
                follow_redirects=False,
                timeout=timeout_s,
                extensions=extensions,
            ) as response:
                return response.status_code, response.headers, await read(response)
        except httpx.ConnectError as exc:  # refused or unreachable: the next address may work
            last_error = exc
    if last_error is None:
        raise HostNotResolved(f"refused {target.host}: no address to connect to")
    raise last_error


def host_header(target: Target) -> str:
    """The `Host` header of the URL as written (its name, and a port that is not the
    scheme's default)."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    if target.port == DEFAULT_PORTS[target.scheme]:
        return host
    return f"{host}:{target.port}"
