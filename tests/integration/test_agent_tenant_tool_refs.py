"""A flow's `tenant:<name>` tool steps are checked when the agent is stored: each must
name one of the tenant's tools (HTTP, or an MCP server's allow-listed tool) that this
agent gets. Otherwise the PUT answers 422 with each step's path, and stores nothing
(before, such a flow was stored and every call failed at that step)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from centralita.kernel.settings import Settings
from realtime.agents.loader import load_any_agent
from tests.support.servers import AppClients
from tests.support.tenants import other_tenant_client
from tests.support.tool_servers import local_tools_settings

pytestmark = pytest.mark.integration

URL = "http://127.0.0.1:9/tool"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return local_tools_settings(database_url)


@pytest.fixture
async def api(settings: Settings, app_clients: AppClients) -> httpx.AsyncClient:
    return await app_clients.open(settings)


def flow_calling(name: str, *tools: str) -> dict[str, Any]:
    """The shipped default flow as `name`, whose first node calls `tools` on entering."""
    data = load_any_agent("cobranza-temprana").model_dump(mode="json", exclude_defaults=True)
    data["name"] = name
    start = next(n for n in data["nodes"] if n["id"] == data["start"])
    start["on_enter"] = [{"name": f"tenant:{tool}"} for tool in tools]
    return data


async def http_tool(api: httpx.AsyncClient, name: str, agents: list[str] | None) -> None:
    body = {
        "name": name,
        "description": "Consulta el estado de un pedido",
        "parameters": {"type": "object", "properties": {}},
        "url": URL,
        "agents": agents,
    }
    answer = await api.post("/tools", json=body)
    assert answer.status_code == 201, answer.text


def problems(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    found: list[str] = answer.json()["detail"]["problems"]
    return found


async def test_a_flow_may_call_only_the_tenant_tools_its_agent_gets(
    api: httpx.AsyncClient, settings: Settings, app_clients: AppClients
) -> None:
    agent = f"propio-{uuid.uuid4().hex[:8]}"
    tool = f"pedido_{uuid.uuid4().hex[:6]}"
    server = f"crm{uuid.uuid4().hex[:6]}"
    mcp_tool = f"mcp_{server}_customer_status"
    definition = flow_calling(agent, tool, mcp_tool)

    # Neither exists: both steps are named, and nothing is stored.
    missing = problems(await api.put(f"/agents/{agent}", json=definition))
    assert len(missing) == 2
    assert f"on_enter[0]: no tenant tool {tool!r} for agent {agent!r}" in missing[0]
    assert f"on_enter[1]: no tenant tool {mcp_tool!r}" in missing[1]
    assert (await api.get(f"/agents/{agent}")).status_code == 404

    # A tool kept for another agent is not this one's.
    await http_tool(api, tool, agents=["cobranza-temprana"])
    still = problems(await api.put(f"/agents/{agent}", json=definition))
    assert [p.split(":")[0] for p in still] == [
        "nodes[saludo].on_enter[0]",
        "nodes[saludo].on_enter[1]",
    ]

    # Given to every agent, and an MCP server allow-listing the other tool ("Customer-
    # Status" reaches agents as customer_status): stored.
    assert (await api.delete(f"/tools/{tool}")).status_code == 204
    await http_tool(api, tool, agents=None)
    server_body = {"name": server, "url": URL, "allowed_tools": ["Customer-Status"]}
    assert (await api.post("/mcp-servers", json=server_body)).status_code == 201
    stored = await api.put(f"/agents/{agent}", json=definition)
    assert stored.status_code == 201, stored.text

    # Another tenant has none of these tools: the same flow is refused there.
    other = await other_tenant_client(settings, app_clients)
    assert len(problems(await other.put(f"/agents/{agent}", json=definition))) == 2
