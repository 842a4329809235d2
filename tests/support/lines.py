"""The embedded conversation line the e2e tests talk through, on loopback WebRTC."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from centralita.correction.online import OnlineCorrector
from centralita.kernel.calls import DialRequest
from realtime.agents.setup import flow_agent_for
from realtime.conversation_line import ConversationLine, SetupFactory
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.server.app import create_media_app
from realtime.server.inbound import InboundDirectory
from realtime.server.signalling import signalling_router
from realtime.session.call_session import CallSession
from realtime.softphone.exchange import SoftphoneExchange
from realtime.softphone.script import BotLine, BotScript
from tests.support.fakes.loopback import LoopbackServer


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


def maria_calls(key: str, campaign_id: str) -> DialRequest:
    """A collections call to María (200.000 CLP due 2026-11-30) on the default flow."""
    return DialRequest(
        idempotency_key=key,
        to_number="+56961234567",
        campaign_id=campaign_id,
        contact_id=key,
        attempt_number=1,
        agent="cobranza-temprana",
        variables={"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"},
    )


def answers_whoever_speaks_next(reply: str) -> BotScript:
    """María confirms who she is, lets the agent reply, then answers the next voice.

    With the agent quiet (a supervisor took over), only the supervisor can be that voice.
    """
    return BotScript(
        lines=[
            BotLine(say="Sí, con ella habla."),
            BotLine(silent_s=0.2),
            BotLine(say=reply),
            BotLine(silent_s=60),
        ]
    )


async def after_the_first_exchange(line: ConversationLine, key: str) -> CallSession:
    """The call's session once the caller answered and the agent's reply is over."""
    await until(lambda: line.live_session(key) is not None, 20)
    session = line.live_session(key)
    assert session is not None
    await until(
        lambda: any(
            e.type == "transcript" and e.payload["speaker"] == "user" for e in session.record.events
        ),
        30,
    )
    await until(lambda: not session.agent_speaking, 30)
    return session
