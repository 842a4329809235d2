"""Real conversations: the agent and a bot softphone talk over WebRTC on loopback.

Everything is the embedded default stack: espeak-ng voices on both sides, faster-whisper
hearing the bot, the shipped Spanish collections flow deciding. A call takes tens of
seconds, so each test is one call that checks what matters about it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from realtime.conversation_line import ConversationLine
from realtime.softphone.script import BotLine, BotScript
from tests.support.lines import loopback_line

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

SANTIAGO = ZoneInfo("America/Santiago")
DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def line() -> AsyncIterator[ConversationLine]:
    async with loopback_line() as conversation:
        yield conversation


def _request(key: str, variables: dict[str, object] | None = None) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number="+56961234567",
        campaign_id="e2e",
        contact_id=key,
        attempt_number=1,
        agent="cobranza-temprana",
        variables=variables or DEBTOR,
    )


async def _call(line: ConversationLine, key: str, *lines: BotLine) -> DialResult:
    return await line.converse(_request(key), BotScript(lines=list(lines)), datetime.now(UTC))


def _next_friday(today: date) -> date:
    return today + timedelta(days=(4 - today.weekday()) % 7 or 7)


def _agent_lines(line: ConversationLine, key: str) -> list[str]:
    return [text for speaker, text in line.records[key].transcript if speaker == "agent"]


@pytest.mark.asyncio(loop_scope="module")
async def test_a_debtor_promises_two_hundred_thousand_on_friday(line: ConversationLine) -> None:
    result = await _call(
        line,
        "promise",
        BotLine(say="Sí, con ella habla."),
        BotLine(say="Doscientos mil pesos, el viernes."),
        BotLine(say="Sí, correcto."),
        BotLine(say="No, gracias. Adiós."),
    )

    record = line.records["promise"]
    assert result.outcome is CallOutcome.PROMISE_TO_PAY, record.transcript_text()
    assert result.extracted["promised_amount"] == 200000
    assert (
        result.extracted["promised_date"] == _next_friday(datetime.now(SANTIAGO).date()).isoformat()
    )
    assert "user: " in (result.transcript or "")
    timed = [t for t in record.turns if t.voice_to_voice_ms is not None]
    assert timed, "no turn measured voice to voice"
    assert all(t.stt_ms and t.endpointing_ms for t in timed)
    assert line.bot_reports["promise"].voice_to_voice_ms


@pytest.mark.asyncio(loop_scope="module")
async def test_a_wrong_person_never_hears_about_the_debt(line: ConversationLine) -> None:
    result = await _call(line, "wrong", BotLine(say="No, no soy esa persona."))

    assert result.outcome is CallOutcome.WRONG_PERSON, line.records["wrong"].transcript_text()
    said = " ".join(_agent_lines(line, "wrong")).lower()
    assert said, "the agent said nothing"
    for secret in ("200.000", "200000", "doscientos", "30 de noviembre", "cuota", "deuda"):
        assert secret not in said


@pytest.mark.asyncio(loop_scope="module")
async def test_barge_in_stops_the_agent_within_300_ms(line: ConversationLine) -> None:
    await _call(
        line,
        "barge",
        BotLine(say="Sí, con ella habla."),
        # The agent thanks (~1.2 s), then discloses in a long sentence; talk over that.
        BotLine(say="Espere, espere, una pregunta por favor.", barge_in_after_ms=1800),
        BotLine(say="Por favor, no me vuelvan a llamar."),
    )

    record = line.records["barge"]
    assert any(e.type == "interruption" for e in record.events), record.transcript_text()
    assert [t for t in record.turns if t.interrupted]
    [interruption, *_] = [e for e in record.events if e.type == "interruption"]
    stop_ms = interruption.payload["stop_after_onset_ms"]
    assert stop_ms <= 300, f"playback stopped {stop_ms} ms after the bot's speech onset"
    # From the bot's ear (two network legs and jitter buffers included): the agent went
    # quiet while the bot was still saying its line (`python -m bench latency` gives the
    # figure; a wall-clock bound here would flake on a loaded machine).
    [heard_ms, *_] = line.bot_reports["barge"].barge_in_stop_ms
    line_ms = 1000 * len("Espere, espere, una pregunta por favor.") / 15  # ~15 chars/s
    assert heard_ms < line_ms, f"the agent talked {heard_ms:.0f} ms into the bot's line"
    # Only what was played is in the transcript: the disclosure line was cut short.
    full_disclosure = "que tiene una cuota pendiente de 200.000 pesos, que venció"
    assert interruption.payload["heard"] != "", record.transcript
    assert full_disclosure not in " ".join(_agent_lines(line, "barge"))


@pytest.mark.asyncio(loop_scope="module")
async def test_an_opt_out_ends_the_call_with_that_outcome(line: ConversationLine) -> None:
    result = await _call(
        line,
        "optout",
        BotLine(say="Sí, soy yo."),
        BotLine(say="Por favor, no me vuelvan a llamar."),
    )

    assert result.outcome is CallOutcome.OPT_OUT, line.records["optout"].transcript_text()
    tools = [e.payload["name"] for e in line.records["optout"].events if e.type == "tool_call"]
    assert "opt_out" in tools


@pytest.mark.asyncio(loop_scope="module")
async def test_a_callback_request_carries_the_time_asked(line: ConversationLine) -> None:
    result = await _call(
        line,
        "callback",
        BotLine(say="Sí, con ella habla."),
        # The pause keeps espeak-ng from running "las cuatro" together ("la suato").
        BotLine(say="Ahora no puedo. Llámeme mañana a las... cuatro, por favor."),
        # Only if the hour was lost: the agent asks for it, and may confirm it.
        BotLine(say="A las cuatro en punto."),
        BotLine(say="Sí, correcto."),
    )

    assert result.outcome is CallOutcome.CALLBACK_REQUESTED, line.records[
        "callback"
    ].transcript_text()
    asked = datetime.fromisoformat(result.extracted["callback_at"]).astimezone(SANTIAGO)
    tomorrow = datetime.now(SANTIAGO).date() + timedelta(days=1)
    heard = line.records["callback"].transcript_text()
    assert (asked.date(), asked.hour, asked.minute) == (tomorrow, 16, 0), heard
