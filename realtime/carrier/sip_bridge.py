"""Two SIP calls joined in the media worker: a caller handed to a person (a warm
transfer), after the agent has left.

A SIP trunk has no conference of its own to put both in, so the worker relays the
audio itself: every 20 ms frame one side's jitter buffer gives is sent to the other
(transcoded through PCM when the two sides agreed different codecs, µ-law and A-law or
G.711 and Opus, resampled between their rates; a lost frame is sent as silence, so both
far ends keep a steady stream), and keys pressed on one side are pressed on the
other. The bridge holds until either side hangs up (its BYE) or goes silent (no RTP for
`RTP_TIMEOUT_S`); then the other side is hung up and both RTP ports are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import numpy as np

from realtime.audio import g711
from realtime.audio.frames import PcmResampler
from realtime.legs.media_codecs import G711Codec, MediaCodecError, SipAudioCodec
from realtime.legs.sip_call import RTP_TIMEOUT_S
from realtime.sip.rtp_session import RtpSession
from realtime.sip.user_agent import SipCall, SipUserAgent

log = logging.getLogger(__name__)


@dataclass
class BridgedCall:
    """One side of the bridge: its call, its RTP and the codec it speaks (a G.711 law
    is short for its `G711Codec`)."""

    call: SipCall
    rtp: RtpSession
    codec: SipAudioCodec | g711.G711Law

    def __post_init__(self) -> None:
        if isinstance(self.codec, g711.G711Law):
            self.codec = G711Codec(self.codec)

    @property
    def audio(self) -> SipAudioCodec:
        """Its codec (always a codec object once built)."""
        assert not isinstance(self.codec, g711.G711Law)
        return self.codec

    def close(self) -> None:
        """Stop its RTP."""
        self.rtp.close()


class SipBridge:
    """Relays audio and keys between two calls until one of them ends."""

    def __init__(
        self,
        agent: SipUserAgent,
        a: BridgedCall,
        b: BridgedCall,
        *,
        rtp_timeout_s: float = RTP_TIMEOUT_S,
    ) -> None:
        self.agent = agent
        self.a = a
        self.b = b
        self._rtp_timeout_s = rtp_timeout_s
        self.frames_relayed = 0
        self._keys: set[asyncio.Task[None]] = set()

    async def run(self) -> str:
        """Relay until a side ends; which one did (``a``, ``b``, ``rtp_timeout``)."""
        self.a.rtp.on_digit = lambda digit: self._press(self.b, digit)
        self.b.rtp.on_digit = lambda digit: self._press(self.a, digit)
        relays = [
            asyncio.create_task(self._relay(self.a, self.b), name="bridge-a-b"),
            asyncio.create_task(self._relay(self.b, self.a), name="bridge-b-a"),
        ]
        ended = {
            asyncio.create_task(self._ended(self.a.call), name="bridge-a-end"): "a",
            asyncio.create_task(self._ended(self.b.call), name="bridge-b-end"): "b",
            asyncio.create_task(self._silence(), name="bridge-silence"): "rtp_timeout",
        }
        try:
            done, _ = await asyncio.wait(ended, return_when=asyncio.FIRST_COMPLETED)
            who = ended[done.pop()]
            log.info("bridge ended by %s after %d frames", who, self.frames_relayed)
            return who
        finally:
            for task in [*relays, *ended]:
                task.cancel()
            await asyncio.gather(*relays, *ended, *self._keys, return_exceptions=True)
            for side in (self.a, self.b):
                with contextlib.suppress(Exception):
                    await self.agent.bye(side.call)  # nothing is sent for a side that ended
                side.close()

    async def _relay(self, source: BridgedCall, target: BridgedCall) -> None:
        decoder, encoder = source.audio, target.audio
        # The same stateless codec passes payloads through untouched; Opus keeps state
        # per stream, so Opus to Opus is transcoded too (each side its own encoder).
        passthrough = isinstance(decoder, G711Codec) and isinstance(encoder, G711Codec)
        passthrough = passthrough and decoder.name == encoder.name
        silence = encoder.encode(encoder.silence()) if passthrough else b""
        transcoder = _Transcoder(decoder, encoder)
        async for payload in source.rtp.frames():
            if passthrough:
                target.rtp.send_audio(silence if payload is None else payload)
            else:
                target.rtp.send_audio(transcoder.frame(payload))
            self.frames_relayed += 1

    def _press(self, target: BridgedCall, digit: str) -> None:
        task = asyncio.create_task(self._send_key(target, digit))
        self._keys.add(task)
        task.add_done_callback(self._keys.discard)

    async def _send_key(self, target: BridgedCall, digit: str) -> None:
        try:
            await target.rtp.send_dtmf(digit)
        except ValueError as exc:  # that side agreed no telephone-events
            log.info("bridge: key %s not relayed: %s", digit, exc)

    @staticmethod
    async def _ended(call: SipCall) -> None:
        await asyncio.shield(call.ended)

    async def _silence(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            await asyncio.sleep(0.5)
            for side in (self.a, self.b):
                last = side.rtp.last_received_at or started
                if loop.time() - last > self._rtp_timeout_s:
                    return


class _Transcoder:
    """One direction's payloads re-encoded for the other side: decoded, resampled as
    one stream (per-frame resampling would click at every frame's edge) and cut into
    the encoder's 20 ms frames."""

    def __init__(self, decoder: SipAudioCodec, encoder: SipAudioCodec) -> None:
        self._decoder = decoder
        self._encoder = encoder
        rates = decoder.sample_rate, encoder.sample_rate
        self._resampler = PcmResampler(*rates) if rates[0] != rates[1] else None
        self._pending = np.zeros(0, dtype=np.int16)

    def frame(self, payload: bytes | None) -> bytes:
        """The next frame for the target (`payload` None: a lost frame, silence)."""
        pcm = self._decoder.silence()
        if payload is not None:
            with contextlib.suppress(MediaCodecError):  # unreadable: silence too
                pcm = self._decoder.decode(payload)
        if self._resampler is not None:
            pcm = self._resampler.push(pcm)
        pending = np.concatenate([self._pending, pcm])
        n = self._encoder.pcm_samples
        if pending.size < n:
            # The resampler's lag (a few samples, once): wait it out in silence.
            pending = np.concatenate([np.zeros(n - pending.size, dtype=np.int16), pending])
        # Never more than a frame held back: a burst must not become lasting delay.
        self._pending = pending[n : 2 * n]
        return self._encoder.encode(pending[:n])
