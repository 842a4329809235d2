"""The jitter buffer: packets in any order, frames out in sequence, bounded, counted."""

from __future__ import annotations

import random

import pytest

from realtime.sip.jitter import DEFAULT_CAPACITY, JitterBuffer
from realtime.sip.rtp import RtpPacket

pytestmark = pytest.mark.unit

SSRC = 0x1234


def packet(sequence: int, ssrc: int = SSRC) -> RtpPacket:
    sequence &= 0xFFFF
    return RtpPacket(0, sequence, (sequence * 160) & 0xFFFF_FFFF, ssrc, f"f{sequence}".encode())


def frame(sequence: int) -> bytes:
    return f"f{sequence & 0xFFFF}".encode()


def fill(buffer: JitterBuffer, *sequences: int, ssrc: int = SSRC) -> None:
    for sequence in sequences:
        buffer.push(packet(sequence, ssrc))


def pops(buffer: JitterBuffer, count: int) -> list[bytes | None]:
    return [buffer.pop() for _ in range(count)]


def test_playing_waits_for_depth_packets_then_goes_in_order() -> None:
    buffer = JitterBuffer(depth=3)
    fill(buffer, 10, 11)
    assert pops(buffer, 2) == [None, None]  # 40 ms held: not yet
    fill(buffer, 12)
    assert pops(buffer, 3) == [frame(10), frame(11), frame(12)]
    assert buffer.figures.played == 3
    assert buffer.figures.lost == 0


def test_reordered_and_duplicated_packets_come_out_once_in_order() -> None:
    buffer = JitterBuffer(depth=3)
    fill(buffer, 3, 1, 3, 2, 1, 5, 4)
    assert pops(buffer, 5) == [frame(n) for n in (1, 2, 3, 4, 5)]
    assert buffer.figures.duplicates == 2
    assert buffer.figures.received == 5


def test_a_missing_frame_is_silence_and_arriving_after_its_turn_it_is_late() -> None:
    buffer = JitterBuffer(depth=3)
    fill(buffer, 1, 2, 3, 5, 6)
    assert pops(buffer, 4) == [frame(1), frame(2), frame(3), None]
    fill(buffer, 4, 2)  # 4 after its turn, 2 long played
    assert pops(buffer, 2) == [frame(5), frame(6)]
    assert buffer.figures.lost == 1
    assert buffer.figures.late == 2


@pytest.mark.parametrize(
    "order", [(65534, 65535, 0, 1), (65535, 0, 65534, 1), (0, 65535, 1, 65534)]
)
def test_sequence_numbers_wrap_around(order: tuple[int, ...]) -> None:
    buffer = JitterBuffer(depth=4)
    fill(buffer, *order)
    assert pops(buffer, 4) == [frame(n) for n in (65534, 65535, 0, 1)]
    fill(buffer, 2, 3, 4, 5)
    assert pops(buffer, 4) == [frame(n) for n in (2, 3, 4, 5)]
    assert buffer.figures.lost == 0


def test_running_dry_refills_to_depth_before_playing_again() -> None:
    buffer = JitterBuffer(depth=2)
    fill(buffer, 1, 2)
    assert pops(buffer, 3) == [frame(1), frame(2), None]
    assert buffer.figures.underruns == 1
    fill(buffer, 3)
    assert buffer.pop() is None  # one packet held, two wanted
    fill(buffer, 4)
    assert pops(buffer, 2) == [frame(3), frame(4)]
    assert buffer.figures.lost == 0  # a stall is not a loss


def test_a_gap_while_dry_is_skipped_when_playing_resumes() -> None:
    buffer = JitterBuffer(depth=2)
    fill(buffer, 1, 2)
    pops(buffer, 3)
    fill(buffer, 9, 10)
    assert pops(buffer, 2) == [frame(9), frame(10)]
    assert buffer.figures.lost == 6


def test_a_new_ssrc_starts_over() -> None:
    buffer = JitterBuffer(depth=2)
    fill(buffer, 100, 101, 102)
    assert buffer.pop() == frame(100)
    fill(buffer, 7, 8, ssrc=0xBEEF)  # a transfer: another stream, another numbering
    assert pops(buffer, 2) == [frame(7), frame(8)]
    assert buffer.figures.resets == 1


def test_it_never_holds_more_than_its_capacity() -> None:
    buffer = JitterBuffer(depth=3)
    fill(buffer, *range(DEFAULT_CAPACITY + 10))
    assert buffer.buffered == DEFAULT_CAPACITY
    assert buffer.figures.dropped == 10
    assert buffer.pop() == frame(10)  # the oldest went; playing starts after them
    fill(buffer, 5)
    assert buffer.figures.late == 1


def test_a_jump_far_ahead_is_followed_at_once() -> None:
    buffer = JitterBuffer(depth=2)
    fill(buffer, 1, 2, 3)
    assert pops(buffer, 3) == [frame(1), frame(2), frame(3)]
    fill(buffer, 4, 5000, 5001)
    assert pops(buffer, 3) == [frame(4), frame(5000), frame(5001)]
    assert buffer.figures.lost == 4995


def test_restarted_numbering_is_followed_but_one_stray_old_packet_is_not() -> None:
    buffer = JitterBuffer(depth=2)
    fill(buffer, 1000, 1001, 1002)
    assert pops(buffer, 2) == [frame(1000), frame(1001)]
    fill(buffer, 10)  # a stray: dropped
    assert buffer.figures.resets == 0
    assert buffer.pop() == frame(1002)
    fill(buffer, 1003, 20, 21, 22)  # the far end restarted at 20: 21 confirms it
    assert buffer.figures.resets == 1
    assert pops(buffer, 2) == [frame(21), frame(22)]


def test_depth_must_fit_the_capacity() -> None:
    with pytest.raises(ValueError, match="depth 0"):
        JitterBuffer(depth=0)
    with pytest.raises(ValueError, match="depth 60"):
        JitterBuffer(depth=60)


@pytest.mark.parametrize("seed", range(20))
def test_jitter_shorter_than_the_depth_loses_nothing(seed: int) -> None:
    """Packets every 20 ms, each delayed 0-35 ms (so reordered) and some sent twice."""
    rng = random.Random(seed)
    count = 300
    first = 65536 - rng.randrange(400)  # crosses the wrap-around for most seeds
    arrivals = [(n * 20 + rng.uniform(0, 35), n) for n in range(count)]
    arrivals += [(n * 20 + rng.uniform(0, 35), n) for n in rng.sample(range(count), 30)]
    arrivals.sort()
    buffer = JitterBuffer(depth=3)
    played: list[bytes] = []
    index = 0
    for tick in range(count + 20):
        while index < len(arrivals) and arrivals[index][0] <= tick * 20 + 10:
            buffer.push(packet(first + arrivals[index][1]))
            index += 1
        payload = buffer.pop()
        if payload is not None:
            played.append(payload)
    assert played == [frame(first + n) for n in range(count)]
    assert buffer.figures.lost == 0
    assert buffer.figures.duplicates == 30
