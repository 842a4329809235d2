"""Tenant HTTP tools on real Postgres and a real receiver on 127.0.0.1: registered through
the API (the secret shown once, refused input named by field, private and metadata URLs
refused), bound to a call by tenant and agent, sent signed (verified with the
`standardwebhooks` library), timed out into the failure line, refused again at call time
by the SSRF guard, logged with masked arguments, and invisible to another tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.settings import Settings
from realtime.agents.external_tools import ExternalTools
from realtime.agents.flows.engine import FlowBrain
from realtime.agents.flows.phrases import DEFAULT_PHRASES
from realtime.agents.loader import parse_agent_data
from realtime.providers.base import AgentReply
from realtime.store.tenant_tools import TenantTools
from tests.support.encryption import fixed_ring
from tests.support.servers import AppClients
from tests.support.tenants import other_tenant_client
from tests.support.tool_servers import ToolReceiver, local_tools_settings

pytestmark = pytest.mark.integration

AGENT = "cobranza-temprana"  # shipped: every tenant may give it tools
CARD = "4111111111111111"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return local_tools_settings(database_url)


@pytest.fixture
async def api(settings: Settings, app_clients: AppClients) -> httpx.AsyncClient:
    return await app_clients.open(settings)


@pytest.fixture
async def receiver() -> AsyncIterator[ToolReceiver]:
    async with ToolReceiver(slow_s=1.5) as server:
        yield server


def tool_body(name: str, url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": "Consulta el estado de un pedido",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}, "card_number": {"type": "string"}},
            "required": ["order_id"],
            "additionalProperties": False,
        },
        "url": url,
        "agents": [AGENT],
        **overrides,
    }


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


async def created(api: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.post("/tools", json=body)
    assert answer.status_code == 201, answer.text
    tool: dict[str, Any] = answer.json()
    return tool


def call_tools(pool: Pool, *, allow: tuple[str, ...] = ("127.0.0.1",)) -> TenantTools:
    return TenantTools(pool, fixed_ring(), allow_hosts=allow, refresh_s=0)


async def bound(pool: Pool, key: str, **kwargs: Any) -> ExternalTools:
    tools = await call_tools(pool, **kwargs).for_call(DEFAULT_TENANT_ID, AGENT, key, "es")
    assert tools is not None
    return tools


async def test_tools_are_stored_with_the_secret_shown_once_and_bad_input_named(
    api: httpx.AsyncClient,
) -> None:
    name = unique("pedido")
    tool = await created(api, tool_body(name, "http://127.0.0.1:9/orders"))
    secret = tool["secret"]
    assert secret.startswith("whsec_")
    assert tool["timeout_ms"] == 5000
    assert tool["method"] == "POST"
    one = await api.get(f"/tools/{name}")
    assert one.status_code == 200
    assert "secret" not in one.json()
    assert secret not in (await api.get("/tools", params={"limit": 500})).text
    replaced = await api.put(
        f"/tools/{name}",
        json=tool_body(
            name, "http://127.0.0.1:9/orders", timeout_ms=800, waiting_line="Un segundo."
        ),
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["timeout_ms"] == 800
    assert (
        await api.post("/tools", json=tool_body(name, "http://127.0.0.1:9/x"))
    ).status_code == 409

    def refused(answer: httpx.Response, field: str) -> None:
        assert answer.status_code == 422, answer.text
        assert any(field in err["loc"] for err in answer.json()["detail"]), answer.text

    url = "http://127.0.0.1:9/x"
    refused(await api.post("/tools", json=tool_body("end_call", url)), "name")
    refused(await api.post("/tools", json=tool_body("mcp_crm_x", url)), "name")
    refused(await api.post("/tools", json=tool_body("Bad-Name", url)), "name")
    bad_schema = tool_body(unique("t"), url, parameters={"type": "string"})
    refused(await api.post("/tools", json=bad_schema), "parameters")
    remote_ref = tool_body(unique("t"), url, parameters={"type": "object", "$ref": "http://x/s"})
    refused(await api.post("/tools", json=remote_ref), "parameters")
    refused(await api.post("/tools", json=tool_body(unique("t"), url, timeout_ms=50)), "timeout_ms")
    refused(await api.post("/tools", json=tool_body(unique("t"), url, agents=["nadie"])), "agents")
    bad_secret = "whsec_c2hvcnQ="
    answer = await api.post("/tools", json=tool_body(unique("t"), url, secret=bad_secret))
    refused(answer, "secret")
    assert bad_secret not in answer.text

    assert (await api.delete(f"/tools/{name}")).status_code == 204
    assert (await api.get(f"/tools/{name}")).status_code == 404
    assert (await api.delete(f"/tools/{name}")).status_code == 404


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
        ("http://10.0.0.7/tools", "private"),
        ("http://localhost:8080/tools", "loopback"),
        ("file:///etc/passwd", "scheme"),
    ],
)
async def test_private_and_metadata_urls_are_refused_at_registration(
    api: httpx.AsyncClient, url: str, why: str
) -> None:
    answer = await api.post("/tools", json=tool_body(unique("t"), url))
    assert answer.status_code == 422, answer.text
    assert why in answer.text
    server = {"name": "crm", "url": url, "allowed_tools": ["x"]}
    assert (await api.post("/mcp-servers", json=server)).status_code == 422


async def test_a_call_sends_the_tool_signed_and_logs_it_masked(
    api: httpx.AsyncClient,
    pool: Pool,
    receiver: ToolReceiver,
    settings: Settings,
    app_clients: AppClients,
) -> None:
    name = unique("pedido")
    tool = await created(api, tool_body(name, f"{receiver.origin}/orders"))
    receiver.secret = tool["secret"]
    key = f"call-{uuid.uuid4().hex[:8]}"
    tools = await bound(pool, key)
    assert name in tools.names()

    call = await tools.call(name, {"order_id": "A-17", "card_number": CARD})
    assert call.success, call.result
    assert call.result == {"order_id": "A-17", "status": "enviado", "eta": "mañana"}
    assert call.arguments == {"order_id": "A-17", "card_number": "****1111"}
    assert call.duration_ms > 0
    assert receiver.refused == 0
    [got] = receiver.received
    assert got.body == {
        "tool": name,
        "call_key": key,
        "arguments": {"order_id": "A-17", "card_number": CARD},
    }
    assert got.headers["webhook-id"].startswith("tool_")

    wrong = await tools.call(name, {"order_id": 17})
    assert not wrong.success
    assert wrong.result["error"] == "invalid_arguments"
    assert len(receiver.received) == 1  # never sent

    log = (await api.get(f"/calls/{key}/tool-invocations")).json()
    assert log["total"] == 2
    first, second = log["items"]
    assert (first["tool"], first["kind"], first["success"]) == (name, "http", True)
    assert first["arguments"]["card_number"] == "****1111"
    assert CARD not in str(log)
    assert first["latency_ms"] > 0
    assert first["result"]["status"] == "enviado"
    assert (second["success"], second["error"]) == (False, "invalid arguments")
    by_tool = (await api.get(f"/tools/{name}/invocations")).json()
    assert by_tool["total"] == 2

    other = await other_tenant_client(settings, app_clients)
    assert (await other.get(f"/calls/{key}/tool-invocations")).status_code == 404
    assert (await other.get(f"/tools/{name}/invocations")).status_code == 404
    assert (await other.get(f"/tools/{name}")).status_code == 404
    assert (await other.delete(f"/tools/{name}")).status_code == 404
    assert name not in (await other.get("/tools")).text
    assert (await api.get(f"/tools/{name}")).status_code == 200


async def test_the_ssrf_guard_refuses_at_call_time_too(
    api: httpx.AsyncClient, pool: Pool, receiver: ToolReceiver
) -> None:
    name = unique("pedido")
    tool = await created(api, tool_body(name, f"{receiver.origin}/orders"))
    receiver.secret = tool["secret"]
    tools = await bound(pool, f"call-{uuid.uuid4().hex[:8]}", allow=())  # not allow-listed
    call = await tools.call(name, {"order_id": "A-1"})
    assert not call.success
    assert call.result == {"error": "refused_url"}
    assert receiver.received == []


async def test_a_flow_tool_step_says_the_waiting_line_then_the_failure_line(
    api: httpx.AsyncClient, pool: Pool, receiver: ToolReceiver
) -> None:
    name = unique("lento")
    tool = await created(
        api,
        tool_body(
            name,
            f"{receiver.origin}/slow",
            timeout_ms=800,
            waiting_line="Deme un segundo, lo reviso.",
            failure_line="No pude revisarlo, sigamos.",
        ),
    )
    receiver.secret = tool["secret"]
    flow = parse_agent_data(
        {
            "name": "con-herramienta",
            "language": "es-CL",
            "currency": "CLP",
            "start": "saludo",
            "nodes": [
                {
                    "id": "saludo",
                    "before_identity": True,
                    "on_enter": [{"name": f"tenant:{name}", "arguments": {"order_id": "B-2"}}],
                    "say": ["Hola, ¿en qué le ayudo?"],
                    "transitions": [{"to": "fin"}],
                },
                {"id": "fin", "before_identity": True, "say": ["Adiós."], "end": True},
            ],
        }
    )
    brain = FlowBrain(flow, {}, external=await bound(pool, f"call-{uuid.uuid4().hex[:8]}"))
    parts = [part async for part in brain.start_stream()]
    said = [p for p in parts if isinstance(p, str)]
    assert said == [
        "Deme un segundo, lo reviso.",
        "No pude revisarlo, sigamos.",
        "Hola, ¿en qué le ayudo?",
    ]
    [decision] = [p for p in parts if isinstance(p, AgentReply)]
    [call] = decision.tool_calls
    assert (call.name, call.success, call.result) == (name, False, {"error": "timeout"})
    assert 700 < call.duration_ms < 1500


async def test_a_flow_naming_a_tool_the_tenant_lacks_fails_that_step_only(pool: Pool) -> None:
    flow = parse_agent_data(
        {
            "name": "sin-herramienta",
            "language": "en-US",
            "currency": "USD",
            "start": "hi",
            "nodes": [
                {
                    "id": "hi",
                    "before_identity": True,
                    "on_enter": [{"name": "tenant:missing_tool"}],
                    "say": ["Hello."],
                    "transitions": [{"to": "hi"}],
                }
            ],
        }
    )
    reply = await FlowBrain(flow, {}).start()
    # The flow's own "tool failed" line, then the node goes on.
    assert reply.say == [DEFAULT_PHRASES["en"]["tool_failed"][0], "Hello."]
    [call] = reply.tool_calls
    assert (call.name, call.success, call.result["error"]) == (
        "missing_tool",
        False,
        "unknown_tool",
    )
