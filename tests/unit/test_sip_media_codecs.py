"""SIP voice codecs: G.711 and Opus keep a tone's pitch and level, the SDP's choice picks
the codec, and RTP timestamps (audio and DTMF) run at the codec's clock."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Iterator

import numpy as np
import pytest

from centralita.kernel.pcm import Pcm16
from realtime.audio.g711 import G711Law
from realtime.legs.media_codecs import (
    SUPPORTED,
    TELEPHONE_EVENT_48K,
    G711Codec,
    MediaCodecError,
    OpusCodec,
    SipAudioCodec,
    codec_for,
)
from realtime.sip.rtp import RtpError, parse_rtp
from realtime.sip.rtp_session import PortRange, RtpSession
from realtime.sip.sdp import (
    OPUS,
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    Codec,
    accept_answer,
    answer_offer,
    build_sdp,
    parse_sdp,
)
from realtime.sip.telephone_event import parse_event

pytestmark = pytest.mark.unit

HOST = "127.0.0.1"
PORTS = PortRange(43000, 43999)


def tone(rate: int, hz: float, seconds: float, amplitude: float = 8000) -> Pcm16:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def round_trip(codec: SipAudioCodec, pcm: Pcm16) -> tuple[Pcm16, list[bytes]]:
    n = codec.pcm_samples
    payloads = [codec.encode(pcm[i : i + n]) for i in range(0, pcm.size - n + 1, n)]
    return np.concatenate([codec.decode(p) for p in payloads]), payloads


def pitch(pcm: Pcm16, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(pcm.size)))
    return float(np.fft.rfftfreq(pcm.size, 1 / rate)[np.argmax(spectrum)])


def level_db(pcm: Pcm16) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))))


@pytest.mark.parametrize(
    "codec",
    [G711Codec(G711Law.PCMU), G711Codec(G711Law.PCMA), OpusCodec()],
    ids=["PCMU", "PCMA", "opus"],
)
@pytest.mark.parametrize("hz", [440.0, 1000.0])
def test_a_tone_keeps_its_pitch_and_level(codec: SipAudioCodec, hz: float) -> None:
    sent = tone(codec.sample_rate, hz, 1.0)
    heard, _ = round_trip(codec, sent)
    assert heard.size == sent.size
    settled = heard[codec.sample_rate // 10 :]  # Opus's first frames ramp up
    assert abs(pitch(settled, codec.sample_rate) - hz) < 5
    assert abs(level_db(settled) - level_db(sent)) < 1.0


def test_opus_compresses_and_frames_at_its_48k_clock() -> None:
    codec = OpusCodec()
    _, payloads = round_trip(codec, tone(48_000, 440, 1.0))
    assert (codec.sample_rate, codec.clock_rate, codec.frame_samples) == (48_000, 48_000, 960)
    assert len(payloads) == 50  # one packet per 20 ms frame, none held back
    assert max(len(p) for p in payloads) < 200  # 32 kb/s, not 1920 bytes of PCM
    assert codec.silence().size == 960


def test_g711_frames_at_8k() -> None:
    codec = G711Codec(G711Law.PCMA)
    assert (codec.sample_rate, codec.clock_rate, codec.frame_samples) == (8000, 8000, 160)
    assert len(codec.encode(tone(8000, 440, 0.02))) == 160
    assert codec.silence().size == 160


def test_opus_refuses_what_it_cannot_code() -> None:
    codec = OpusCodec()
    with pytest.raises(MediaCodecError, match="960 samples"):
        codec.encode(np.zeros(160, dtype=np.int16))
    with pytest.raises(MediaCodecError, match="empty"):
        codec.decode(b"")


def offer_of(*codecs: Codec) -> bytes:
    return build_sdp("192.0.2.10", 4000, codecs).encode()


def test_an_offer_with_opus_first_gets_opus_and_its_48k_events() -> None:
    offer = parse_sdp(offer_of(OPUS, PCMU, TELEPHONE_EVENT_48K, TELEPHONE_EVENT))
    text, negotiated = answer_offer(offer, address=HOST, port=5000, supported=SUPPORTED)
    assert isinstance(codec_for(negotiated), OpusCodec)
    assert negotiated.telephone_event == TELEPHONE_EVENT_48K.payload_type
    assert parse_sdp(text).codecs[0].name == "opus"


def test_an_offer_with_g711_first_keeps_g711() -> None:
    offer = parse_sdp(offer_of(PCMA, OPUS, TELEPHONE_EVENT))
    _, negotiated = answer_offer(offer, address=HOST, port=5000, supported=SUPPORTED)
    codec = codec_for(negotiated)
    assert isinstance(codec, G711Codec)
    assert codec.law is G711Law.PCMA


def test_our_offer_puts_g711_first_and_takes_the_answers_opus() -> None:
    ours = parse_sdp(build_sdp(HOST, 5000, SUPPORTED))
    assert [c.name for c in ours.codecs][:3] == ["PCMU", "PCMA", "opus"]
    answer = parse_sdp(offer_of(OPUS, TELEPHONE_EVENT))  # 8 kHz events only
    negotiated = accept_answer(SUPPORTED, answer)
    assert isinstance(codec_for(negotiated), OpusCodec)
    assert negotiated.telephone_event is None  # events must share the audio's clock


def test_a_codec_we_do_not_have_is_named() -> None:
    with pytest.raises(MediaCodecError, match="G722/8000"):
        codec_for(Codec(9, "G722", 8000))


async def sent_packets(session: RtpSession, far: socket.socket, count: int) -> list[bytes]:
    loop = asyncio.get_running_loop()
    return [await asyncio.wait_for(loop.sock_recv(far, 2048), 2) for _ in range(count)]


@pytest.fixture
def far_end() -> Iterator[socket.socket]:
    far = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    far.bind((HOST, 0))
    far.setblocking(False)
    yield far
    far.close()


@pytest.mark.parametrize(("clock", "step"), [(8000, 160), (48_000, 960)])
async def test_timestamps_step_by_the_codecs_frame(
    far_end: socket.socket, clock: int, step: int
) -> None:
    async with await RtpSession.open(HOST, PORTS, payload_type=0) as session:
        session.set_remote(*far_end.getsockname(), payload_type=111, clock_rate=clock)
        for _ in range(3):
            session.send_audio(b"\x00" * 10)
        packets = [parse_rtp(p) for p in await sent_packets(session, far_end, 3)]
    stamps = [p.timestamp for p in packets]
    assert [(b - a) % 2**32 for a, b in itertools.pairwise(stamps)] == [step, step]
    assert {p.payload_type for p in packets} == {111}
    assert session.frame_samples == step


async def test_a_key_press_lasts_as_long_at_48k(far_end: socket.socket) -> None:
    async with await RtpSession.open(
        HOST, PORTS, payload_type=111, telephone_event=110, clock_rate=48_000
    ) as session:
        session.set_remote(*far_end.getsockname())
        await session.send_dtmf("5", duration_ms=100)
        packets = [parse_rtp(p) for p in await sent_packets(session, far_end, 8)]
    events = [parse_event(p.payload) for p in packets if p.payload_type == 110]
    assert events[-1].end
    assert events[-1].duration == 100 * 48
    assert events[0].duration == 20 * 48


def test_a_clock_that_does_not_divide_into_frames_is_refused() -> None:
    with pytest.raises(RtpError, match="clock rate"):
        RtpSession(HOST, payload_type=0, clock_rate=8001)
