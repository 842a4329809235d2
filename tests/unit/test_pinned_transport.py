"""The MCP client's pinned transport refuses any origin but the checked one (a server
answering with another endpoint must not lead the client to it), before connecting."""

from __future__ import annotations

import httpx2
import pytest

from centralita.actions.pinned_transport import PinnedTransport
from centralita.webhooks.ssrf import Target

pytestmark = pytest.mark.unit

CHECKED = Target("https://crm.example.com/mcp", "https", "crm.example.com", 443, ("192.0.2.7",))


@pytest.mark.parametrize(
    "url",
    [
        "https://metadata.internal/mcp",  # another host
        "https://crm.example.com:8443/mcp",  # another port
        "http://crm.example.com/mcp",  # another scheme
        "https://169.254.169.254/latest/meta-data/",
    ],
)
async def test_another_origin_is_refused_before_any_connection(url: str) -> None:
    async with httpx2.AsyncClient(transport=PinnedTransport(CHECKED)) as client:
        with pytest.raises(httpx2.ConnectError, match="not the server's checked origin"):
            await client.post(url, content=b"{}")
