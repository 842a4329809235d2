"""The embedded conversation line the e2e tests talk through, on loopback WebRTC."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from realtime.agent_setup import flow_agent_for
from realtime.conversation_line import ConversationLine, SetupFactory
from realtime.inbound_routes import InboundDirectory
from realtime.providers.correction import OnlineCorrector
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.server import create_media_app
from realtime.signalling import signalling_router
from realtime.softphone_exchange import SoftphoneExchange
from realtime.webrtc import restrict_ice_to_loopback
from tests.fakes.loopback import LoopbackServer


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


class MediaWorker(LoopbackServer):
    """The media worker's app (signalling and controls) over `line`, on loopback."""

    def __init__(self, line: ConversationLine) -> None:
        super().__init__()
        router = signalling_router(line, SoftphoneExchange(), InboundDirectory({}, None))
        self.app = create_media_app(None, signalling=router)


async def until(check: Callable[[], bool], timeout_s: float) -> None:
    """Poll `check` every 50 ms until it holds.

    Raises:
        TimeoutError: it did not hold within `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)
