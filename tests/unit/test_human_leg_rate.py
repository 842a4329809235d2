"""A person taking a call over is heard at the call's own rate, on a phone too."""

from __future__ import annotations

import pytest

from realtime.audio.playback import AgentVoiceTrack
from realtime.legs.human import HumanLeg
from realtime.legs.media_stream import PhoneVoiceTrack
from realtime.providers.base import AgentBrain, AgentReply, BrainTurn
from realtime.session.call_session import CallSession
from tests.support.providers import ScriptedSTT, ScriptedTTS

pytestmark = pytest.mark.unit


class Quiet(AgentBrain):
    async def _start(self) -> AgentReply:
        return AgentReply()

    async def _respond(self, turn: BrainTurn) -> AgentReply:
        return AgentReply()


@pytest.mark.parametrize(
    ("voice", "rate"), [(AgentVoiceTrack(), 48_000), (PhoneVoiceTrack(lambda: None), 8_000)]
)
async def test_the_human_s_voice_is_relayed_at_the_voice_track_s_rate(
    voice: AgentVoiceTrack, rate: int
) -> None:
    session = CallSession(
        call_id="c", brain=Quiet(), stt=ScriptedSTT(), tts=ScriptedTTS(), voice=voice
    )
    human = HumanLeg(session, "ana", [])
    try:
        # What the voice track pulls from, 20 ms at its own rate each frame: a phone's
        # 8 kHz track must not play 48 kHz audio (six times too slow).
        assert human._from_human.rate == rate
    finally:
        await human.close()
