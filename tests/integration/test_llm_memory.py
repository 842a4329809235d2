"""An LLM agent is told the contact's history: masked until the person is verified.

The memory comes from earlier calls stored in real Postgres (`with_memory`, as the call
activity adds it); the model is a local OpenAI-compatible server that records prompts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.kernel.db import Pool
from centralita.kernel.llm import LlmEndpoint
from centralita.memory.call_variables import with_memory
from realtime.agents.flows.tools import ToolContext
from realtime.agents.llm.brain import LlmBrain
from realtime.agents.llm.flow_brain import FlowLlmBrain
from realtime.agents.loader import load_agent
from realtime.agents.model_config import LlmConfig
from tests.support.brain_turns import collect, turn
from tests.support.fakes.openai_server import FakeOpenAI, Scripted, ScriptedToolCall
from tests.support.remembered_calls import (
    insert_attempt,
    insert_campaign,
    insert_contact,
    insert_tenant,
)

pytestmark = pytest.mark.integration

PHONE = "+56961234567"
NOW = datetime(2025, 4, 2, 15, tzinfo=UTC)
PROMISE = {"promised_amount": 200000, "promised_currency": "CLP", "promised_date": "2025-03-28"}


async def test_the_prompt_tells_the_promise_only_once_identity_is_verified(pool: Pool) -> None:
    tenant = await insert_tenant(pool, "memoria-llm")
    march, april = await insert_campaign(pool, tenant), await insert_campaign(pool, tenant)
    earlier = await insert_contact(pool, tenant, march, [PHONE])
    await insert_attempt(
        pool, tenant, march, earlier, started=datetime(2025, 3, 21, 15, tzinfo=UTC),
        outcome="promise_to_pay", extracted=PROMISE,
    )  # fmt: skip
    contact = await insert_contact(pool, tenant, april, [PHONE])
    variables = await with_memory(
        pool, tenant, contact, {"nombre": "María", "rut": "12.345.678-5"}, now=NOW
    )
    verify = ScriptedToolCall("lookup_customer", {"national_id_digits": "5678"})
    script = [
        Scripted(text="Para continuar, ¿me dice los últimos dígitos de su RUT?"),
        Scripted(tool_calls=[verify]),
        Scripted(text="Gracias, María."),
    ]
    async with FakeOpenAI(script) as fake:
        brain = LlmBrain(
            LlmConfig(endpoint=LlmEndpoint(base_url=fake.base_url, model="fake-1")),
            instructions="Eres Sofía, de Banco Sur. Hablas con {nombre}.",
            variables=variables,
            language="es-CL",
            tool_context=ToolContext(
                now=NOW.astimezone(ZoneInfo("America/Santiago")), variables=variables
            ),
        )
        await collect(brain.stream(turn("Sí, soy yo.")))
        await collect(brain.stream(turn("Termina en 5678.")))

    prompts = [request["messages"][0]["content"] for request in fake.requests]
    assert "Verifique su identidad" in prompts[0]
    assert "2025-03-28" not in prompts[0]
    assert "200000" not in prompts[0]
    assert "2025-03-28" in prompts[-1]  # after lookup_customer verified her


async def test_a_flow_in_llm_mode_is_told_the_history_too(pool: Pool) -> None:
    tenant = await insert_tenant(pool, "memoria-flujo-llm")
    march, april = await insert_campaign(pool, tenant), await insert_campaign(pool, tenant)
    earlier = await insert_contact(pool, tenant, march, [PHONE])
    await insert_attempt(
        pool, tenant, march, earlier, started=datetime(2025, 3, 21, 15, tzinfo=UTC),
        outcome="promise_to_pay", extracted=PROMISE,
    )  # fmt: skip
    contact = await insert_contact(pool, tenant, april, [PHONE])
    debt = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2025-03-05"}
    variables = await with_memory(pool, tenant, contact, debt, now=NOW)
    async with FakeOpenAI([Scripted(text="Hola, María.")]) as fake:
        flow = FlowLlmBrain(
            load_agent("cobranza-llm"), variables, clock=lambda: NOW,
            config=LlmConfig(endpoint=LlmEndpoint(base_url=fake.base_url, model="fake-1")),
        )  # fmt: skip
        await collect(flow.start_stream())
        await collect(flow.stream(turn("Sí, soy yo.")))

    prompt = fake.requests[0]["messages"][0]["content"]
    assert "Verifique su identidad" in prompt  # the greeting's node is before identity
    assert "2025-03-28" not in prompt
