"""RFC 4733 telephone events: payloads bit for bit, presses built and heard once each."""

from __future__ import annotations

import pytest

from realtime.sip.rtp import RtpPacket
from realtime.sip.telephone_event import (
    EVENTS,
    DtmfReceiver,
    TelephoneEventError,
    ToneEvent,
    dtmf_packets,
    parse_event,
)

pytestmark = pytest.mark.unit


def press(digit: str, timestamp: int, first_sequence: int = 0) -> list[RtpPacket]:
    packets = dtmf_packets(
        digit, payload_type=101, ssrc=77, first_sequence=first_sequence, timestamp=timestamp
    )
    return [packet for _, packet in packets]


def test_the_payload_is_event_end_volume_and_duration() -> None:
    # RFC 4733's layout: event 8, E=1, R=0, volume 10, duration 1280.
    event = ToneEvent(event=11, end=True, volume=10, duration=1280)
    assert event.encode() == bytes([11, 0x80 | 10]) + (1280).to_bytes(2, "big")
    assert parse_event(event.encode()) == event
    assert event.digit == "#"


def test_every_key_has_its_code_and_other_events_no_digit() -> None:
    assert [parse_event(bytes([code, 10, 0, 160])).digit for code in range(16)] == list(EVENTS)
    assert parse_event(bytes([16, 10, 0, 160])).digit is None  # hook flash
    # The reserved bit is ignored; a second event after the first (redundancy) too.
    assert parse_event(bytes([5, 0x40 | 7, 1, 0, 9, 9, 9, 9])) == ToneEvent(5, False, 7, 256)


def test_short_payloads_and_bad_fields_are_refused() -> None:
    with pytest.raises(TelephoneEventError, match="3 bytes"):
        parse_event(b"\x01\x0a\x00")
    with pytest.raises(TelephoneEventError, match="volume 64"):
        ToneEvent(1, False, 64, 0)
    with pytest.raises(TelephoneEventError, match="duration 65536"):
        ToneEvent(1, False, 10, 65536)


def test_a_press_is_marked_updates_then_three_ends_on_schedule() -> None:
    packets = dtmf_packets(
        "7", payload_type=101, ssrc=5, first_sequence=65534, timestamp=4000, duration_ms=100
    )
    offsets = [offset for offset, _ in packets]
    events = [parse_event(packet.payload) for _, packet in packets]
    assert offsets == pytest.approx([0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14])
    assert [event.duration for event in events] == [160, 320, 480, 640, 800, 800, 800, 800]
    assert [event.end for event in events] == [False] * 5 + [True] * 3
    assert {event.digit for event in events} == {"7"}
    assert [packet.marker for _, packet in packets] == [True] + [False] * 7
    assert [packet.sequence for _, packet in packets] == [65534, 65535, 0, 1, 2, 3, 4, 5]
    assert {(p.timestamp, p.ssrc, p.payload_type) for _, p in packets} == {(4000, 5, 101)}


def test_a_duration_not_a_multiple_of_the_interval_ends_at_its_length() -> None:
    packets = dtmf_packets(
        "1", payload_type=96, ssrc=1, first_sequence=0, timestamp=0, duration_ms=50
    )
    events = [parse_event(packet.payload) for _, packet in packets]
    assert [event.duration for event in events] == [160, 320, 400, 400, 400, 400]
    assert packets[3][0] == pytest.approx(0.05)


@pytest.mark.parametrize("digit", ["x", "", "12", "é"])
def test_only_dtmf_keys_can_be_pressed(digit: str) -> None:
    with pytest.raises(TelephoneEventError, match="not a DTMF key"):
        press(digit, 0)


def test_lowercase_letters_are_their_keys() -> None:
    assert parse_event(press("d", 0)[0].payload).digit == "D"


@pytest.mark.parametrize("duration_ms", [0, 9000])
def test_a_press_has_a_sensible_length(duration_ms: int) -> None:
    with pytest.raises(TelephoneEventError, match="key press"):
        dtmf_packets(
            "1", payload_type=101, ssrc=1, first_sequence=0, timestamp=0, duration_ms=duration_ms
        )


def test_each_press_is_heard_exactly_once() -> None:
    receiver = DtmfReceiver()
    heard = [receiver.feed(packet) for packet in press("5", 1000) + press("5", 3000, 20)]
    assert [digit for digit in heard if digit is not None] == ["5", "5"]
    assert heard[0] == "5"  # on the start packet, not after the key is released


def test_a_press_whose_start_was_lost_is_heard_from_what_follows() -> None:
    receiver = DtmfReceiver()
    packets = press("#", 8000)
    assert receiver.feed(packets[3]) == "#"
    assert [receiver.feed(packet) for packet in packets] == [None] * len(packets)


def test_late_end_repeats_of_an_earlier_press_are_not_heard_again() -> None:
    receiver = DtmfReceiver()
    first, second = press("1", 160), press("2", 3200)
    assert receiver.feed(first[0]) == "1"
    assert receiver.feed(second[0]) == "2"
    assert receiver.feed(first[-1]) is None


def test_a_garbled_payload_is_an_error_for_the_caller_to_count() -> None:
    with pytest.raises(TelephoneEventError):
        DtmfReceiver().feed(RtpPacket(101, 0, 0, 0, b"\x01"))
