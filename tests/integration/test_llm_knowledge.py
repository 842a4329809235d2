"""An LLM agent looks a caller's question up in the tenant's documents (`search_knowledge`).

The documents are the example Chilean company's, indexed by the local e5 model in real
Postgres; the model is a local OpenAI-compatible server that calls the tool and records
what it is sent back.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.kernel.db import Pool
from centralita.kernel.llm import LlmEndpoint
from centralita.knowledge.answers import KnowledgeAnswer
from centralita.knowledge.embeddings import embedder_for
from centralita.knowledge.indexing import index_examples
from centralita.knowledge.retrieval import KnowledgeBase
from centralita.tenants.store.keys import create_tenant
from realtime.agents.flows.tools import KnowledgeLookup, ToolContext
from realtime.agents.llm.brain import LlmBrain
from realtime.agents.llm.flow_brain import FlowLlmBrain
from realtime.agents.loader import load_agent
from realtime.agents.model_config import LlmConfig
from tests.support.brain_turns import collect, turn
from tests.support.fakes.openai_server import FakeOpenAI, Scripted, ScriptedToolCall

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=ZoneInfo("America/Santiago"))


@pytest.fixture(scope="module")
async def lookup(pool: Pool) -> KnowledgeLookup:
    embedder = embedder_for("local")
    async with pool.connection() as conn:
        tenant = (await create_tenant(conn, f"llm-kb-{uuid.uuid4().hex[:6]}")).id
        await index_examples(conn, tenant, "Cobranzas Andes SpA", embedder)
    knowledge = KnowledgeBase(pool, embedder)

    async def ask(question: str) -> KnowledgeAnswer:
        return await knowledge.answer(tenant, question, "es-CL")

    return ask


def brain(base_url: str, knowledge: KnowledgeLookup | None) -> LlmBrain:
    variables = {"nombre": "María"}
    return LlmBrain(
        LlmConfig(endpoint=LlmEndpoint(base_url=base_url, model="fake-1")),
        instructions="Eres Sofía, de Cobranzas Andes. Hablas con {nombre}.",
        variables=variables,
        language="es-CL",
        tool_context=ToolContext(now=NOW, variables=variables, knowledge=knowledge),
    )


async def test_the_model_gets_the_documents_answer_with_its_sources(
    lookup: KnowledgeLookup,
) -> None:
    search = ScriptedToolCall("search_knowledge", {"question": "¿Dónde puedo pagar?"})
    script = [
        Scripted(tool_calls=[search]),
        Scripted(text="Puede pagar en Servipag, en Caja Vecina o en el portal web."),
    ]
    async with FakeOpenAI(script) as fake:
        said, replies = await collect(brain(fake.base_url, lookup).stream(turn("¿Dónde pago?")))

    assert said == ["Puede pagar en Servipag, en Caja Vecina o en el portal web."]
    [call] = [c for r in replies for c in r.tool_calls]
    assert call.success
    sent_back = json.loads(fake.requests[1]["messages"][-1]["content"])
    assert sent_back["found"] is True
    assert "Servipag" in sent_back["answer"]
    assert sent_back["sources"][0]["heading"].endswith("¿Dónde puedo pagar?")
    offered = {t["function"]["name"] for t in fake.requests[0]["tools"]}
    assert "search_knowledge" in offered


async def test_nothing_relevant_tells_the_model_not_to_guess(lookup: KnowledgeLookup) -> None:
    search = ScriptedToolCall("search_knowledge", {"question": "¿Aceptan pagos con bitcoin?"})
    script = [Scripted(tool_calls=[search]), Scripted(text="No tengo esa información.")]
    async with FakeOpenAI(script) as fake:
        await collect(brain(fake.base_url, lookup).stream(turn("¿Puedo pagar con bitcoin?")))

    sent_back = json.loads(fake.requests[1]["messages"][-1]["content"])
    assert sent_back["found"] is False
    assert sent_back["answer"] == ""
    assert "do not guess" in sent_back["advice"]


async def test_an_agent_without_a_knowledge_base_is_not_offered_the_tool() -> None:
    async with FakeOpenAI([Scripted(text="Hola, María.")]) as fake:
        await collect(brain(fake.base_url, None).stream(turn("Hola.")))
    offered = {t["function"]["name"] for t in fake.requests[0]["tools"]}
    assert "search_knowledge" not in offered
    assert "register_promise" in offered


async def test_a_flow_in_llm_mode_looks_up_only_once_identity_is_verified(
    lookup: KnowledgeLookup,
) -> None:
    ask = ScriptedToolCall("search_knowledge", {"question": "¿Dónde puedo pagar?"})
    rut = ScriptedToolCall("fill_slots", {"national_id": "5678"})
    script = [
        Scripted(tool_calls=[ask]),  # at the greeting: refused
        Scripted(text="Primero, ¿hablo con María?"),
        Scripted(tool_calls=[ScriptedToolCall("go_to_node", {"node": "pedir_rut"})]),
        Scripted(text="¿Me indica los últimos cuatro dígitos de su RUT?"),
        Scripted(tool_calls=[rut, ScriptedToolCall("go_to_node", {"node": "revelar"})]),
        Scripted(tool_calls=[ask]),  # verified now: answered
        Scripted(text="Puede pagar en Servipag o en Caja Vecina."),
    ]
    contact = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-15",
               "rut": "12.345.678-5"}  # fmt: skip
    async with FakeOpenAI(script) as fake:
        flow = FlowLlmBrain(
            load_agent("cobranza-llm"), contact, clock=lambda: NOW,
            config=LlmConfig(endpoint=LlmEndpoint(base_url=fake.base_url, model="fake-1")),
            knowledge=lookup,
        )  # fmt: skip
        await collect(flow.start_stream())
        _, early = await collect(flow.stream(turn("¿Dónde puedo pagar?")))
        await collect(flow.stream(turn("Sí, soy yo.")))
        _, late = await collect(flow.stream(turn("Cinco seis siete ocho. ¿Dónde pago?")))

    [refused] = [c for r in early for c in r.tool_calls if c.name == "search_knowledge"]
    assert not refused.success
    assert refused.result["error"] == "identity_not_verified"
    assert flow.flow.identity_verified
    [answered] = [c for r in late for c in r.tool_calls if c.name == "search_knowledge"]
    assert answered.success
    assert "Servipag" in answered.result["answer"]
