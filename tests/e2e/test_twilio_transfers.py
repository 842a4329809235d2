"""Handing a phone call to a person through Twilio: warm, cold, and nobody answering.

The caller (a persona over the fake Twilio's media stream) asks for a human; the
shipped flow's `transfer_to_agent` asks the call session to hand the call over, and the
media worker's Twilio dialer does: warm (the person is rung and briefed on a call of
their own, and only once they answered is the caller redirected into their conference
room), or cold (the caller's call is redirected to `<Dial>` the person). A person who
does not answer leaves the caller with the agent, who says so and leaves a callback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import pytest_asyncio

from centralita.kernel.calls import CallOutcome, DialRequest
from realtime.audio.playback import AgentVoiceTrack
from realtime.carrier.simulated import Persona, PersonaStep
from realtime.providers.base import AgentBrain, AgentReply, BrainTurn
from realtime.session.call_session import CallSession
from realtime.softphone.script import BotLine, BotScript
from tests.support.lines import after_the_first_exchange, loopback_line, until
from tests.support.phones import Phones, twilio_phones
from tests.support.providers import ScriptedSTT, ScriptedTTS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

HUMAN_OK, HUMAN_AWAY = "+56229997777", "+56229996666"
DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}


def asks_for_a_human(number: str) -> Persona:
    # "Quiero hablar con un humano": what Whisper base hears right over 8 kHz espeak-ng
    # ("con una persona" comes out as "con un haberson").
    script = BotScript(
        lines=[
            BotLine(say="Sí, con ella habla."),
            BotLine(say="Quiero hablar con un humano."),
            BotLine(silent_s=25),
        ]
    )
    step = PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=0.2, conversation=script)
    return Persona(number=number, name=number, script=[step])


def person(number: str, outcome: CallOutcome) -> Persona:
    step = PersonaStep(outcome=outcome, ring_seconds=0.5, talk_seconds=3)
    return Persona(number=number, name=number, script=[step])


PERSONAS = [
    asks_for_a_human("+56961100001"),
    asks_for_a_human("+56961100002"),
    asks_for_a_human("+56961100003"),
    Persona(
        number="+56961100004",
        name="talks, then waits",
        script=[
            PersonaStep(
                outcome=CallOutcome.COMPLETED,
                ring_seconds=0.2,
                conversation=BotScript(
                    lines=[BotLine(say="Sí, con ella habla."), BotLine(silent_s=30)]
                ),
            )
        ],
    ),
    person(HUMAN_OK, CallOutcome.COMPLETED),
    person(HUMAN_AWAY, CallOutcome.NO_ANSWER),
]


def request(key: str, number: str) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number=number,
        campaign_id="transfers",
        contact_id=key,
        attempt_number=1,
        agent="cobranza-temprana",
        variables=DEBTOR,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def line() -> AsyncIterator[Any]:
    async with loopback_line() as conversation:
        yield conversation


def _phones(line: Any, **options: Any) -> AbstractAsyncContextManager[Phones]:
    return twilio_phones(PERSONAS, line, transfer_ring_s=5, **options)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_warm_transfer_briefs_the_person_then_joins_the_caller(line: Any) -> None:
    async with _phones(line, transfer_to=HUMAN_OK, transfer_mode="warm") as phones:
        result = await phones.dialer.dial(request("tr-warm", "+56961100001"))
        record = phones.line.records["tr-warm"]
        assert result.disconnection_reason == "transfer", record.transcript_text()
        assert result.outcome is CallOutcome.COMPLETED
        [caller] = phones.calls_to("+56961100001")
        [human] = phones.calls_to(HUMAN_OK)
        # The person answered first and heard who and why, then the caller joined them.
        assert "María" in " ".join(human.said)
        rooms = phones.twilio.conferences
        await until(lambda: sum(map(len, rooms.values())) == 2, 10)
        assert list(rooms.values()) == [[human.sid, caller.sid]]
        assert "<Conference" in caller.redirects[0]


@pytest.mark.asyncio(loop_scope="module")
async def test_nobody_answering_leaves_the_caller_with_the_agent_and_a_callback(
    line: Any,
) -> None:
    async with _phones(line, transfer_to=HUMAN_AWAY, transfer_mode="warm") as phones:
        result = await phones.dialer.dial(request("tr-away", "+56961100002"))
        record = phones.line.records["tr-away"]
        said = " ".join(text for who, text in record.transcript if who == "agent")
        assert result.outcome is CallOutcome.CALLBACK_REQUESTED, record.transcript_text()
        assert "no hay una ejecutiva disponible" in said  # the caller was told
        [caller] = phones.calls_to("+56961100002")
        assert caller.redirects == []  # never sent anywhere: the agent kept the call
        [human] = phones.calls_to(HUMAN_AWAY)
        await until(lambda: human.status in {"no-answer", "canceled"}, 10)
        assert phones.twilio.conferences == {}


@pytest.mark.asyncio(loop_scope="module")
async def test_a_cold_transfer_puts_the_caller_straight_through(line: Any) -> None:
    async with _phones(line, transfer_to=HUMAN_OK, transfer_mode="cold") as phones:
        result = await phones.dialer.dial(request("tr-cold", "+56961100003"))
        record = phones.line.records["tr-cold"]
        assert result.disconnection_reason == "transfer", record.transcript_text()
        [caller] = phones.calls_to("+56961100003")
        assert "<Dial" in caller.redirects[0]
        assert HUMAN_OK in caller.redirects[0]
        await until(lambda: bool(phones.calls_to(HUMAN_OK)), 10)
        [human] = phones.calls_to(HUMAN_OK)
        assert human.parent_sid == caller.sid  # dialled from the caller's call
        await until(lambda: human.status == "completed", 15)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_supervisor_hands_a_phone_call_to_a_person(line: Any) -> None:
    async with _phones(line, transfer_to=HUMAN_OK, transfer_mode="warm") as phones:
        dialing = asyncio.create_task(phones.dialer.dial(request("tr-supervisor", "+56961100004")))
        session = await after_the_first_exchange(phones.line, "tr-supervisor")
        session.control("transfer", by="ana")
        result = await asyncio.wait_for(dialing, 60)

        record = phones.line.records["tr-supervisor"]
        said = " ".join(text for who, text in record.transcript if who == "agent")
        assert result.disconnection_reason == "transfer", record.transcript_text()
        assert "Le comunico con una ejecutiva" in said  # the caller was told
        controls = [e.payload for e in record.events if e.type == "control"]
        assert controls[-1]["action"] == "transfer"
        assert controls[-1]["by"] == "ana"
        [caller] = phones.calls_to("+56961100004")
        [human] = phones.calls_to(HUMAN_OK)
        rooms = phones.twilio.conferences
        await until(lambda: sum(map(len, rooms.values())) == 2, 10)
        assert list(rooms.values()) == [[human.sid, caller.sid]]


def test_a_call_whose_leg_cannot_ring_a_person_refuses_the_transfer() -> None:
    session = CallSession(
        call_id="webrtc-call",
        brain=MenuLessBrain(),
        stt=ScriptedSTT(),
        tts=ScriptedTTS(),
        voice=AgentVoiceTrack(),
    )
    with pytest.raises(ValueError, match="take the call over instead"):
        session.control("transfer", by="ana")
    assert not any(e.type == "control" for e in session.record.events)  # nothing logged


class MenuLessBrain(AgentBrain):
    async def _start(self) -> AgentReply:
        return AgentReply()

    async def _respond(self, turn: BrainTurn) -> AgentReply:
        return AgentReply()
