"""What `bench handoff` drives: the API and the media worker on loopback, a tenant's
flow with a handoff policy, bots whose voices say when they started, and an operator
who follows the queue and answers through the API.

The tests have their own copies (tests/support/handoffs.py, tests/support/lines.py):
a benchmark imports no test code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import httpx
import uvicorn
import yaml
from fastapi import FastAPI

from centralita.kernel.pcm import Pcm16
from realtime.audio.playback import AgentVoiceTrack
from realtime.conversation_line import ConversationLine
from realtime.legs.webrtc import SessionDescription, new_peer_connection
from realtime.providers.base import TextToSpeech
from realtime.providers.espeak import EspeakTTS
from realtime.server.app import create_media_app
from realtime.server.inbound import InboundDirectory
from realtime.server.signalling import signalling_router
from realtime.softphone.bot import BotSoftphone
from realtime.softphone.exchange import SoftphoneExchange
from realtime.softphone.script import BotLine, BotScript


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """`app` served by uvicorn on a free 127.0.0.1 port (its lifespan included): the
    origin. Real HTTP, so server-sent events arrive as they are written."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1000):  # uvicorn has no "started" event to await
            if server.started:
                break
            if task.done():
                task.result()  # it failed to start: say why
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


def media_app(line: ConversationLine) -> FastAPI:
    """The media worker's app (signalling and call controls) over `line`."""
    router = signalling_router(line, SoftphoneExchange(), InboundDirectory({}, None))
    return create_media_app(None, signalling=router)


def flow_with_handoff(base: str, name: str, handoff: dict[str, Any]) -> dict[str, Any]:
    """The shipped flow `base`, renamed `name`, with a handoff policy (as a tenant writes it)."""
    text = resources.files("realtime").joinpath(f"agents/{base}.yaml").read_text(encoding="utf-8")
    definition: dict[str, Any] = yaml.safe_load(text)
    definition["name"] = name
    definition["handoff"] = handoff
    return definition


class TimedVoice(AgentVoiceTrack):
    """A bot's voice that notes when each line's first frame went out (time.monotonic())."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[float] = []

    def enqueue(
        self,
        samples: Pcm16,
        sample_rate: int,
        utterance_id: str,
        text: str,
        *,
        more_coming: bool = False,
    ) -> asyncio.Future[float | None]:
        first = super().enqueue(samples, sample_rate, utterance_id, text, more_coming=more_coming)
        first.add_done_callback(self._note)
        return first

    def _note(self, first: asyncio.Future[float | None]) -> None:
        if not first.cancelled() and (at := first.result()) is not None:
            self.started.append(at)


class TimedBot(BotSoftphone):
    """A bot softphone whose `timed_voice.started` says when it started each line."""

    def __init__(self, script: BotScript, tts: TextToSpeech) -> None:
        super().__init__(script, tts)
        self.timed_voice = TimedVoice()
        # Swapped before `attach` adds the track: the bot speaks through this one.
        self._voice = self.timed_voice


async def first_snapshot_with_a_call(
    api: httpx.AsyncClient, operator_id: str, timeout_s: float, following: asyncio.Event
) -> tuple[dict[str, Any], float]:
    """Follow the operator's queue until a call waits: that snapshot, and when it came
    (time.time(), comparable with the handoff's `decided_at`). `following` is set at
    the first snapshot: from then on a new call shows as soon as the API sends it."""
    async with (
        asyncio.timeout(timeout_s),
        api.stream("GET", f"/operators/{operator_id}/events", timeout=timeout_s) as stream,
    ):
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                snapshot: dict[str, Any] = json.loads(line.removeprefix("data: "))
                following.set()
                if snapshot["waiting"]:
                    return snapshot, time.time()
    raise TimeoutError("no call rang")


class AnsweringOperator:
    """An operator's bot softphone: it says `line` as soon as it is connected, then
    listens `linger_s` (the caller answers meanwhile)."""

    def __init__(self, line: str, linger_s: float = 6.0) -> None:
        self.bot = TimedBot(
            BotScript(speaks_first=True, lines=[BotLine(say=line)], linger_s=linger_s),
            EspeakTTS(speed_wpm=140),
        )
        self.pc = new_peer_connection()
        self.bot.attach(self.pc)
        self.answered_at = 0.0  # time.monotonic() of the answer POST

    async def answer(self, api: httpx.AsyncClient, operator_id: str) -> dict[str, Any]:
        """Answer the next call with this softphone's offer; the API's answer body."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.answered_at = time.monotonic()
        answered = await api.post(
            f"/operators/{operator_id}/answer",
            json={"sdp": self.pc.localDescription.sdp, "type": "offer"},
        )
        if answered.status_code != 200:
            raise RuntimeError(f"answer: {answered.status_code} {answered.text}")
        body: dict[str, Any] = answered.json()
        await self.pc.setRemoteDescription(
            SessionDescription(sdp=body["sdp"], type="answer").to_rtc()
        )
        return body

    async def hang_up(self) -> None:
        """Leave the call (it ends with the operator)."""
        await self.pc.close()
