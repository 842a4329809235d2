"""A flow in LLM mode against a local OpenAI-compatible server: moves, slots, identity."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from centralita.kernel.calls import CallOutcome
from centralita.kernel.llm import LlmEndpoint
from realtime.agents.llm.flow_brain import FlowLlmBrain
from realtime.agents.loader import load_agent
from realtime.agents.model_config import LlmConfig
from realtime.providers.base import ProviderError
from tests.support.brain_turns import collect, turn
from tests.support.fakes.openai_server import FakeOpenAI, Scripted, ScriptedToolCall

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Santiago"))  # a Monday
CONTACT: dict[str, Any] = {
    "nombre": "María",
    "empresa": "Banco Sur",
    "monto_total": 200000,
    "fecha_limite": "2026-11-15",
    "rut": "12.345.678-5",
}


def brain_for(base_url: str, **variables: Any) -> FlowLlmBrain:
    config = LlmConfig(
        endpoint=LlmEndpoint(base_url=base_url, model="fake-1"),
        filler_after_s=1.5,
        request_timeout_s=8.0,
        max_tool_rounds=4,
    )
    return FlowLlmBrain(
        load_agent("cobranza-llm"), {**CONTACT, **variables}, clock=lambda: NOW, config=config
    )


def system(request: dict[str, Any]) -> str:
    first = request["messages"][0]
    assert first["role"] == "system"
    return str(first["content"])


def tools(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["function"]["name"]: t["function"] for t in request["tools"]}


def go(node: str, splits: int = 5) -> ScriptedToolCall:
    return ScriptedToolCall("go_to_node", {"node": node}, splits=splits)


async def test_an_allowed_move_is_taken_and_the_next_round_has_the_new_step() -> None:
    script = [
        Scripted(tool_calls=[go("pedir_rut", splits=9)]),
        Scripted(text="Gracias. ¿Me indica los últimos cuatro dígitos de su RUT?"),
    ]
    async with FakeOpenAI(script) as fake:
        brain = brain_for(fake.base_url)
        greeting, start = await collect(brain.start_stream())
        said, replies = await collect(brain.stream(turn("Sí, con ella.")))
    # The greeting is the start node's `say`: no model round before the first word.
    assert greeting == [
        "Buenos días, le saluda Sofía, asistente virtual de Banco Sur.",
        "¿Hablo con María?",
    ]
    assert start[-1].node == "saludo"
    assert said == ["Gracias.", "¿Me indica los últimos cuatro dígitos de su RUT?"]
    [move] = [c for r in replies for c in r.tool_calls]
    assert move.name == "go_to_node"
    assert move.success
    assert move.result == {"moved": True, "node": "pedir_rut"}
    assert replies[-1].node == "pedir_rut"
    first, second = fake.requests
    assert "Paso actual de la conversación: saludo." in system(first)
    offered = tools(first)
    assert "pedir_rut" in offered["go_to_node"]["parameters"]["properties"]["node"]["enum"]
    assert "lookup_customer" not in offered
    assert {"register_promise", "opt_out", "end_call", "transfer_to_agent"} <= set(offered)
    # The tool's result went back, and the step's instructions replaced the greeting's.
    assert second["messages"][-1] == {
        "role": "tool",
        "tool_call_id": second["messages"][-2]["tool_calls"][0]["id"],
        "content": '{"moved": true, "node": "pedir_rut"}',
    }
    assert "Paso actual de la conversación: pedir_rut." in system(second)
    assert "Pide los últimos cuatro dígitos del RUT de María." in system(second)
    assert "national_id" in tools(second)["fill_slots"]["parameters"]["properties"]


async def test_a_move_the_flow_does_not_allow_is_refused_and_the_model_is_told_why() -> None:
    script = [
        Scripted(tool_calls=[go("revelar")]),  # skipping the RUT check
        Scripted(text="Antes, ¿me confirma los últimos cuatro dígitos de su RUT?"),
        Scripted(tool_calls=[go("cierre_promesa")]),  # not a way out of saludo at all
        Scripted(text="¿Hablo con María?"),
    ]
    async with FakeOpenAI(script) as fake:
        brain = brain_for(fake.base_url)
        await collect(brain.start_stream())
        said, replies = await collect(brain.stream(turn("Sí, dígame cuánto debo.")))
        _, later = await collect(brain.stream(turn("Ya le pago.")))
    assert said == ["Antes, ¿me confirma los últimos cuatro dígitos de su RUT?"]
    [refused] = [c for r in replies for c in r.tool_calls]
    assert not refused.success
    assert refused.result == {
        "moved": False,
        "node": "saludo",
        "why": ["with what is known now this step leads to 'pedir_rut' instead"],
    }
    assert json.loads(fake.requests[1]["messages"][-1]["content"]) == refused.result
    [unknown] = [c for r in later for c in r.tool_calls]
    assert "is not a step from 'saludo'" in unknown.result["why"][0]
    assert brain.node == "saludo"
    assert not brain.flow.identity_verified
    # The debt never reached the model.
    for request in fake.requests:
        assert "200.000" not in json.dumps(request, ensure_ascii=False)


async def test_slots_filled_then_identity_verified_discloses_only_from_then_on() -> None:
    rut = ScriptedToolCall("fill_slots", {"national_id": "5678"}, splits=6)
    script = [
        Scripted(tool_calls=[go("pedir_rut")]),
        Scripted(text="¿Me indica los últimos cuatro dígitos de su RUT?"),
        Scripted(tool_calls=[rut, go("revelar")]),
        Scripted(text="Gracias, María. Tiene una cuota de 200.000 pesos. ¿Cuándo podría pagar?"),
    ]
    async with FakeOpenAI(script) as fake:
        brain = brain_for(fake.base_url)
        await collect(brain.start_stream())
        await collect(brain.stream(turn("Sí.")))
        said, replies = await collect(brain.stream(turn("Cinco seis siete ocho.")))
    filled, moved = [c for r in replies for c in r.tool_calls]
    assert filled.success
    assert filled.result == {"slots": {"national_id": "5678"}}
    assert moved.success
    assert brain.node == "revelar"
    assert brain.flow.identity_verified
    assert said[-1] == "¿Cuándo podría pagar?"
    before, after = system(fake.requests[2]), system(fake.requests[3])
    assert "200.000" not in before
    assert "aún no está verificada" in before
    assert "- monto_total: 200.000 pesos" in after
    assert "Paso actual de la conversación: revelar." in after


async def test_a_promise_through_the_flow_is_registered_and_the_flow_says_goodbye() -> None:
    date = ScriptedToolCall("fill_slots", {"pay_date": "2026-11-27", "amount": 200000})
    script = [
        Scripted(tool_calls=[go("revelar")]),
        Scripted(text="Tiene una cuota de 200.000 pesos. ¿Cuándo podría pagarla?"),
        Scripted(tool_calls=[go("confirmar_promesa")]),  # no date yet: refused
        Scripted(tool_calls=[date, go("confirmar_promesa", splits=3)]),
        Scripted(text="¿Me confirma que pagará 200.000 pesos el viernes 27?"),
        Scripted(tool_calls=[go("cierre_promesa")]),
        Scripted(text="This is never asked for: the call is over."),
    ]
    async with FakeOpenAI(script) as fake:
        brain = brain_for(fake.base_url, rut=None)
        await collect(brain.start_stream())
        await collect(brain.stream(turn("Sí, soy yo.")))
        said, replies = await collect(brain.stream(turn("El viernes pago todo.")))
        closing, last = await collect(brain.stream(turn("Sí, correcto.")))
    refused, filled, moved = [c for r in replies for c in r.tool_calls]
    assert refused.result == {
        "moved": False,
        "node": "revelar",
        "why": ["slot pay_date is not known yet"],
    }
    assert filled.success
    assert moved.success
    assert said == ["¿Me confirma que pagará 200.000 pesos el viernes 27?"]
    names = [c.name for r in last for c in r.tool_calls]
    assert names == ["go_to_node", "register_promise"]
    assert closing == [
        "Perfecto.",
        "Queda registrado su pago de 200.000 pesos el viernes 27 de noviembre.",
        "Muchas gracias, María, que tenga un buen día.",
    ]
    final = last[-1]
    assert final.end_call
    assert final.node == "cierre_promesa"
    assert final.outcome is CallOutcome.PROMISE_TO_PAY
    assert final.extracted == {
        "promised_amount": 200000,
        "promised_currency": "CLP",
        "promised_date": "2026-11-27",
    }
    assert len(fake.requests) == 6  # nothing asked of the model once the call ended
    # A turn after the end asks nothing either.
    _, after = await collect(brain.stream(turn("¿Aló?")))
    assert after[-1].end_call
    assert len(fake.requests) == 6


async def test_the_model_registers_a_promise_itself_after_verification() -> None:
    promise = ScriptedToolCall(
        "register_promise",
        {"amount": 100000, "currency": "CLP", "pay_date": "2026-11-30"},
        splits=7,
    )
    script = [
        Scripted(tool_calls=[go("revelar")]),
        Scripted(text="Tiene una cuota pendiente. ¿Cuándo podría pagar?"),
        Scripted(text="Muy bien.", tool_calls=[promise]),
        Scripted(text="Queda registrado."),
    ]
    async with FakeOpenAI(script) as fake:
        brain = brain_for(fake.base_url, rut=None)
        await collect(brain.start_stream())
        await collect(brain.stream(turn("Sí.")))
        said, replies = await collect(brain.stream(turn("Cien mil el lunes 30.")))
    assert said == ["Muy bien.", "Queda registrado."]
    [call] = [c for r in replies for c in r.tool_calls]
    assert call.name == "register_promise"
    assert call.success, call.result
    assert replies[-1].extracted["promised_date"] == "2026-11-30"
    assert replies[-1].outcome is CallOutcome.PROMISE_TO_PAY
    assert len(fake.requests) == 4


async def test_the_balance_follows_the_flow_verification() -> None:
    balance = ScriptedToolCall("get_account_balance", {})
    script = [Scripted(tool_calls=[balance]), Scripted(text="Primero debo verificar su identidad.")]
    async with FakeOpenAI(script) as fake:
        brain = brain_for(fake.base_url)
        await collect(brain.start_stream())
        _, replies = await collect(brain.stream(turn("¿Cuánto debo?")))
    [refused] = [c for r in replies for c in r.tool_calls]
    assert refused.result["error"] == "identity_not_verified"
    assert "200000" not in json.dumps(fake.requests[-1])


async def test_a_server_failure_falls_back_to_the_apology_as_the_llm_brain_does() -> None:
    async with FakeOpenAI([Scripted(fail="401")]) as fake:
        brain = brain_for(fake.base_url)
        await collect(brain.start_stream())
        parts = brain.stream(turn("Sí."))
        apology = await anext(parts)
        with pytest.raises(ProviderError, match="LLM failed"):
            await anext(parts)
    assert apology == "Disculpe, tengo un problema técnico. Le llamaremos más tarde."
    assert brain.node == "saludo"
    assert len(fake.requests) == 1  # a 4xx is not retried
