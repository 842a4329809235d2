"""The voice codecs a SIP call's RTP may carry: G.711 (PCMU, PCMA) and Opus.

The SDP offer/answer (`realtime.sip.sdp`) agrees one codec per call; this module turns
that agreement into the object that encodes our 20 ms frames and decodes the far end's,
so the call leg, the warm-transfer bridge and the briefing speak any of them the same way.

Each codec has two rates, which differ for Opus:
- `sample_rate`: the PCM it takes and gives (G.711 8 kHz; Opus 48 kHz, the rate our
  WebRTC path already runs, so the call session sees nothing new);
- `clock_rate`: the RTP timestamp clock (RFC 7587 fixes Opus's at 48 kHz whatever the
  audio bandwidth), so a 20 ms frame advances the timestamp by `frame_samples`
  (160 for G.711, 960 for Opus).

Why G.711 is offered first and Opus only taken when the far end prefers it: trunks
expect G.711 (and transcode anything else at a cost, or refuse the call); a softphone
or PBX that puts Opus first gets wideband audio. Opus comes from PyAV's libopus (the
same library aiortc uses for WebRTC): no new dependency. Encoder and decoder are
stateful (Opus predicts from the previous frames), so each call builds its own codec.
"""

from __future__ import annotations

import fractions
from typing import Protocol

import av
import numpy as np

from centralita.kernel.pcm import Pcm16
from realtime.audio import g711
from realtime.sip.rtp_session import RtpSession
from realtime.sip.sdp import (
    OPUS,
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    Codec,
    Negotiated,
    accept_answer,
    parse_sdp,
)

FRAME_MS = 20
OPUS_RATE = 48_000
# Speech at 32 kb/s is transparent for Opus in "voip" mode; carriers budget for 64 kb/s
# G.711, so this never costs more bandwidth than the call would otherwise.
OPUS_BITRATE = 32_000
# Telephone events at the Opus clock (RFC 4733 2.1: events use the audio's clock), so a
# far end that picks Opus can still exchange DTMF with us.
TELEPHONE_EVENT_48K = Codec(110, "telephone-event", OPUS_RATE, fmtp="0-16")
# What we offer and accept, G.711 first (see the module docstring). The SDP's rtpmap
# says opus/48000/2 as RFC 7587 demands; we still send and decode mono.
SUPPORTED: tuple[Codec, ...] = (PCMU, PCMA, OPUS, TELEPHONE_EVENT, TELEPHONE_EVENT_48K)


class MediaCodecError(ValueError):
    """A codec we cannot use, or audio that cannot be encoded or decoded with it."""


class SipAudioCodec(Protocol):
    """One call's voice codec: 20 ms of PCM in, one RTP payload out, and back."""

    @property
    def name(self) -> str:
        """The SDP name (PCMU, PCMA, opus)."""
        ...

    @property
    def sample_rate(self) -> int:
        """The rate of the PCM `encode` takes and `decode` gives."""
        ...

    @property
    def clock_rate(self) -> int:
        """The RTP timestamp clock."""
        ...

    @property
    def frame_samples(self) -> int:
        """RTP timestamp units per 20 ms frame."""
        ...

    @property
    def pcm_samples(self) -> int:
        """PCM samples per 20 ms frame, at `sample_rate`."""
        ...

    def encode(self, pcm: Pcm16) -> bytes:
        """One 20 ms frame of mono int16 PCM at `sample_rate` as an RTP payload."""
        ...

    def decode(self, payload: bytes) -> Pcm16:
        """An RTP payload back to mono int16 PCM at `sample_rate`."""
        ...

    def silence(self) -> Pcm16:
        """One 20 ms frame of silence at `sample_rate` (played for a lost frame)."""
        ...


class _Framing:
    """Rates and frame sizes from the two rates."""

    sample_rate: int
    clock_rate: int

    @property
    def frame_samples(self) -> int:
        return self.clock_rate * FRAME_MS // 1000

    @property
    def pcm_samples(self) -> int:
        return self.sample_rate * FRAME_MS // 1000

    def silence(self) -> Pcm16:
        """One 20 ms frame of silence at `sample_rate` (played for a lost frame)."""
        return np.zeros(self.pcm_samples, dtype=np.int16)


class G711Codec(_Framing):
    """PCMU or PCMA: 8 kHz, one byte per sample, stateless."""

    sample_rate = g711.SAMPLE_RATE
    clock_rate = g711.SAMPLE_RATE

    def __init__(self, law: g711.G711Law) -> None:
        self.law = law

    @property
    def name(self) -> str:
        return self.law.value

    def encode(self, pcm: Pcm16) -> bytes:
        return g711.encode(pcm, self.law)

    def decode(self, payload: bytes) -> Pcm16:
        return g711.decode(payload, self.law)

    def __repr__(self) -> str:
        return f"G711Codec({self.law.value})"


class OpusCodec(_Framing):
    """Opus through PyAV's libopus: mono 48 kHz PCM, 20 ms frames, RTP clock 48 kHz."""

    name = "opus"
    sample_rate = OPUS_RATE
    clock_rate = OPUS_RATE

    def __init__(self, bitrate: int = OPUS_BITRATE) -> None:
        self._encoder = av.CodecContext.create("libopus", "w")
        self._encoder.sample_rate = OPUS_RATE
        self._encoder.format = "s16"
        self._encoder.layout = "mono"
        self._encoder.bit_rate = bitrate
        self._encoder.time_base = fractions.Fraction(1, OPUS_RATE)
        # "voip" tunes for speech; 20 ms packets match the ptime we announce.
        self._encoder.options = {"application": "voip", "frame_duration": str(FRAME_MS)}
        self._decoder = av.CodecContext.create("libopus", "r")
        self._decoder.sample_rate = OPUS_RATE
        self._decoder.format = "s16"
        self._decoder.layout = "mono"  # a stereo sender is mixed down by libopus
        self._pts = 0

    def encode(self, pcm: Pcm16) -> bytes:
        """Raises `MediaCodecError` unless `pcm` is exactly one 20 ms frame."""
        if pcm.ndim != 1 or pcm.size != self.pcm_samples:
            raise MediaCodecError(
                f"Opus encodes {self.pcm_samples} samples (20 ms at {OPUS_RATE} Hz) a frame, "
                f"got {pcm.size}"
            )
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = OPUS_RATE
        frame.pts = self._pts
        self._pts += pcm.size
        try:
            packets = self._encoder.encode(frame)
        except av.FFmpegError as exc:
            raise MediaCodecError(f"Opus could not encode a frame: {exc}") from exc
        # libopus returns one packet per 20 ms frame; an empty list would only come
        # from encoder look-ahead, which the "voip" 20 ms setting does not hold back.
        return b"".join(bytes(packet) for packet in packets)

    def decode(self, payload: bytes) -> Pcm16:
        """Raises `MediaCodecError` for a payload that is not Opus."""
        if not payload:
            raise MediaCodecError("an empty Opus payload")
        try:
            frames = self._decoder.decode(av.Packet(payload))
        except av.FFmpegError as exc:
            raise MediaCodecError(f"not an Opus packet ({len(payload)} bytes): {exc}") from exc
        if not frames:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16)

    def __repr__(self) -> str:
        return "OpusCodec()"


def codec_for(negotiated: Negotiated | Codec) -> SipAudioCodec:
    """A fresh codec for what the SDP agreed.

    Raises:
        MediaCodecError: the agreed codec is none of ours (PCMU, PCMA, opus/48000).
    """
    codec = negotiated.codec if isinstance(negotiated, Negotiated) else negotiated
    if codec.same_format(PCMU):
        return G711Codec(g711.G711Law.PCMU)
    if codec.same_format(PCMA):
        return G711Codec(g711.G711Law.PCMA)
    if codec.same_format(OPUS):
        return OpusCodec()
    raise MediaCodecError(f"no codec for {codec.name}/{codec.clock_rate}")


def point_rtp(rtp: RtpSession, negotiated: Negotiated) -> SipAudioCodec:
    """The codec agreed, with `rtp` now sending to the far end in it.

    Raises:
        MediaCodecError: the agreed codec is none of ours.
    """
    codec = codec_for(negotiated)
    rtp.set_remote(
        negotiated.remote_address,
        negotiated.remote_port,
        payload_type=negotiated.codec.payload_type,
        telephone_event=negotiated.telephone_event,
        clock_rate=codec.clock_rate,
    )
    return codec


def accept_sdp_answer(rtp: RtpSession, body: bytes) -> SipAudioCodec:
    """Take the far end's SDP answer to our offer (`SUPPORTED`) on `rtp`: its codec.

    Raises:
        SdpError: an answer we cannot read, or none of our codecs in it.
        MediaCodecError: the agreed codec is none of ours.
    """
    return point_rtp(rtp, accept_answer(SUPPORTED, parse_sdp(body)))
