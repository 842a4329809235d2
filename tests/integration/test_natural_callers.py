"""A persona speaking with a Kokoro voice over a telephone-band line, heard by the real
agent (faster-whisper, the shipped flow), and the agent's greeting rendered ahead.

Real WebRTC on loopback, real models; one exchange, so the call takes seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from centralita.kernel.calls import DialRequest
from realtime.agents.setup import flow_agent_for
from realtime.conversation_line import ConversationLine
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.espeak import EspeakTTS
from realtime.providers.rendered_lines import CachedVoice
from realtime.providers.whisper import WhisperSTT
from realtime.softphone.script import BotLine, BotScript

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}


@pytest_asyncio.fixture
async def line() -> AsyncIterator[ConversationLine]:
    restrict_ice_to_loopback()
    try:
        yield ConversationLine(
            agent_for=flow_agent_for,
            stt=WhisperSTT(),
            tts=EspeakTTS(),
            bot_tts=EspeakTTS(speed_wpm=140),
            keep_finished=4,
        )
    finally:
        restrict_ice_to_loopback(False)


async def test_a_kokoro_voiced_caller_on_a_phone_line_is_heard_and_the_greeting_was_ready(
    line: ConversationLine,
) -> None:
    request = DialRequest(
        idempotency_key="natural-caller",
        to_number="+56961234567",
        campaign_id="natural",
        contact_id="maria",
        attempt_number=1,
        agent="cobranza-temprana",
        variables=DEBTOR,
    )
    script = BotScript(
        voice="kokoro:em_alex",
        line="telephone",
        lines=[BotLine(say="Sí, con ella habla.")],
        linger_s=2.0,
    )

    await line.converse(request, script, datetime.now(UTC))

    record = line.records["natural-caller"]
    heard = " ".join(text for speaker, text in record.transcript if speaker == "user").lower()
    assert "con ella" in heard, record.transcript
    # The greeting was rendered while the call was being set up, and played from memory.
    voice = line.tts
    assert isinstance(voice, CachedVoice)
    assert voice.stats.rendered_ahead >= 1
    assert voice.stats.served_ahead >= 1
    assert record.first_audio_ms is not None
    assert record.first_audio_ms < 5_000
