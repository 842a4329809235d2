"""RTP packets (RFC 3550): the envelope every 20 ms of a SIP call's audio travels in.

A packet is a 12-byte header and a payload: the payload type says what the payload is
(0 PCMU, 8 PCMA, a dynamic number for RFC 4733 telephone events), the sequence number
(16 bits) puts packets back in order, the timestamp (32 bits, in samples) says when its
audio plays, and the SSRC names the stream. The header may carry a list of contributing
sources (CSRC), a header extension and padding; we read past all three and never write
them: a trunk's media relay may add them, our own packets need none.

Everything read from the network is untrusted: a packet that is too short, is not
version 2, or whose CSRC list, extension or padding runs past its end is an `RtpError`
naming what is wrong, for the session to count and drop.

RTCP (sender and receiver reports) shares the first byte's layout and, when a peer
multiplexes it on the RTP port (RFC 5761) or sends it there by mistake, arrives among
the audio. `is_rtcp` tells it apart by its packet type so it is ignored, not counted
as garbage.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER_BYTES = 12

_HEADER = struct.Struct("!BBHII")
_EXTENSION = struct.Struct("!HH")
# RFC 5761 4: a second byte of 192-223 is RTCP (SR 200 ... APP 204, and feedback
# 205-207 among them): RTP avoids payload types 64-95 so the ranges never meet.
_RTCP_TYPES = range(192, 224)


class RtpError(ValueError):
    """A datagram that is not a usable RTP packet, or a packet that cannot be built."""


@dataclass(frozen=True)
class RtpPacket:
    """One RTP packet, as far as a voice call needs it."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def __post_init__(self) -> None:
        _check_range("payload type", self.payload_type, 0x7F)
        _check_range("sequence number", self.sequence, 0xFFFF)
        _check_range("timestamp", self.timestamp, 0xFFFF_FFFF)
        _check_range("SSRC", self.ssrc, 0xFFFF_FFFF)

    def encode(self) -> bytes:
        """The packet on the wire: a plain 12-byte header (no CSRC, extension, padding)."""
        first = RTP_VERSION << 6
        second = (0x80 if self.marker else 0) | self.payload_type
        header = _HEADER.pack(first, second, self.sequence, self.timestamp, self.ssrc)
        return header + self.payload


def _check_range(what: str, value: int, highest: int) -> None:
    if not 0 <= value <= highest:
        raise RtpError(f"RTP {what} {value} is outside 0-{highest}")


def is_rtcp(data: bytes) -> bool:
    """Whether a datagram is RTCP (by its packet type), to be ignored on the RTP port."""
    return len(data) >= 2 and data[0] >> 6 == RTP_VERSION and data[1] in _RTCP_TYPES


def parse_rtp(data: bytes) -> RtpPacket:
    """Read one RTP packet.

    Args:
        data: one UDP datagram, as received.

    Returns:
        The packet, its payload without CSRC list, header extension or padding.

    Raises:
        RtpError: the datagram is too short, not RTP version 2, or its CSRC list,
            extension or padding does not fit in it.
    """
    if len(data) < HEADER_BYTES:
        raise RtpError(f"RTP packet of {len(data)} bytes, shorter than the 12-byte header")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    version = first >> 6
    if version != RTP_VERSION:
        raise RtpError(f"RTP version {version}, expected 2")
    offset = HEADER_BYTES + 4 * (first & 0x0F)  # past the CSRC list
    if offset > len(data):
        raise RtpError(f"RTP CSRC list of {first & 0x0F} runs past the {len(data)}-byte packet")
    if first & 0x10:
        offset = _skip_extension(data, offset)
    end = len(data)
    if first & 0x20:
        end -= _padding(data, offset)
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
        marker=bool(second & 0x80),
    )


def _skip_extension(data: bytes, offset: int) -> int:
    """The offset past a header extension (a 4-byte head, then its length in words)."""
    if offset + _EXTENSION.size > len(data):
        raise RtpError("RTP header extension is cut off")
    _profile, words = _EXTENSION.unpack_from(data, offset)
    offset += _EXTENSION.size + 4 * words
    if offset > len(data):
        raise RtpError(f"RTP header extension of {words} words runs past the packet")
    return offset


def _padding(data: bytes, payload_start: int) -> int:
    """How many bytes of padding end the packet (its last byte counts them, itself too)."""
    count = data[-1] if len(data) > payload_start else 0
    if count == 0 or count > len(data) - payload_start:
        raise RtpError(f"RTP padding of {count} bytes does not fit the payload")
    return count
