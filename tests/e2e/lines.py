"""The embedded conversation line the e2e tests talk through, on loopback WebRTC."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from realtime.agent_setup import flow_agent_for
from realtime.conversation_line import ConversationLine, SetupFactory
from realtime.providers.correction import OnlineCorrector
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.webrtc import restrict_ice_to_loopback


@contextlib.asynccontextmanager
async def loopback_line(
    agent_for: SetupFactory = flow_agent_for, **options: Any
) -> AsyncIterator[ConversationLine]:
    """faster-whisper, espeak-ng voices, online correction; ICE on 127.0.0.1 meanwhile."""
    restrict_ice_to_loopback()
    try:
        yield ConversationLine(
            agent_for=agent_for,
            stt=WhisperSTT(),
            tts=EspeakTTS(),
            # The bot speaks a little slower: espeak-ng's Spanish runs words together
            # ("las cuatro" as "la suato") and the recogniser then hears something else.
            bot_tts=EspeakTTS(speed_wpm=140),
            corrector=OnlineCorrector(),
            **options,
        )
    finally:
        restrict_ice_to_loopback(False)
