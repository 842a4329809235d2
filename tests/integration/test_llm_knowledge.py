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
