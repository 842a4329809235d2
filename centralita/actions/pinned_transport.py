"""The MCP SDK's HTTP transport, held to the addresses the SSRF check allowed.

The MCP client (`mcp_client.py`) checks a tenant server's URL (`ssrf.check_url`), which
resolves its host once. Were the SDK's HTTP client to resolve the name again when it
connects, a DNS answer changed in between (DNS rebinding) could point it inside our
network. This transport connects to the checked addresses only, as webhook deliveries
do (`centralita/webhooks/pinned_post.py`): the `Host` header and TLS SNI keep the name,
so virtual hosting and certificate checks are unchanged. A request to any other origin
(the server naming another endpoint) is refused.
"""

from __future__ import annotations

import httpx2

from centralita.webhooks.ssrf import DEFAULT_PORTS, Target


class PinnedTransport(httpx2.AsyncHTTPTransport):
    """An HTTP transport that connects to `target`'s checked addresses, in turn."""

    def __init__(self, target: Target) -> None:
        super().__init__(retries=0)
        self._target = target

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        target = self._target
        if (url.scheme, url.host, url.port or DEFAULT_PORTS.get(url.scheme, 0)) != (
            target.scheme,
            target.host,
            target.port,
        ):
            raise httpx2.ConnectError(
                f"refused {url.scheme}://{url.host}: not the server's checked origin",
                request=request,
            )
        if target.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": target.host}
        last: httpx2.ConnectError | None = None
        for address in target.addresses:
            request.url = url.copy_with(host=address)
            try:
                return await super().handle_async_request(request)
            except httpx2.ConnectError as exc:  # refused or unreachable: try the next one
                last = exc
            finally:
                request.url = url
        raise last or httpx2.ConnectError(f"{target.host}: no address", request=request)
