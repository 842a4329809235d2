"""The agent's side of one call: its peer connection, its voice, and its session.

Whoever is on the other side (the in-process bot, a softphone signalling over HTTP, a
browser), the agent's leg is the same: a peer connection with one outgoing voice track,
one incoming audio track, and a `CallSession` that holds the conversation over them.
The leg offers (an outbound call) or answers (an inbound call); either way `talk` runs
the session once the connection is up and returns the call's record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiortc import MediaStreamTrack

from centralita.correction.online import OnlineCorrector
from realtime.agents.setup import AgentSetup
from realtime.audio.playback import AgentVoiceTrack
from realtime.audio.recorder import CallRecorder
from realtime.legs.receive_buffer import shorten_receive_buffers
from realtime.legs.talking import open_session
from realtime.legs.webrtc import (
    IceServer,
    SessionDescription,
    apply_remote,
    new_peer_connection,
    wait_connected,
)
from realtime.providers.base import SpeechToText, TextToSpeech
from realtime.session.call_session import CallSession
from realtime.session.record import CallEvent, CallRecord

log = logging.getLogger(__name__)

# How long the peer may take to connect (ICE + DTLS) and to send its audio track.
CONNECT_TIMEOUT_S = 10.0


class AgentLeg:
    """One call's agent peer connection; `talk` holds the conversation on it."""

    def __init__(self, ice_servers: list[IceServer] | None = None) -> None:
        self.pc = new_peer_connection(ice_servers or [])
        self.voice = AgentVoiceTrack()
        self.pc.addTrack(self.voice)
        shorten_receive_buffers(self.pc)
        self.session: CallSession | None = None
        self._inbound: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
        self._hung_up_by: str | None = None
        self._closing: asyncio.Task[None] | None = None

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and not self._inbound.done():
                self._inbound.set_result(track)

    async def offer(self) -> SessionDescription:
        """The agent calls out: its offer, candidates included (no trickle ICE)."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return SessionDescription.of(self.pc.localDescription)

    async def accept(self, answer: SessionDescription) -> None:
        """The called side's answer to our offer.

        Raises:
            ValueError: the answer is not an SDP answer aiortc can use.
        """
        if answer.type != "answer":
            raise ValueError(f"expected an SDP answer, got {answer.type!r}")
        await apply_remote(self.pc, answer)

    async def answer(self, offer: SessionDescription) -> SessionDescription:
        """Someone calls the agent: our answer to their offer.

        Raises:
            ValueError: the offer is not an SDP offer aiortc can use (no audio, bad SDP).
        """
        if offer.type != "offer":
            raise ValueError(f"expected an SDP offer, got {offer.type!r}")
        await apply_remote(self.pc, offer)
        shorten_receive_buffers(self.pc)  # the offer may have added a transceiver
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return SessionDescription.of(self.pc.localDescription)

    async def talk(
        self,
        call_id: str,
        setup: AgentSetup,
        *,
        stt: SpeechToText,
        tts: TextToSpeech,
        corrector: OnlineCorrector | None = None,
        recorder: CallRecorder | None = None,
        on_event: Callable[[CallEvent], None] | None = None,
    ) -> CallRecord:
        """Wait for the connection, then hold the conversation until it ends.

        Raises:
            ConnectionError: the peer never connected or never sent audio.
        """
        await wait_connected(self.pc, CONNECT_TIMEOUT_S)
        try:
            inbound = await asyncio.wait_for(asyncio.shield(self._inbound), CONNECT_TIMEOUT_S)
        except TimeoutError as exc:
            raise ConnectionError("the peer connected but sent no audio") from exc
        self.session = open_session(
            call_id,
            setup,
            self.voice,
            stt=stt,
            tts=tts,
            corrector=corrector,
            recorder=recorder,
            on_event=on_event,
        )
        if self._hung_up_by is not None:
            self.session.hang_up(self._hung_up_by)
        return await self.session.run(inbound)

    def hang_up(self, by: str = "remote") -> None:
        """End the conversation (before it started, it ends as soon as it starts)."""
        self._hung_up_by = by
        if self.session is not None:
            self.session.hang_up(by)
        elif self._closing is None:
            # Not talking yet: closing the connection ends the wait for it at once.
            self._closing = asyncio.create_task(self.close())

    async def close(self) -> None:
        """Release the peer connection (idempotent)."""
        with contextlib.suppress(Exception):
            await self.pc.close()
