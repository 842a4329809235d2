"""What a held conversation reports to the campaign when nothing was decided in it.

Real WebRTC calls on loopback between the agent (the shipped Spanish flow) and a bot
softphone; the recogniser and the voices are scripted, so each call takes seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from centralita.kernel.calls import CallOutcome, DialRequest
from realtime.agents.setup import flow_agent_for
from realtime.conversation_line import ConversationLine
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.softphone.script import BotLine, BotScript
from tests.support.providers import ScriptedSTT, ScriptedTTS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

# Quicker than speech (the agent's disclosure would take 9 s at a speaking pace).
_VOICE = ScriptedTTS(seconds_per_char=0.02)
DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}


@pytest_asyncio.fixture
async def stt() -> AsyncIterator[ScriptedSTT]:
    restrict_ice_to_loopback()
    try:
        yield ScriptedSTT()
    finally:
        restrict_ice_to_loopback(False)


def _request(key: str) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number="+56961234567",
        campaign_id="outcomes",
        contact_id=key,
        attempt_number=1,
        agent="cobranza-temprana",
        variables=DEBTOR,
    )


async def test_a_caller_who_hangs_up_before_deciding_is_no_decision_not_completed(
    stt: ScriptedSTT,
) -> None:
    # She confirms who she is, hears the first words about the payment, and hangs up.
    stt.add("Sí, con ella habla.", "...", "...")
    line = ConversationLine(agent_for=flow_agent_for, stt=stt, tts=_VOICE, bot_tts=ScriptedTTS())
    script = BotScript(lines=[BotLine(say="Sí, con ella habla.")], think_ms=100, linger_s=1.5)

    result = await line.converse(_request("hung-up"), script, datetime.now(UTC))

    record = line.records["hung-up"]
    assert record.ended_by == "remote_hangup", record.events
    assert [text for speaker, text in record.transcript if speaker == "user"]
    assert result.outcome is CallOutcome.NO_DECISION
    assert result.disconnection_reason == "remote_hangup"


async def test_a_conversation_the_agent_closes_without_an_outcome_is_completed(
    stt: ScriptedSTT,
) -> None:
    # A goodbye after identity: the flow says goodbye and hangs up (outcome_if_undecided).
    stt.add("Sí, con ella habla.", "Adiós.", "...")
    line = ConversationLine(agent_for=flow_agent_for, stt=stt, tts=_VOICE, bot_tts=ScriptedTTS())
    script = BotScript(
        # A last line the bot never gets to say: the agent hangs up first.
        lines=[
            BotLine(say="Sí, con ella habla."),
            BotLine(say="Adiós."),
            BotLine(say="¿Aló? ¿Sigue ahí?"),
        ],
        think_ms=100,
        linger_s=5.0,
    )

    result = await line.converse(_request("closed"), script, datetime.now(UTC))

    assert line.records["closed"].ended_by == "agent", line.records["closed"].transcript
    assert result.outcome is CallOutcome.COMPLETED
    # The bot, still waiting for the agent, was hung up on; what it lived is reported.
    assert line.bot_reports["closed"].lines_said == ["Sí, con ella habla.", "Adiós."]
