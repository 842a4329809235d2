"""What a conversation line keeps of calls that ended: bounded, and nothing in the worker.

Real WebRTC calls on loopback between the agent (the shipped Spanish flow) and a bot
softphone that confirms who she is and says goodbye; the agent closes each call. The
recogniser and the voices are scripted, so a call takes a few seconds.
`python -m bench memory` measures the same over hundreds of calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest
import pytest_asyncio

from centralita.kernel.calls import CallOutcome, DialRequest
from centralita.kernel.settings import Settings
from realtime import conversation_line as line_module
from realtime.agents.setup import flow_agent_for
from realtime.carrier.simulated import Persona, PersonaBook, PersonaStep
from realtime.conversation_line import CallNotLiveError, ConversationLine
from realtime.legs.webrtc import SessionDescription, restrict_ice_to_loopback
from realtime.session.call_session import CallSession
from realtime.softphone.script import BotLine, BotScript
from tests.support.lines import until
from tests.support.providers import ScriptedSTT, ScriptedTTS
from workers.media import conversation_line, simulated_carrier

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

NUMBER = "+56961234567"
DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}
GOODBYE = BotScript(
    lines=[BotLine(say="Sí, con ella habla."), BotLine(say="Adiós, hasta luego.")],
    think_ms=100,
    linger_s=1.0,  # the agent, closing the call, hangs up first
)
# The agent speaks quickly (a disclosure takes seconds at a speaking pace), the caller
# slowly enough for the agent's voice detector.
AGENT_VOICE = ScriptedTTS(seconds_per_char=0.004)
CALLER_VOICE = ScriptedTTS(seconds_per_char=0.03)


@pytest_asyncio.fixture
async def stt() -> AsyncIterator[ScriptedSTT]:
    restrict_ice_to_loopback()
    try:
        yield ScriptedSTT()
    finally:
        restrict_ice_to_loopback(False)


def _hears_the_goodbye(stt: ScriptedSTT) -> None:
    """The next call's caller: who she is, then goodbye (and silence, should more come)."""
    stt.script.clear()
    stt.add("Sí, con ella habla.", "Adiós, hasta luego.", "...", "...")


def _request(key: str) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number=NUMBER,
        campaign_id="memory",
        contact_id=key,
        attempt_number=1,
        agent="cobranza-temprana",
        variables=DEBTOR,
    )


def _holds_no_call(line: ConversationLine) -> None:
    assert line._live == {}
    assert line._humans == {}


async def test_a_line_keeps_the_records_of_its_last_calls_only(stt: ScriptedSTT) -> None:
    line = ConversationLine(
        agent_for=flow_agent_for, stt=stt, tts=AGENT_VOICE, bot_tts=CALLER_VOICE, keep_finished=2
    )
    for n in range(1, 4):
        _hears_the_goodbye(stt)
        result = await line.converse(_request(f"call-{n}"), GOODBYE, datetime.now(UTC))
        assert result.outcome is CallOutcome.COMPLETED, result
    assert list(line.records) == ["call-2", "call-3"]
    assert list(line.bot_reports) == ["call-2", "call-3"]
    assert line.records["call-3"].ended_by == "agent"
    _holds_no_call(line)


async def test_the_media_worker_keeps_nothing_of_an_ended_call(
    stt: ScriptedSTT, tmp_path: Path
) -> None:
    step = PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=0, conversation=GOODBYE)
    book = tmp_path / "personas.json"
    book.write_text(
        PersonaBook(
            personas=[Persona(number=NUMBER, name="María", script=[step])]
        ).model_dump_json()
    )
    settings = Settings(_env_file=None, home=tmp_path, carrier_personas=book, record_calls=False)
    stored: list[str] = []
    line = conversation_line(settings, stt=stt, tts=AGENT_VOICE, bot_tts=CALLER_VOICE)
    line._on_call_ended = _stored_in(stored)
    carrier = simulated_carrier(settings, line)
    for n in range(1, 3):
        _hears_the_goodbye(stt)
        result = await carrier.dial(_request(f"worker-{n}"))
        assert result.outcome is CallOutcome.COMPLETED, result
    assert stored == ["worker-1", "worker-2"]  # each record went where it belongs
    assert line.records == {}
    assert line.bot_reports == {}
    _holds_no_call(line)
    assert carrier.dial_log == []
    assert carrier._results == {}


def _stored_in(stored: list[str]) -> line_module.CallEnded:
    async def store(request: DialRequest, *_: object) -> None:
        stored.append(request.idempotency_key)

    return store


class _LateHuman:
    """A person whose offer is still being answered when the call ends."""

    instances: ClassVar[list[_LateHuman]] = []
    line: ClassVar[ConversationLine]

    def __init__(self, session: CallSession, by: str, ice: object) -> None:
        self.session, self.by = session, by
        self.left = asyncio.Event()
        self.closed = False
        _LateHuman.instances.append(self)

    async def join(self, offer: SessionDescription) -> SessionDescription:
        self.session.hang_up("supervisor")
        # The line lets the call go (and whoever it holds for it) before this returns.
        await until(lambda: self.line.live_session(self.session.record.call_id) is None, 20)
        await asyncio.sleep(0.2)
        return SessionDescription(sdp="v=0", type="answer")

    async def close(self) -> None:
        self.closed = True


async def test_a_person_joining_a_call_that_ends_meanwhile_is_not_kept(
    stt: ScriptedSTT, monkeypatch: pytest.MonkeyPatch
) -> None:
    stt.add("Sí, con ella habla.", "...", "...")
    line = ConversationLine(
        agent_for=flow_agent_for, stt=stt, tts=AGENT_VOICE, bot_tts=CALLER_VOICE
    )
    waits = BotScript(lines=[BotLine(say="Sí, con ella habla."), BotLine(silent_s=30)])
    call = asyncio.create_task(line.converse(_request("joined"), waits, datetime.now(UTC)))
    try:
        await until(lambda: line.live_session("joined") is not None, 20)
        _LateHuman.line = line
        monkeypatch.setattr(line_module, "HumanLeg", _LateHuman)
        with pytest.raises(CallNotLiveError):
            await line.join_human("joined", SessionDescription(sdp="v=0", type="offer"), by="ana")
        assert _LateHuman.instances[-1].closed
        _holds_no_call(line)
    finally:
        await call
