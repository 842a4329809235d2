"""A tenant's MCP server through the official `mcp` SDK: a real `MCPServer` on 127.0.0.1
(streamable HTTP) behind a bearer token, registered through the API with its token and
headers stored encrypted (the raw token is nowhere in the table's bytes, nor in any
answer), its allow-listed tool bound to a call and called, the other tool never listed
nor callable, a wrong token leaving the call without the server's tools, every call
logged, and another tenant seeing nothing of it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from centralita.actions.mcp_client import call_mcp_tool
from centralita.actions.models import McpServerConfig, mcp_tool_name
from centralita.actions.store.mcp_servers import servers_for_agent
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.key_ring import KeyRing, new_key_text
from centralita.kernel.settings import Settings
from realtime.store.tenant_tools import TenantTools
from tests.support.encryption import TEST_ENCRYPTION_KEYS, fixed_ring
from tests.support.servers import AppClients
from tests.support.tenants import other_tenant_client
from tests.support.tool_servers import McpCalls, local_tools_settings, serving_mcp
from workers.secrets_cli import rotate

pytestmark = pytest.mark.integration

AGENT = "cobranza-temprana"
TOKEN = "mcp-token-5f2a9c71e0b4d3aa"
HEADER_VALUE = "tenant-header-value-77"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return local_tools_settings(database_url)


@pytest.fixture
async def api(settings: Settings, app_clients: AppClients) -> httpx.AsyncClient:
    return await app_clients.open(settings)


@pytest.fixture
async def crm() -> AsyncIterator[tuple[str, McpCalls]]:
    async with serving_mcp(TOKEN) as served:
        yield served


def server_body(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": f"crm{uuid.uuid4().hex[:6]}",
        "url": url,
        "allowed_tools": ["customer_status"],
        "token": TOKEN,
        "headers": {"X-Tenant-Ref": HEADER_VALUE},
        "agents": [AGENT],
        "waiting_line": "Un momento, reviso su ficha.",
        **overrides,
    }


async def registered(api: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.post("/mcp-servers", json=body)
    assert answer.status_code == 201, answer.text
    assert TOKEN not in answer.text
    assert HEADER_VALUE not in answer.text
    server: dict[str, Any] = answer.json()
    return server


def tools_of(pool: Pool) -> TenantTools:
    return TenantTools(pool, fixed_ring(), allow_hosts=["127.0.0.1"], refresh_s=0)


async def test_credentials_are_stored_encrypted_and_never_answered(
    api: httpx.AsyncClient, pool: Pool, crm: tuple[str, McpCalls]
) -> None:
    url, _ = crm
    server = await registered(api, server_body(url))
    assert server["token_hint"] == "****" + TOKEN[-4:]
    assert server["header_names"] == ["X-Tenant-Ref"]
    assert server["allowed_tools"] == ["customer_status"]
    for answer in (
        await api.get(f"/mcp-servers/{server['name']}"),
        await api.get("/mcp-servers", params={"limit": 500}),
    ):
        assert answer.status_code == 200
        assert TOKEN not in answer.text
        assert HEADER_VALUE not in answer.text
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT s::text AS row, token, headers FROM mcp_servers s WHERE name = %s",
            (server["name"],),
        )
        row = await cur.fetchone()
    assert row is not None
    assert row["token"].startswith("enc:v1:")
    assert row["headers"].startswith("enc:v1:")
    assert TOKEN not in row["row"]
    assert HEADER_VALUE not in row["row"]
    assert TOKEN.encode() not in row["row"].encode()

    def refused(answer: httpx.Response, field: str) -> None:
        assert answer.status_code == 422, answer.text
        assert any(field in err["loc"] for err in answer.json()["detail"]), answer.text

    refused(await api.post("/mcp-servers", json=server_body(url, token="short")), "token")
    bad = server_body(url, headers={"Authorization": f"Bearer {TOKEN}"})
    answer = await api.post("/mcp-servers", json=bad)
    refused(answer, "headers")
    assert TOKEN not in answer.text
    refused(await api.post("/mcp-servers", json=server_body(url, name="CRM")), "name")
    refused(
        await api.post("/mcp-servers", json=server_body(url, allowed_tools=[])), "allowed_tools"
    )
    dup = await api.post("/mcp-servers", json=server_body(url, name=server["name"]))
    assert dup.status_code == 409


async def test_only_allow_listed_tools_reach_a_call_and_are_logged(
    api: httpx.AsyncClient,
    pool: Pool,
    crm: tuple[str, McpCalls],
    settings: Settings,
    app_clients: AppClients,
) -> None:
    url, seen = crm
    server = await registered(api, server_body(url))
    key = f"call-{uuid.uuid4().hex[:8]}"
    tools = await tools_of(pool).for_call(DEFAULT_TENANT_ID, AGENT, key, "es")
    assert tools is not None
    exposed = mcp_tool_name(server["name"], "customer_status")
    assert exposed in tools.names()
    assert mcp_tool_name(server["name"], "delete_customer") not in tools.names()
    spec = next(s for s in tools.specs() if s["function"]["name"] == exposed)
    assert spec["function"]["parameters"]["required"] == ["customer_id"]
    assert tools.get(exposed) is not None
    assert tools.get(exposed).waiting_line == "Un momento, reviso su ficha."  # type: ignore[union-attr]

    call = await tools.call(exposed, {"customer_id": "C-9"})
    assert call.success, call.result
    assert call.result == {"customer_id": "C-9", "status": "al día", "segment": "gold"}
    refused = await tools.call(
        mcp_tool_name(server["name"], "delete_customer"), {"customer_id": "C-9"}
    )
    assert (refused.success, refused.result["error"]) == (False, "unknown_tool")

    # Even called directly, the client refuses what the allow-list lacks.
    config = McpServerConfig(
        name=server["name"],
        url=url,
        allowed_tools=("customer_status",),
        timeout_ms=5000,
        waiting_line=None,
        failure_line=None,
        token=TOKEN,
    )
    direct = await call_mcp_tool(
        config, "delete_customer", {"customer_id": "C-9"}, allow_hosts=["127.0.0.1"]
    )
    assert (direct.success, direct.result) == (False, {"error": "not_allowed"})
    assert seen.calls == [("customer_status", {"customer_id": "C-9"})]

    log = (await api.get(f"/calls/{key}/tool-invocations")).json()
    assert log["total"] == 1
    [row] = log["items"]
    assert (row["tool"], row["kind"], row["success"]) == (exposed, "mcp", True)
    assert row["latency_ms"] > 0

    other = await other_tenant_client(settings, app_clients)
    assert (await other.get(f"/mcp-servers/{server['name']}")).status_code == 404
    assert (await other.delete(f"/mcp-servers/{server['name']}")).status_code == 404
    assert server["name"] not in (await other.get("/mcp-servers")).text
    assert (await other.get(f"/calls/{key}/tool-invocations")).status_code == 404
    assert (await api.delete(f"/mcp-servers/{server['name']}")).status_code == 204


async def test_a_wrong_token_leaves_the_call_without_the_servers_tools(
    api: httpx.AsyncClient, pool: Pool, crm: tuple[str, McpCalls]
) -> None:
    url, seen = crm
    server = await registered(api, server_body(url, token="not-the-right-token"))
    tools = await tools_of(pool).for_call(
        DEFAULT_TENANT_ID, AGENT, f"call-{uuid.uuid4().hex[:8]}", "es"
    )
    names = tools.names() if tools is not None else []
    assert not [n for n in names if n.startswith(f"mcp_{server['name']}_")]
    assert seen.unauthorised >= 1
    assert seen.calls == []
    await api.delete(f"/mcp-servers/{server['name']}")


async def test_keys_rotate_reseals_the_credentials_and_tool_secrets(
    api: httpx.AsyncClient, pool: Pool, crm: tuple[str, McpCalls]
) -> None:
    url, _ = crm
    server = await registered(api, server_body(url))
    tool = await api.post(
        "/tools",
        json={
            "name": f"t_{uuid.uuid4().hex[:6]}",
            "description": "d",
            "url": url,
            "agents": [AGENT],
        },
    )
    assert tool.status_code == 201, tool.text
    new = new_key_text("rotated")
    rotated = KeyRing.parse(f"{new},{TEST_ENCRYPTION_KEYS}")
    async with pool.connection() as conn:
        counts = await rotate(conn, rotated, batch=2)
        assert counts["tenant_tools"] >= 3  # the tool's secret, the server's token and headers
        assert (await rotate(conn, rotated))["tenant_tools"] == 0
        only_new = KeyRing.parse(new)
        [opened] = [
            s
            for s in await servers_for_agent(conn, only_new, DEFAULT_TENANT_ID, AGENT)
            if s.name == server["name"]
        ]
        assert opened.token == TOKEN
        assert opened.headers == {"X-Tenant-Ref": HEADER_VALUE}
        back = KeyRing.parse(f"{TEST_ENCRYPTION_KEYS},{new}")  # for the module's other tests
        await rotate(conn, back)


async def test_the_client_connects_to_the_address_the_url_check_resolved() -> None:
    """The server's name resolves (here, by the check's resolver) to a checked address,
    and the SDK's HTTP client connects there: it never resolves the name again, so a DNS
    answer changed since the check (DNS rebinding) cannot lead it elsewhere. The name
    stays in the Host header. Before, the client resolved `crm.tenant.example` itself."""
    name = "crm.tenant.example"

    async def resolver(host: str, port: int) -> list[str]:
        assert host == name
        return ["127.0.0.1"]

    async with serving_mcp(TOKEN, also_named=name) as (url, seen):
        port = httpx.URL(url).port
        config = McpServerConfig(
            name="crm",
            url=f"http://{name}:{port}/mcp",
            allowed_tools=("customer_status",),
            timeout_ms=5000,
            waiting_line=None,
            failure_line=None,
            token=TOKEN,
        )
        call = await call_mcp_tool(
            config,
            "customer_status",
            {"customer_id": "C-7"},
            allow_hosts=["127.0.0.1"],
            resolver=resolver,
        )
    assert call.success, call.error
    assert seen.calls == [("customer_status", {"customer_id": "C-7"})]
    assert seen.hosts == {f"{name}:{port}"}
