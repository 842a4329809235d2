"""An LLM agent on a real call: bot softphone <-> agent over WebRTC <-> a local model server.

The model is `tests.support.fakes.openai_server`, streaming real chat-completion chunks over
loopback; everything else is the embedded stack (espeak-ng, faster-whisper, aiortc).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from centralita.kernel.calls import CallOutcome, DialRequest
from realtime.agents.llm.agent import LlmAgentDefinition
from realtime.agents.llm.brain import FILLERS
from realtime.agents.loader import parse_any_agent_data
from realtime.agents.setup import AgentSetup, setup_for
from realtime.conversation_line import ConversationLine
from realtime.softphone.script import BotLine, BotScript
from tests.support.fakes.elevenlabs_server import API_KEY, FakeElevenLabs
from tests.support.fakes.openai_server import FakeOpenAI, Scripted, ScriptedToolCall
from tests.support.lines import loopback_line

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

SANTIAGO = ZoneInfo("America/Santiago")
DEBTOR = {"nombre": "María", "monto_total": 200000, "empresa": "Banco Sur"}
CONFIRMATION = "Queda registrado su pago de 200.000 pesos para el viernes."


def _next_friday(today: date) -> date:
    return today + timedelta(days=(4 - today.weekday()) % 7 or 7)


def _agent(base_url: str, **more: Any) -> LlmAgentDefinition:
    definition = parse_any_agent_data(
        {
            **more,
            "kind": "llm",
            "name": "asistente-prueba",
            "language": "es-CL",
            "currency": "CLP",
            "variables": [{"name": "nombre", "required": True}],
            "model": {"base_url": base_url, "model": "fake-1"},
            "greeting": "Hola, le habla Sofía de {empresa}. ¿Hablo con {nombre}?",
            "prompt": "Eres Sofía, de {empresa}. {nombre} debe {monto_total} pesos.",
        }
    )
    assert isinstance(definition, LlmAgentDefinition)
    return definition


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def voices() -> AsyncIterator[dict[str, FakeElevenLabs]]:
    async with FakeElevenLabs() as working, FakeElevenLabs(fail="500") as failing:
        yield {"working": working, "failing": failing}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def line(
    fake: FakeOpenAI, voices: dict[str, FakeElevenLabs]
) -> AsyncIterator[ConversationLine]:
    agents = {"asistente-prueba": _agent(fake.base_url)}
    for name, server in voices.items():
        voice = {"voice_id": f"sofia-{name}", "base_url": server.base_url}
        agents[f"voz-{name}"] = _agent(fake.base_url, voice=voice)

    def agent_for(request: DialRequest) -> AgentSetup:
        return setup_for(agents[request.agent or "asistente-prueba"], request)

    async with loopback_line(agent_for) as conversation:
        yield conversation


def _request(key: str, agent: str = "asistente-prueba") -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number="+56961234567",
        campaign_id="e2e-llm",
        contact_id=key,
        attempt_number=1,
        agent=agent,
        variables=DEBTOR,
    )


def _agent_lines(line: ConversationLine, key: str) -> list[str]:
    return [text for speaker, text in line.records[key].transcript if speaker == "agent"]


@pytest.mark.asyncio(loop_scope="module")
async def test_the_model_registers_a_promise_from_split_deltas_and_confirms_it_aloud(
    line: ConversationLine, fake: FakeOpenAI
) -> None:
    friday = _next_friday(datetime.now(SANTIAGO).date()).isoformat()
    promise = ScriptedToolCall(
        "register_promise", {"amount": 200000, "currency": "CLP", "pay_date": friday}, splits=6
    )
    # The model verifies María before it speaks of the debt: a promise waits for that.
    verify = ScriptedToolCall("lookup_customer", {"name": "María"})
    fake.script[:] = [
        Scripted(tool_calls=[verify]),
        Scripted(text="Gracias, María. Tiene una cuota pendiente. ¿Cuándo podría pagarla?"),
        Scripted(text="Perfecto.", tool_calls=[promise]),
        Scripted(text=CONFIRMATION),
        Scripted(text="Gracias a usted. Que tenga un buen día.", tool_calls=[end_call()]),
    ]
    before = len(fake.requests)
    result = await line.converse(
        _request("llm-promise"),
        BotScript(
            lines=[
                BotLine(say="Sí, con ella habla."),
                BotLine(say="Doscientos mil pesos, el viernes."),
                BotLine(say="No, gracias. Adiós."),
            ]
        ),
        datetime.now(UTC),
    )

    record = line.records["llm-promise"]
    assert result.outcome is CallOutcome.PROMISE_TO_PAY, record.transcript_text()
    assert result.extracted["promised_amount"] == 200000
    assert result.extracted["promised_date"] == friday
    [call] = [
        e
        for e in record.events
        if e.type == "tool_call" and e.payload["name"] == "register_promise"
    ]
    assert call.payload["success"] is True
    # Said aloud: the confirmation is in the transcript, which keeps only what was played.
    assert CONFIRMATION in _agent_lines(line, "llm-promise")
    # The model was told the tool's result before it confirmed.
    follow_up: list[dict[str, Any]] = fake.requests[before + 3]["messages"]
    assert follow_up[-1]["role"] == "tool"
    assert record.usage.llm_tokens > 0
    assert line.bot_reports["llm-promise"].voice_to_voice_ms


@pytest.mark.asyncio(loop_scope="module")
async def test_a_model_failing_mid_turn_is_covered_by_a_filler_within_two_seconds(
    line: ConversationLine, fake: FakeOpenAI
) -> None:
    fake.script[:] = [
        Scripted(fail="500"),
        Scripted(text="Disculpe la espera, María. ¿En qué le puedo ayudar?", delay_s=0.3),
    ]
    result = await line.converse(
        _request("llm-500"),
        BotScript(lines=[BotLine(say="Sí, con ella habla.")]),
        datetime.now(UTC),
    )

    record = line.records["llm-500"]
    said = _agent_lines(line, "llm-500")
    assert FILLERS["es"] in said, record.transcript_text()
    assert "¿En qué le puedo ayudar?" in said
    # The filler is the turn's first sound, before the model's late answer (how soon:
    # `python -m bench latency`; a wall-clock bound here would flake on a loaded machine).
    [turn] = [t for t in record.turns if t.user_text]
    assert turn.voice_to_voice_ms is not None
    assert turn.agent_text.startswith(FILLERS["es"]), turn
    assert result.outcome is not CallOutcome.FAILED


def end_call() -> ScriptedToolCall:
    return ScriptedToolCall("end_call", {"reason": "despedida"})


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("voice", ["working", "failing"])
async def test_the_agents_elevenlabs_voice_or_espeak_when_it_fails(
    line: ConversationLine,
    fake: FakeOpenAI,
    voices: dict[str, FakeElevenLabs],
    voice: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ELEVENLABS_API_KEY", API_KEY)
    fake.script[:] = [Scripted(text="Muchas gracias, María. Le llamaré otro día.")]
    key = f"llm-voice-{voice}"
    await line.converse(
        _request(key, agent=f"voz-{voice}"),
        BotScript(lines=[BotLine(say="Sí, con ella habla.")]),
        datetime.now(UTC),
    )

    record = line.records[key]
    said = _agent_lines(line, key)
    assert "Muchas gracias, María." in said, record.transcript_text()
    assert line.bot_reports[key].heard_s > 1.0  # the caller heard the agent either way
    asked = [r["text"] for r in voices[voice].requests]
    assert "Hola, le habla Sofía de Banco Sur." in asked
    errors = [e for e in record.events if e.type == "error" and e.payload["where"] == "tts"]
    if voice == "working":
        assert not errors
    else:
        # The first failure of each turn moves the rest of the turn to espeak-ng.
        assert errors
        assert errors[0].payload["fallback"] == "espeak"
