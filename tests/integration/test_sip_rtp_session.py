"""RTP sessions over loopback: two of ours talking, and a plain socket playing the far end.

The plain socket sends what a real network delivers (reordered, duplicated, garbled,
from behind a NAT) and reads what a session puts on the wire, byte for byte.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from realtime.audio import g711
from realtime.sip.rtp import RtpError, RtpPacket, parse_rtp
from realtime.sip.rtp_session import PortRange, RtpPortsExhaustedError, RtpSession
from realtime.sip.telephone_event import parse_event

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
PORTS = PortRange(40000, 40999)
PCMU, EVENTS = 0, 101


async def opened(payload_type: int = PCMU) -> RtpSession:
    return await RtpSession.open(HOST, PORTS, payload_type=payload_type, telephone_event=EVENTS)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[RtpSession, RtpSession]]:
    a, b = await opened(), await opened()
    a.set_remote(HOST, b.port)
    b.set_remote(HOST, a.port)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def far_end() -> Iterator[socket.socket]:
    """A plain UDP socket: the far end, sending and reading raw datagrams."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    sock.setblocking(False)
    yield sock
    sock.close()


def tone(frames: int, law: g711.G711Law, hz: float = 440.0) -> list[bytes]:
    t = np.arange(frames * g711.FRAME_BYTES) / g711.SAMPLE_RATE
    pcm = (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    audio = g711.encode(pcm, law)
    return [audio[i : i + g711.FRAME_BYTES] for i in range(0, len(audio), g711.FRAME_BYTES)]


async def heard(session: RtpSession, count: int, timeout_s: float = 3.0) -> list[bytes]:
    """The first `count` frames `frames()` hands out (silence between them skipped)."""
    got: list[bytes] = []
    async with asyncio.timeout(timeout_s):
        async for frame in session.frames():
            if frame is not None:
                got.append(frame)
            if len(got) == count:
                break
    return got


async def speak(session: RtpSession, frames: list[bytes]) -> None:
    for frame in frames:
        session.send_audio(frame)
        await asyncio.sleep(0.02)


async def received(sock: socket.socket, timeout_s: float = 1.0) -> RtpPacket:
    data, _ = await asyncio.wait_for(
        asyncio.get_running_loop().sock_recvfrom(sock, 2048), timeout_s
    )
    return parse_rtp(data)


def raw(sequence: int, payload: bytes, payload_type: int = PCMU, ssrc: int = 42) -> bytes:
    return RtpPacket(payload_type, sequence, sequence * 160, ssrc, payload).encode()


@contextmanager
def taken_port() -> Iterator[int]:
    """An even loopback port held by someone else."""
    while True:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
        if port % 2 == 0 and port < 65530:
            break
        sock.close()
    try:
        yield port
    finally:
        sock.close()


async def test_audio_goes_both_ways_in_order_and_decodes_to_the_tone(
    pair: tuple[RtpSession, RtpSession],
) -> None:
    a, b = pair
    to_b, to_a = tone(25, g711.G711Law.PCMU), tone(25, g711.G711Law.PCMU, hz=1000)
    heard_by_b, heard_by_a, _, _ = await asyncio.gather(
        heard(b, 25), heard(a, 25), speak(a, to_b), speak(b, to_a)
    )
    assert heard_by_b == to_b
    assert heard_by_a == to_a
    decoded = g711.decode(b"".join(heard_by_b), g711.G711Law.PCMU).astype(float)
    t = np.arange(decoded.size) / g711.SAMPLE_RATE
    expected = 8000 * np.sin(2 * np.pi * 440 * t)
    assert np.max(np.abs(decoded - expected)) < 300  # µ-law's quantisation, no more
    assert b.figures.packets_in == 25
    assert a.figures.packets_out == 25
    assert b.last_received_at is not None


async def test_what_goes_on_the_wire(far_end: socket.socket) -> None:
    async with await opened() as session:
        session.set_remote(*far_end.getsockname())
        frames = tone(3, g711.G711Law.PCMU)
        session.send_audio(frames[0])
        session.send_audio(frames[1])
        session.mark_talkspurt()
        session.send_audio(frames[2])
        packets = [await received(far_end) for _ in range(3)]
    assert [p.payload for p in packets] == frames
    assert [p.marker for p in packets] == [True, False, True]
    assert {(p.ssrc, p.payload_type) for p in packets} == {(session.ssrc, PCMU)}
    first = packets[0]
    assert [p.sequence for p in packets] == [(first.sequence + i) % 65536 for i in range(3)]
    assert [p.timestamp for p in packets] == [(first.timestamp + 160 * i) % 2**32 for i in range(3)]


async def test_reordered_and_duplicated_packets_come_out_in_order(far_end: socket.socket) -> None:
    async with await opened() as session:
        session.set_remote(*far_end.getsockname())
        frames = tone(8, g711.G711Law.PCMU)
        for n in (1, 0, 2, 2, 4, 3, 0, 6, 5, 7, 5):
            # Sequence numbers 65532-65539: across the wrap to 0.
            far_end.sendto(raw((65532 + n) & 0xFFFF, frames[n]), (HOST, session.port))
        assert await heard(session, 8) == frames
        assert session.figures.jitter.duplicates == 3
        assert session.figures.jitter.lost == 0


async def test_dtmf_each_press_arrives_once_both_ways(
    pair: tuple[RtpSession, RtpSession],
) -> None:
    a, b = pair
    pressed_at_a: list[str] = []
    pressed_at_b: list[str] = []
    a.on_digit = pressed_at_a.append
    b.on_digit = pressed_at_b.append

    async def presses(session: RtpSession, digits: str) -> None:
        for digit in digits:
            await session.send_dtmf(digit, duration_ms=60)

    await asyncio.gather(presses(a, "55#"), presses(b, "1*1"))
    await asyncio.sleep(0.1)  # the last end packets in flight
    assert pressed_at_b == ["5", "5", "#"]
    assert pressed_at_a == ["1", "*", "1"]
    assert (a.figures.dtmf_out, b.figures.dtmf_in) == (3, 3)
    assert b.figures.packets_in == 3 * 6  # 3 updates + 3 ends per press, all received


async def test_audio_after_a_press_carries_the_time_it_took(far_end: socket.socket) -> None:
    async with await opened() as session:
        session.set_remote(*far_end.getsockname())
        session.send_audio(bytes(160))
        await session.send_dtmf("9", duration_ms=100)
        session.send_audio(bytes(160))
        packets = [await received(far_end) for _ in range(10)]
    before, events, after = packets[0], packets[1:-1], packets[-1]
    assert {p.payload_type for p in events} == {EVENTS}
    assert {parse_event(p.payload).digit for p in events} == {"9"}
    # The press is stamped where the audio stood; sequence numbers run on through it.
    assert {p.timestamp for p in events} == {(before.timestamp + 160) % 2**32}
    assert [p.sequence for p in packets] == [(before.sequence + i) % 65536 for i in range(10)]
    # 140 ms of events (100 ms held, 2 more end repeats) advance the audio clock.
    assert 140 * 8 <= (after.timestamp - before.timestamp - 160) % 2**32 < 1000 * 8
    assert after.marker


async def test_behind_a_nat_replies_go_where_the_packets_come_from(
    far_end: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind((HOST, 0))
    caplog.set_level(logging.INFO, logger="realtime.sip.rtp_session")
    async with await opened() as session:
        session.set_remote(HOST, 9)  # what the SDP said: nothing listens there
        frames = tone(4, g711.G711Law.PCMU)
        for n in range(4):
            far_end.sendto(raw(n, frames[n]), (HOST, session.port))
        await asyncio.sleep(0.05)
        stranger.sendto(raw(4, b"\x00" * 160, ssrc=666), (HOST, session.port))
        assert await heard(session, 4) == frames
        session.send_audio(b"\x01" * 160)
        reply = await received(far_end)
        assert reply.payload == b"\x01" * 160
        assert session.target == far_end.getsockname()
        assert session.figures.ignored == 1  # the stranger's packet, once latched
    stranger.close()
    assert sum("replying there" in r.message for r in caplog.records) == 1


async def test_new_sdp_with_another_address_latches_again(far_end: socket.socket) -> None:
    async with await opened() as session:
        session.set_remote(HOST, 9)
        far_end.sendto(raw(0, b"a" * 160), (HOST, session.port))
        await asyncio.sleep(0.05)
        assert session.target == far_end.getsockname()
        session.set_remote(HOST, 11)  # a re-INVITE moved the media
        assert session.target == (HOST, 11)
        session.set_remote(HOST, 11)  # the same again changes nothing
        far_end.sendto(raw(1, b"a" * 160), (HOST, session.port))
        await asyncio.sleep(0.05)
        assert session.target == far_end.getsockname()


async def test_a_taken_port_is_skipped_and_odd_ports_never_used() -> None:
    with taken_port() as port:
        async with await RtpSession.open(
            HOST, PortRange(port - 1, port + 2), payload_type=PCMU
        ) as session:
            assert session.port == port + 2


async def test_an_exhausted_range_is_a_clear_error() -> None:
    with (
        taken_port() as port,
        pytest.raises(RtpPortsExhaustedError, match=f"{port}-{port + 1}"),
    ):
        await RtpSession.open(HOST, PortRange(port, port + 1), payload_type=PCMU)
    with pytest.raises(RtpPortsExhaustedError, match="no free even port"):
        await RtpSession.open(HOST, PortRange(20001, 20001), payload_type=PCMU)


def test_port_ranges_are_checked() -> None:
    with pytest.raises(ValueError, match="1024-65535"):
        PortRange(80, 100)
    with pytest.raises(ValueError, match="1024-65535"):
        PortRange(30000, 20000)


async def test_garbage_is_counted_and_the_stream_goes_on(far_end: socket.socket) -> None:
    async with await opened() as session:
        frames = tone(6, g711.G711Law.PCMU)
        garbage = [
            b"\x00",  # too short
            b"\x40" + bytes(20),  # RTP version 1
            bytes.fromhex("8f00000100000000000000aa"),  # CSRCs past the end
            raw(100, b"\x01", payload_type=EVENTS),  # a telephone event cut short
        ]
        ignored = [
            bytes.fromhex("81c90007") + bytes(28),  # an RTCP receiver report
            raw(3, b"cn", payload_type=13),  # comfort noise: not offered
        ]
        for n in range(6):
            far_end.sendto(raw(n, frames[n]), (HOST, session.port))
            for datagram in garbage[n : n + 1] + ignored[n : n + 1]:
                far_end.sendto(datagram, (HOST, session.port))
        assert await heard(session, 6) == frames
        assert session.figures.bad_packets == 4
        assert session.figures.ignored == 2
        assert session.figures.packets_in == 7  # the cut-short event came from the call


async def test_close_ends_frames_and_sending(pair: tuple[RtpSession, RtpSession]) -> None:
    a, _ = pair
    frames_read = 0

    async def read() -> None:
        nonlocal frames_read
        async for _ in a.frames():
            frames_read += 1

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.1)
    a.close()
    a.close()
    await asyncio.wait_for(reader, 0.5)
    assert frames_read >= 3  # silence, every 20 ms, until closed
    assert a.closed
    a.send_audio(bytes(160))
    assert a.figures.packets_out == 0


async def test_remote_must_be_an_address_and_hold_stops_sending(
    far_end: socket.socket,
) -> None:
    async with await opened() as session:
        with pytest.raises(RtpError, match="not an IP address"):
            session.set_remote("pbx.example.com", 5004)
        with pytest.raises(RtpError, match="payload type 200"):
            session.set_remote(HOST, 5004, payload_type=200)
        session.set_remote("0.0.0.0", 5004)  # on hold
        session.send_audio(bytes(160))
        assert session.figures.packets_out == 0
        assert session.target is None
