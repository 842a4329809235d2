"""A person joining a call under way: a supervisor's softphone takes it over.

The supervisor's softphone sends an SDP offer; the media worker answers it with a
second peer connection on the same call. From then on the caller's audio is relayed to
the supervisor and the supervisor's voice to the caller (through the agent's voice
track, which the caller already receives), and the agent goes quiet: it stops speaking
and answering but keeps transcribing the caller. When the supervisor hangs up (or never
connects) the call is handed back to the agent; when the call ends, the supervisor's
connection is closed.

Keys the caller presses on a phone reach us as messages (Twilio's and Telnyx's `dtmf`,
SIP's RFC 4733 events), not in the audio relayed: the person hears them as the keypad's
tones, mixed into the caller's audio as each key is pressed (mixed, not queued after it,
so the relay's delay does not grow by a tone's length).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack
from av.frame import Frame
from av.packet import Packet

from centralita.kernel.call_events import CallEventType
from centralita.kernel.pcm import Pcm16
from realtime.audio.dtmf import dtmf_tones
from realtime.audio.frames import WEBRTC_RATE, InboundResampler
from realtime.audio.live_audio import LiveAudio, pump
from realtime.audio.playback import AgentVoiceTrack
from realtime.legs.receive_buffer import shorten_receive_buffers
from realtime.legs.webrtc import (
    IceServer,
    SessionDescription,
    apply_remote,
    new_peer_connection,
    wait_connected,
)
from realtime.session.call_session import CallSession
from realtime.session.record import CallEvent

log = logging.getLogger(__name__)

# How long the supervisor's softphone may take to connect before the agent gets the call back.
CONNECT_TIMEOUT_S = 10.0


class HumanLeg:
    """One person's peer connection into a call; `join` answers their offer and bridges."""

    def __init__(self, session: CallSession, by: str, ice_servers: list[IceServer]) -> None:
        self.session = session
        self.by = by
        self.pc = new_peer_connection(ice_servers)
        self._to_human = LiveAudio(WEBRTC_RATE)
        # Into the call at its own voice's rate: 48 kHz over WebRTC, 8 kHz on a phone.
        self._from_human = LiveAudio(session.voice.sample_rate)
        self.voice = AgentVoiceTrack()  # what the human hears: the caller
        self.voice.live = self._to_human
        self.pc.addTrack(self.voice)
        shorten_receive_buffers(self.pc)
        self._caller_resampler = InboundResampler(WEBRTC_RATE)
        self._keys: Pcm16 = np.zeros(0, dtype=np.int16)  # key tones still to be heard
        self._track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
        self._watch: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self.left = asyncio.Event()

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and not self._track.done():
                self._track.set_result(track)

    async def join(self, offer: SessionDescription) -> SessionDescription:
        """Answer the human's offer and take the call over from the agent.

        Raises:
            ValueError: the offer is not an SDP offer aiortc can use.
        """
        if offer.type != "offer":
            raise ValueError(f"expected an SDP offer, got {offer.type!r}")
        try:
            await apply_remote(self.pc, offer)
            shorten_receive_buffers(self.pc)  # the offer added the transceiver
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception:
            await self.close()
            raise
        self.session.control("takeover", by=self.by)
        self.session.voice.live = self._from_human
        self.session.caller_taps.append(self._hear_caller)
        self.session.record.listeners.append(self._hear_key)
        self.session.record.event(CallEventType.HUMAN_JOINED, by=self.by)
        self._watch = asyncio.create_task(self._bridge(), name=f"human-{self.by}")
        return SessionDescription.of(self.pc.localDescription)

    def _hear_caller(self, frame: Frame | Packet[Any]) -> None:
        samples = self._caller_resampler.convert(frame)
        if self._keys.size:
            samples, self._keys = mix(samples, self._keys)
        self._to_human.push(samples)

    def _hear_key(self, event: CallEvent) -> None:
        if event.type == CallEventType.DTMF:
            tone = dtmf_tones(str(event.payload["digit"]), WEBRTC_RATE)
            self._keys = np.concatenate([self._keys, tone])

    async def _bridge(self) -> None:
        """Relay the human's voice until they hang up; then give the call back."""
        try:
            await wait_connected(self.pc, CONNECT_TIMEOUT_S)
            track = await asyncio.wait_for(self._track, CONNECT_TIMEOUT_S)
            await pump(track, self._from_human, self._frame_error)
        except (ConnectionError, TimeoutError) as exc:
            self.session.record.event(
                CallEventType.ERROR, where="takeover", detail=str(exc) or repr(exc)
            )
        finally:
            self._leave()

    def _frame_error(self, detail: str) -> None:
        self.session.record.event(CallEventType.ERROR, where="takeover_audio", detail=detail)

    def _leave(self) -> None:
        if self.left.is_set():
            return
        self.left.set()
        session = self.session
        with contextlib.suppress(ValueError):
            session.caller_taps.remove(self._hear_caller)
        with contextlib.suppress(ValueError):
            session.record.listeners.remove(self._hear_key)
        if session.voice.live is self._from_human:
            session.voice.live = None
        if not session.ended:
            session.record.event(CallEventType.HUMAN_LEFT, by=self.by)
            session.hand_back(self.by)
        self._closing = asyncio.get_running_loop().create_task(self.close())

    async def close(self) -> None:
        """Hang up the human's side (idempotent); the agent's call goes on."""
        if self._watch is not None and not self._watch.done():
            self._watch.cancel()
        self.voice.stop()
        with contextlib.suppress(Exception):
            await self.pc.close()


def mix(samples: Pcm16, over: Pcm16) -> tuple[Pcm16, Pcm16]:
    """`samples` with the start of `over` added (clipped to int16), and what of `over`
    is left for the next samples."""
    n = min(samples.size, over.size)
    mixed = samples.astype(np.int32)
    mixed[:n] += over[:n]
    return np.clip(mixed, -32768, 32767).astype(np.int16), over[n:]
