"""The LLM brain against a local OpenAI-compatible server: streaming, tools, failures."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.kernel.llm import LlmEndpoint
from centralita.understanding.model import Steering
from realtime.agents.flows.tools import ToolContext
from realtime.agents.llm.brain import APOLOGIES, FILLERS, LlmBrain
from realtime.agents.model_config import LlmConfig
from realtime.providers.base import ProviderError
from tests.support.brain_turns import collect, turn
from tests.support.fakes.openai_server import FakeOpenAI, Scripted, ScriptedToolCall

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Santiago"))
VARIABLES = {"nombre": "María", "monto_total": 200000, "rut": "12.345.678-5"}


def brain_for(
    base_url: str,
    *,
    fallback: str | None = None,
    filler_after_s: float = 1.5,
    timeout_s: float = 8.0,
) -> tuple[LlmBrain, ToolContext]:
    ctx = ToolContext(now=NOW, variables=VARIABLES)
    config = LlmConfig(
        endpoint=LlmEndpoint(base_url=base_url, model="fake-1"),
        fallback=LlmEndpoint(base_url=fallback, model="fake-2") if fallback else None,
        filler_after_s=filler_after_s,
        request_timeout_s=timeout_s,
    )
    brain = LlmBrain(
        config,
        instructions="Eres Sofía, de Banco Sur. Hablas con {nombre}.",
        variables=VARIABLES,
        language="es-CL",
        tool_context=ctx,
        greeting="Hola, ¿hablo con {nombre}?",
    )
    return brain, ctx


async def test_the_greeting_is_filled_and_needs_no_model() -> None:
    async with FakeOpenAI() as fake:
        brain, _ = brain_for(fake.base_url)
        said, _ = await collect(brain.start_stream())
    assert said == ["Hola, ¿hablo con María?"]
    assert fake.requests == []


async def test_the_first_sentence_is_out_before_the_model_finishes() -> None:
    text = "Perfecto, María. Le cuento que tiene una cuota pendiente. ¿Cuándo podría pagarla?"
    async with FakeOpenAI([Scripted(text=text, pause_s=0.05)]) as fake:
        brain, _ = brain_for(fake.base_url)
        await collect(brain.start_stream())
        parts = brain.stream(turn("Sí, soy yo."))
        first = await anext(parts)
        assert first == "Perfecto, María."
        assert fake.completed == 0  # the model is still writing
        rest, replies = await collect(parts)
    assert rest == ["Le cuento que tiene una cuota pendiente.", "¿Cuándo podría pagarla?"]
    assert replies[-1].llm_tokens == 70
    sent = fake.requests[0]
    assert sent["stream"] is True
    assert sent["messages"][0]["role"] == "system"
    assert "María" in sent["messages"][0]["content"]  # variables filled
    assert sent["messages"][-1] == {"role": "user", "content": "Sí, soy yo."}
    assert {t["function"]["name"] for t in sent["tools"]} >= {"register_promise", "opt_out"}


async def test_a_promise_from_split_tool_call_deltas_is_registered_and_confirmed() -> None:
    promise = ScriptedToolCall(
        "register_promise",
        {"amount": 200000, "currency": "CLP", "pay_date": "2026-11-27"},
        splits=7,
    )
    script = [
        Scripted(text="Muy bien.", tool_calls=[promise]),
        Scripted(text="Queda registrado su pago de 200.000 pesos para el viernes 27."),
    ]
    async with FakeOpenAI(script) as fake:
        brain, ctx = brain_for(fake.base_url)
        said, replies = await collect(brain.stream(turn("Doscientos mil el viernes.")))
    assert said == ["Muy bien.", "Queda registrado su pago de 200.000 pesos para el viernes 27."]
    [call] = [c for r in replies for c in r.tool_calls]
    assert call.name == "register_promise"
    assert call.success, call.result
    assert ctx.extracted["promised_amount"] == 200000
    assert str(ctx.extracted["promised_date"]) == "2026-11-27"
    # The tool's result went back to the model before it confirmed aloud.
    follow_up = fake.requests[1]["messages"]
    assert follow_up[-2]["tool_calls"][0]["function"]["name"] == "register_promise"
    assert follow_up[-1]["role"] == "tool"
    assert follow_up[-1]["content"] == '{"registered": true}'


async def test_the_balance_is_refused_until_identity_is_verified() -> None:
    balance = ScriptedToolCall("get_account_balance", {})
    verify = ScriptedToolCall("lookup_customer", {"national_id_digits": "5678"})
    script = [
        Scripted(tool_calls=[balance]),
        Scripted(text="Primero necesito verificar su identidad."),
        Scripted(tool_calls=[verify, balance]),
        Scripted(text="Gracias. Su saldo es de 200.000 pesos."),
    ]
    async with FakeOpenAI(script) as fake:
        brain, ctx = brain_for(fake.base_url)
        _, first = await collect(brain.stream(turn("¿Cuánto debo?")))
        _, second = await collect(brain.stream(turn("Mi RUT termina en 5678.")))
    [refused] = [c for r in first for c in r.tool_calls]
    assert not refused.success
    assert refused.result["error"] == "identity_not_verified"
    verified, allowed = [c for r in second for c in r.tool_calls]
    assert verified.result == {"verified": True, "name": "María"}
    assert allowed.success
    assert allowed.result["amount_due"] == 200000
    assert ctx.identity_verified


async def test_a_server_error_says_the_filler_then_retries() -> None:
    script = [Scripted(fail="500"), Scripted(text="Disculpe la espera. ¿En qué le ayudo?")]
    async with FakeOpenAI(script) as fake:
        brain, _ = brain_for(fake.base_url)
        said, _ = await collect(brain.stream(turn("Hola.")))
    assert said == [FILLERS["es"], "Disculpe la espera.", "¿En qué le ayudo?"]
    assert len(fake.requests) == 2


async def test_a_stalled_model_gets_a_filler_then_the_fallback_endpoint_answers() -> None:
    async with (
        FakeOpenAI([Scripted(fail="slow")]) as primary,
        FakeOpenAI([Scripted(text="Aquí estoy.")]) as fallback,
    ):
        brain, _ = brain_for(
            primary.base_url, fallback=fallback.base_url, filler_after_s=0.3, timeout_s=1.0
        )
        said, _ = await collect(brain.stream(turn("¿Aló?")))
    assert said == [FILLERS["es"], "Aquí estoy."]
    assert fallback.requests[0]["model"] == "fake-2"


async def test_a_rejected_key_is_not_retried_and_the_agent_apologises() -> None:
    async with FakeOpenAI([Scripted(fail="401"), Scripted(text="never")]) as fake:
        brain, _ = brain_for(fake.base_url)
        said: list[str] = []

        async def listen() -> None:
            async for part in brain.stream(turn("Hola.")):
                if isinstance(part, str):
                    said.append(part)

        with pytest.raises(ProviderError, match="401"):
            await listen()
    assert said == [APOLOGIES["es"]]
    assert len(fake.requests) == 1


async def test_a_stream_dropped_halfway_keeps_what_was_said_and_does_not_repeat() -> None:
    text = "Primera frase completa. Segunda frase completa. Tercera frase que no llega."
    async with FakeOpenAI([Scripted(text=text, fail="drop", chunk_chars=4)]) as fake:
        brain, _ = brain_for(fake.base_url)
        said, _ = await collect(brain.stream(turn("Hola.")))
    assert said[0] == "Primera frase completa."
    assert "Tercera frase que no llega." not in said
    assert len(fake.requests) == 1


async def test_closing_the_stream_hangs_up_on_the_model() -> None:
    text = "Uno. Dos. Tres. Cuatro. Cinco. Seis. Siete. Ocho."
    async with FakeOpenAI([Scripted(text=text, pause_s=0.1)]) as fake:
        brain, _ = brain_for(fake.base_url)
        parts = brain.stream(turn("Hola."))
        assert await anext(parts) == "Uno."
        await parts.aclose()  # what a barge-in does
        for _ in range(50):
            if fake.abandoned:
                break
            await asyncio.sleep(0.02)
    assert fake.abandoned == 1
    assert fake.completed == 0


async def test_context_advice_reaches_the_system_prompt() -> None:
    async with FakeOpenAI([Scripted(text="Le transfiero.")]) as fake:
        brain, _ = brain_for(fake.base_url)
        await collect(brain.stream(turn("Quiero hablar con una persona.", Steering.TRANSFER_NOW)))
    assert "transfer_to_agent" in fake.requests[0]["messages"][0]["content"]
