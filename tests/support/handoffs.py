"""What handoff tests share: a shipped flow given a handoff policy, stored as a tenant's
agent, and an operator answering the human queue through the API with a bot softphone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, Protocol

import httpx
import numpy as np
import numpy.typing as npt
import yaml
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from centralita.kernel.pcm import Pcm16
from realtime.audio.dtmf import detect_key
from realtime.audio.frames import WEBRTC_RATE, InboundResampler
from realtime.audio.playback import AgentVoiceTrack
from realtime.conversation_line import ConversationLine
from realtime.legs.webrtc import SessionDescription, new_peer_connection
from realtime.providers.espeak import EspeakTTS
from realtime.softphone.bot import BotSoftphone
from realtime.softphone.script import BotLine, BotScript
from tests.support.lines import until

OPERATOR_WPM = 140  # the pace AnsweringOperator speaks at (its EspeakTTS)
_ENVELOPE_FRAME_S = 0.02


def flow_with_handoff(base: str, name: str, handoff: dict[str, Any]) -> dict[str, Any]:
    """The shipped flow `base`, renamed `name`, with a handoff policy (as a tenant writes it)."""
    text = resources.files("realtime").joinpath(f"agents/{base}.yaml").read_text(encoding="utf-8")
    definition: dict[str, Any] = yaml.safe_load(text)
    definition["name"] = name
    definition["handoff"] = handoff
    return definition


async def store_agent(api: httpx.AsyncClient, definition: dict[str, Any]) -> None:
    """Store the tenant's agent through the API (as a tenant would)."""
    stored = await api.put(f"/agents/{definition['name']}", json=definition)
    assert stored.status_code in (200, 201), stored.text


async def first_snapshot_with_a_call(
    api: httpx.AsyncClient, operator_id: str, timeout_s: float
) -> tuple[dict[str, Any], float]:
    """Follow the operator's queue until a call waits: that snapshot, and when it came
    (time.time(), comparable with the handoff's `decided_at`)."""
    async with (
        asyncio.timeout(timeout_s),
        api.stream("GET", f"/operators/{operator_id}/events", timeout=timeout_s) as stream,
    ):
        async for line in stream.aiter_lines():
            if not line.startswith("data: "):
                continue
            snapshot: dict[str, Any] = json.loads(line.removeprefix("data: "))
            if snapshot["waiting"]:
                return snapshot, time.time()
    raise TimeoutError("no call rang")


async def answer_next_call(
    pc: RTCPeerConnection, api: httpx.AsyncClient, operator_id: str
) -> dict[str, Any]:
    """The operator answers the next call with `pc`'s offer; the API's answer body."""
    await pc.setLocalDescription(await pc.createOffer())
    answered = await api.post(
        f"/operators/{operator_id}/answer",
        json={"sdp": pc.localDescription.sdp, "type": "offer"},
    )
    assert answered.status_code == 200, answered.text
    body: dict[str, Any] = answered.json()
    await pc.setRemoteDescription(SessionDescription(sdp=body["sdp"], type="answer").to_rtc())
    return body


@dataclass
class AnsweringOperator:
    """An operator's bot softphone: it says `line` as soon as it is connected."""

    line: str

    def __post_init__(self) -> None:
        self.bot = BotSoftphone(
            # Says its line at once, then listens a while (the caller answers meanwhile).
            BotScript(speaks_first=True, lines=[BotLine(say=self.line)], linger_s=8),
            EspeakTTS(speed_wpm=140),
        )
        self.pc = new_peer_connection()
        self.bot.attach(self.pc)

    async def answer(self, api: httpx.AsyncClient, operator_id: str) -> dict[str, Any]:
        """Answer the next call with this softphone's offer; the API's answer body."""
        return await answer_next_call(self.pc, api, operator_id)

    async def hang_up(self) -> None:
        await self.pc.close()


async def operator_line_match(heard: Pcm16, rate: int, line: str) -> float:
    """How surely `heard` (a phone's ear at `rate`) holds `line` as the AnsweringOperator
    says it: the best Pearson correlation, over every lag, of their 20 ms log-loudness
    envelopes.

    Why loudness and not a recogniser: espeak's voice through Opus, then 8 kHz G.711,
    comes back from Whisper as other words ("Buenas tardes, le habla Ana" as "Uveras
    tardes, le haurá"), one run in two. The envelope survives the codecs: the line heard
    scores about 0.95, the agent's lines before it (the same voice) 0.6, and the line
    played at the wrong rate (a bridge resampling 48 kHz as 8 kHz) 0.5.
    """
    tts = EspeakTTS(speed_wpm=OPERATOR_WPM, output_rate=rate)
    reference = _envelope((await tts.synthesize(line, language="es")).samples, rate)
    envelope = _envelope(heard, rate)
    if envelope.size < reference.size:
        return 0.0
    windows = np.lib.stride_tricks.sliding_window_view(envelope, reference.size)
    centred = windows - windows.mean(axis=1, keepdims=True)
    ref = reference - reference.mean()
    spread = np.linalg.norm(centred, axis=1) * np.linalg.norm(ref)
    scores = (centred @ ref) / np.where(spread == 0, np.inf, spread)
    return float(scores.max())


def _envelope(samples: Pcm16, rate: int) -> npt.NDArray[np.float64]:
    """log10 of each 20 ms frame's RMS (+10, so digital silence stays finite)."""
    size = int(rate * _ENVELOPE_FRAME_S)
    frames = samples[: samples.size // size * size].astype(np.float64).reshape(-1, size)
    envelope: npt.NDArray[np.float64] = np.log10(np.sqrt((frames**2).mean(axis=1)) + 10.0)
    return envelope


class ListeningOperator:
    """An operator's softphone that says nothing and keeps what it hears (48 kHz mono),
    for checks a bot's ear cannot make (the keys a caller pressed)."""

    def __init__(self) -> None:
        self.pc = new_peer_connection()
        self.voice = AgentVoiceTrack()  # silence: the operator only listens
        self.pc.addTrack(self.voice)
        self.heard: list[Pcm16] = []
        self._listening: asyncio.Task[None] | None = None

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and self._listening is None:
                self._listening = asyncio.create_task(self._listen(track))

    async def _listen(self, track: MediaStreamTrack) -> None:
        resampler = InboundResampler(WEBRTC_RATE)
        with contextlib.suppress(MediaStreamError):
            while True:
                self.heard.append(resampler.convert(await track.recv()))

    def heard_since(self, samples: int) -> Pcm16:
        """What it heard after its first `samples` samples."""
        heard = np.concatenate(self.heard) if self.heard else np.zeros(0, dtype=np.int16)
        return heard[samples:]

    @property
    def samples_heard(self) -> int:
        return sum(chunk.size for chunk in self.heard)

    async def answer(self, api: httpx.AsyncClient, operator_id: str) -> dict[str, Any]:
        """Answer the next call with this softphone's offer; the API's answer body."""
        return await answer_next_call(self.pc, api, operator_id)

    async def hang_up(self) -> None:
        self.voice.stop()
        await self.pc.close()
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening


def keys_in(audio: Pcm16, rate: int) -> str:
    """The keypad tones `audio` holds, in order (each key once per press)."""
    window = int(rate * 0.04)
    keys, last = [], None
    for start in range(0, audio.size - window + 1, window // 2):
        key = detect_key(audio[start : start + window], rate)
        if key is not None and key != last:
            keys.append(key)
        last = key
    return "".join(keys)


@dataclass
class Answered:
    """What the operator's side saw: the waiting call, when it rang, when they answered."""

    waiting: dict[str, Any]
    ring_ms: float
    answered_at: float  # time.monotonic()
    on_the_call: Any  # what the operator's side found while on the call


async def operator_available(api: httpx.AsyncClient, name: str) -> str:
    """Sign in an operator of `name` (the default queue) and make them available; their id."""
    operator = (await api.post("/operators/sign-in", json={"name": name})).json()
    status = await api.put(f"/operators/{operator['id']}/status", json={"status": "available"})
    assert status.status_code == 200, status.text
    return str(operator["id"])


class OperatorSoftphone(Protocol):
    """What answers the queue for an operator (AnsweringOperator, ListeningOperator)."""

    async def answer(self, api: httpx.AsyncClient, operator_id: str) -> dict[str, Any]: ...

    async def hang_up(self) -> None: ...


async def answer_once_told(
    api: httpx.AsyncClient,
    operator_id: str,
    line: ConversationLine,
    call: asyncio.Task[Any],
    softphone: OperatorSoftphone,
    on_the_call: Callable[[], Awaitable[Any]],
    at_once: bool,
) -> Answered:
    """Follow the queue until a call rings, let the caller hear they are put through (`at_once`:
    answer while they are told), then answer with `softphone`, do `on_the_call`, and
    hang up."""
    try:
        snapshot, rang_at = await first_snapshot_with_a_call(api, operator_id, 90)
    except TimeoutError:
        raise AssertionError(f"nothing rang; the call: {call}") from None
    waiting = snapshot["waiting"][0]
    ring_ms = (rang_at - datetime.fromisoformat(waiting["decided_at"]).timestamp()) * 1000
    session = line.live_session(waiting["call_key"])
    assert session is not None
    told = next(i for i, e in enumerate(session.record.events) if e.type == "handoff")
    await until(lambda: any(e.type == "transcript" for e in session.record.events[told:]), 10)
    await until(lambda: session.agent_speaking, 10)  # "Le comunico con una ejecutiva…"
    if at_once:
        await asyncio.sleep(0.5)  # into the line
    else:
        await until(lambda: not session.agent_speaking, 20)
        await asyncio.sleep(1.0)  # a pause, then a new voice, as on a real line
    answered_at = time.monotonic()
    body = await softphone.answer(api, operator_id)
    assert body["handoff"]["id"] == waiting["id"]
    try:
        found = await asyncio.wait_for(on_the_call(), 60)
    finally:
        await softphone.hang_up()  # the operator's call: the call ends with them
    return Answered(waiting, ring_ms, answered_at, found)
