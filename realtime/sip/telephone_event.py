"""DTMF as RTP telephone events (RFC 4733): key presses that survive any codec.

A key press is not sent as tones in the audio (compression and packet loss garble
them) but as small packets of their own payload type (`telephone-event` in the SDP,
usually 101). Each carries 4 bytes: the event (0-9, *, #, A-D are 0-15), an end bit, a
volume and the duration so far, in timestamp units (samples at 8 kHz).

One press is many packets, all with the same RTP timestamp (when the press began): the
first has the marker bit, updates follow every 20 ms with a growing duration, and the
end packet is sent three times because it may be lost (RFC 4733 2.5.1.4). So the
receiver keys presses by timestamp: the first packet it sees of a timestamp reports the
digit (the start packet, or an update or end packet when the start was lost), all the
rest of that press are repeats. Two presses of the same key have two timestamps.
"""

from __future__ import annotations

import math
import struct
from collections import deque
from dataclasses import dataclass

from realtime.sip.rtp import RtpPacket

EVENTS = "0123456789*#ABCD"  # event codes 0-15
# Telephone events use the audio's 8 kHz clock: samples per millisecond.
_SAMPLES_PER_MS = 8
_END_REPEATS = 3
_MAX_DURATION = 0xFFFF  # the duration field is 16 bits: about 8 s
_EVENT = struct.Struct("!BBH")
# Presses remembered to recognise their late repeats; a handful is plenty.
_REMEMBERED = 16


class TelephoneEventError(ValueError):
    """A telephone-event payload that cannot be read, or a press that cannot be sent."""


@dataclass(frozen=True)
class ToneEvent:
    """One telephone-event payload (RFC 4733 2.3)."""

    event: int
    end: bool
    volume: int  # -dBm0, 0-63 (10 is a usual key press)
    duration: int  # in timestamp units since the press began

    def __post_init__(self) -> None:
        if not 0 <= self.event <= 0xFF:
            raise TelephoneEventError(f"telephone event {self.event} is outside 0-255")
        if not 0 <= self.volume <= 63:
            raise TelephoneEventError(f"telephone-event volume {self.volume} is outside 0-63")
        if not 0 <= self.duration <= _MAX_DURATION:
            raise TelephoneEventError(
                f"telephone-event duration {self.duration} is outside 0-65535"
            )

    @property
    def digit(self) -> str | None:
        """The key (0-9, *, #, A-D), or None for other events (16 is a hook flash)."""
        return EVENTS[self.event] if self.event < len(EVENTS) else None

    def encode(self) -> bytes:
        """The 4-byte payload."""
        return _EVENT.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)


def parse_event(payload: bytes) -> ToneEvent:
    """Read a telephone-event payload (its first event, if it carries several).

    Raises:
        TelephoneEventError: the payload is shorter than 4 bytes.
    """
    if len(payload) < _EVENT.size:
        raise TelephoneEventError(f"telephone-event payload of {len(payload)} bytes, expected 4")
    event, flags, duration = _EVENT.unpack_from(payload)
    return ToneEvent(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)


class DtmfReceiver:
    """Telephone-event packets in, each key press out exactly once."""

    def __init__(self) -> None:
        self._seen: deque[tuple[int, int]] = deque(maxlen=_REMEMBERED)

    def feed(self, packet: RtpPacket) -> str | None:
        """The digit when `packet` is the first seen of a press; None for its repeats.

        Raises:
            TelephoneEventError: the payload cannot be read.
        """
        event = parse_event(packet.payload)
        press = (packet.ssrc, packet.timestamp)
        if press in self._seen:
            return None
        self._seen.append(press)
        return event.digit


def dtmf_packets(
    digit: str,
    *,
    payload_type: int,
    ssrc: int,
    first_sequence: int,
    timestamp: int,
    duration_ms: int = 160,
    volume: int = 10,
    packet_ms: int = 20,
) -> list[tuple[float, RtpPacket]]:
    """The packets of one key press, each with when to send it (seconds from the start).

    An update every `packet_ms` while the key is held (the first marked, each with the
    duration so far), then the end packet three times, `packet_ms` apart. Sequence
    numbers follow on from `first_sequence`; all share `timestamp`.

    Raises:
        TelephoneEventError: `digit` is not one of `EVENTS`, or a duration, volume or
            packet interval is out of range.
    """
    if len(digit) != 1 or digit.upper() not in EVENTS:
        raise TelephoneEventError(f"{digit!r} is not a DTMF key (one of {EVENTS})")
    if packet_ms <= 0:
        raise TelephoneEventError(f"packet interval of {packet_ms} ms must be positive")
    total = duration_ms * _SAMPLES_PER_MS
    if not 0 < total <= _MAX_DURATION:
        raise TelephoneEventError(f"a key press of {duration_ms} ms is outside 1-8191 ms")
    code = EVENTS.index(digit.upper())
    step = packet_ms * _SAMPLES_PER_MS
    updates = math.ceil(duration_ms / packet_ms)
    events = [
        (i * packet_ms, ToneEvent(code, False, volume, min((i + 1) * step, total)))
        for i in range(updates)
    ]
    end = ToneEvent(code, True, volume, total)
    events += [(duration_ms + i * packet_ms, end) for i in range(_END_REPEATS)]
    return [
        (
            offset_ms / 1000,
            RtpPacket(
                payload_type=payload_type,
                sequence=(first_sequence + index) & 0xFFFF,
                timestamp=timestamp,
                ssrc=ssrc,
                payload=event.encode(),
                marker=index == 0,
            ),
        )
        for index, (offset_ms, event) in enumerate(events)
    ]
