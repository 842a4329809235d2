"""LLM agents use the tenant's own tools inside a call: a real call session (endpointer,
playback, the record) on a scripted caller, the model a local OpenAI-compatible server
that calls one tenant HTTP tool (a 127.0.0.1 service that takes 0.6 s and verifies the
signature) and one tool of the tenant's MCP server (the SDK's `MCPServer`, bearer token).
The waiting line covers the slow tool, the call's events carry both calls (arguments
masked, results, latency, success), the invocation log has them, and a flow in LLM mode
is offered and runs them too.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.actions.models import HttpToolCreate, McpServerCreate, mcp_tool_name
from centralita.actions.store import http_tools, invocations, mcp_servers
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.llm import LlmEndpoint
from centralita.webhooks.signing import new_secret
from realtime.agents.external_tools import ExternalTools
from realtime.agents.flows.tools import ToolContext
from realtime.agents.llm.brain import LlmBrain
from realtime.agents.llm.flow_brain import FlowLlmBrain
from realtime.agents.loader import load_agent
from realtime.agents.model_config import LlmConfig
from realtime.audio.playback import AgentVoiceTrack
from realtime.session.call_session import CallSession, SessionConfig
from realtime.store.tenant_tools import TenantTools
from tests.integration.test_call_session_ending import ScriptedCaller, pulled
from tests.support.brain_turns import collect, turn
from tests.support.encryption import fixed_ring
from tests.support.fakes.openai_server import FakeOpenAI, Scripted, ScriptedToolCall
from tests.support.providers import ScriptedSTT, ScriptedTTS
from tests.support.tool_servers import McpCalls, ToolReceiver, serving_mcp

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=ZoneInfo("America/Santiago"))
VARIABLES = {"nombre": "María"}
AGENTS = ["sofia-pedidos", "cobranza-llm"]
TOKEN = "crm-bearer-0c1d2e3f4a5b"
WAITING = "Un momento, busco su pedido."
CARD = "4111111111111111"


@pytest.fixture
async def services(pool: Pool) -> AsyncIterator[tuple[ToolReceiver, McpCalls, str, str]]:
    """The tenant's HTTP tool and MCP server, stored and served: (receiver, MCP calls,
    the HTTP tool's name, the MCP tool's agent-facing name)."""
    async with ToolReceiver(orders_delay_s=0.6) as receiver, serving_mcp(TOKEN) as (url, seen):
        suffix = uuid.uuid4().hex[:6]
        receiver.secret = new_secret()
        tool = HttpToolCreate(
            name=f"pedido_{suffix}",
            description="Dónde está el pedido del cliente",
            parameters={
                "type": "object",
                "properties": {"order_id": {"type": "string"}, "card": {"type": "string"}},
                "required": ["order_id"],
            },
            url=f"{receiver.origin}/orders",
            waiting_line=WAITING,
            agents=AGENTS,
        )
        server = McpServerCreate(
            name=f"crm{suffix}", url=url, allowed_tools=["customer_status"], token=TOKEN
        )
        async with pool.connection() as conn:
            await http_tools.create_tool(
                conn, fixed_ring(), DEFAULT_TENANT_ID, tool, receiver.secret
            )
            await mcp_servers.create_server(conn, fixed_ring(), DEFAULT_TENANT_ID, server)
        yield receiver, seen, tool.name, mcp_tool_name(server.name, "customer_status")


async def bound(pool: Pool, agent: str, key: str) -> ExternalTools:
    tools = TenantTools(pool, fixed_ring(), allow_hosts=["127.0.0.1"])
    external = await tools.for_call(DEFAULT_TENANT_ID, agent, key, "es")
    assert external is not None
    return external


def config(base_url: str) -> LlmConfig:
    return LlmConfig(endpoint=LlmEndpoint(base_url=base_url, model="fake-1"))


async def test_an_llm_call_uses_an_http_tool_and_an_mcp_tool(
    pool: Pool, services: tuple[ToolReceiver, McpCalls, str, str]
) -> None:
    receiver, seen, http_name, mcp_name = services
    key = f"call-{uuid.uuid4().hex[:8]}"
    brain = LlmBrain(
        config("http://127.0.0.1:1"),  # replaced below, once the fake listens
        instructions="Eres Sofía, de Tiendas Sur. Hablas con {nombre}.",
        variables=VARIABLES,
        language="es-CL",
        tool_context=ToolContext(now=NOW, variables=VARIABLES),
        greeting="Hola, ¿hablo con {nombre}?",
    )
    brain.use_external_tools(await bound(pool, "sofia-pedidos", key))
    answer = "Su pedido va en camino y su cuenta está al día."
    script = [
        Scripted(
            tool_calls=[
                ScriptedToolCall(http_name, {"order_id": "A-17", "card": CARD}),
                ScriptedToolCall(mcp_name, {"customer_id": "C-9"}),
            ]
        ),
        Scripted(text=answer, tool_calls=[ScriptedToolCall("end_call", {})]),
    ]
    caller = ScriptedCaller([(2.0, False), (1.0, True)])
    stt = ScriptedSTT(["¿Dónde está mi pedido?", "..."])
    async with FakeOpenAI(script) as fake, pulled(AgentVoiceTrack()) as voice:
        brain.config = config(fake.base_url)
        call = CallSession(
            call_id=key,
            brain=brain,
            stt=stt,
            tts=ScriptedTTS(),
            voice=voice,
            config=SessionConfig(language="es"),
        )
        try:
            record = await asyncio.wait_for(call.run(caller), 60)
        finally:
            caller.stop()

    offered = {t["function"]["name"] for t in fake.requests[0]["tools"]}
    assert {http_name, mcp_name} <= offered
    assert "register_promise" in offered
    events = [e.payload for e in record.events if e.type == "tool_call"]
    by_name = {e["name"]: e for e in events}
    http_event, mcp_event = by_name[http_name], by_name[mcp_name]
    assert http_event["success"], events
    assert mcp_event["success"], events
    assert http_event["arguments"] == {"order_id": "A-17", "card": "****1111"}
    assert http_event["result"]["status"] == "enviado"
    assert http_event["duration_ms"] >= 600
    assert mcp_event["result"]["status"] == "al día"
    assert CARD not in json.dumps(events)
    said = [text for who, text in record.transcript if who == "agent"]
    assert WAITING in said, said
    assert said.index(WAITING) < said.index(answer)
    assert said.count(WAITING) == 1
    # The model was given both results (and told the waiting line was said).
    sent = fake.requests[1]["messages"]
    tool_results = [json.loads(m["content"]) for m in sent if m["role"] == "tool"]
    assert {"order_id": "A-17", "status": "enviado", "eta": "mañana"} in tool_results
    assert any(r.get("segment") == "gold" for r in tool_results)
    assert receiver.refused == 0
    assert receiver.received[0].body["arguments"]["card"] == CARD  # the tenant gets it all
    assert seen.calls == [("customer_status", {"customer_id": "C-9"})]

    async with pool.connection() as conn:
        logged = await invocations.list_invocations(
            conn, DEFAULT_TENANT_ID, call_key=key, limit=10, offset=0
        )
    assert [(i.tool, i.kind, i.success) for i in logged.items] == [
        (http_name, "http", True),
        (mcp_name, "mcp", True),
    ]
    assert logged.items[0].arguments["card"] == "****1111"


async def test_a_flow_in_llm_mode_is_offered_and_runs_the_tenant_tools(
    pool: Pool, services: tuple[ToolReceiver, McpCalls, str, str]
) -> None:
    _, seen, http_name, mcp_name = services
    key = f"call-{uuid.uuid4().hex[:8]}"
    script = [
        Scripted(tool_calls=[ScriptedToolCall(mcp_name, {"customer_id": "C-1"})]),
        Scripted(text="Gracias, María."),
    ]
    contact = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-12-15",
               "rut": "12.345.678-5"}  # fmt: skip
    async with FakeOpenAI(script) as fake:
        flow = FlowLlmBrain(
            load_agent("cobranza-llm"),
            contact,
            clock=lambda: NOW,
            config=config(fake.base_url),
            external=await bound(pool, "cobranza-llm", key),
        )
        await collect(flow.start_stream())
        said, replies = await collect(flow.stream(turn("¿Estoy al día?")))

    offered = {t["function"]["name"] for t in fake.requests[0]["tools"]}
    assert {http_name, mcp_name} <= offered
    [call] = [c for r in replies for c in r.tool_calls if c.name == mcp_name]
    assert call.success, call.result
    assert said == ["Gracias, María."]
    assert ("customer_status", {"customer_id": "C-1"}) in seen.calls
