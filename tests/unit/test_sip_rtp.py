"""RTP packets: built and read bit for bit, and garbage refused with its reason."""

from __future__ import annotations

import struct

import pytest

from realtime.sip.rtp import RtpError, RtpPacket, is_rtcp, parse_rtp

pytestmark = pytest.mark.unit


def test_encode_writes_the_rfc_3550_header() -> None:
    packet = RtpPacket(
        payload_type=8, sequence=0xABCD, timestamp=0x01020304, ssrc=0xDEADBEEF, payload=b"xy"
    )
    assert packet.encode() == bytes.fromhex("8008abcd01020304deadbeef") + b"xy"
    marked = RtpPacket(0, 1, 2, 3, b"", marker=True)
    assert marked.encode()[:2] == b"\x80\x80"


def test_a_packet_reads_back_as_it_was_written() -> None:
    packet = RtpPacket(101, 65535, 0xFFFF_FFFF, 7, bytes(range(160)), marker=True)
    assert parse_rtp(packet.encode()) == packet


def test_csrc_list_extension_and_padding_are_skipped() -> None:
    header = bytes([0x80 | 0x20 | 0x10 | 2, 0x00]) + struct.pack("!HII", 5, 160, 9)
    csrcs = struct.pack("!II", 1, 2)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\x10\xaa\x00\x00"
    padding = b"\x00\x00\x03"
    packet = parse_rtp(header + csrcs + extension + b"audio" + padding)
    assert packet.payload == b"audio"
    assert (packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc) == (0, 5, 160, 9)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x80\x00\x00", "shorter than the 12-byte header"),
        (bytes.fromhex("4000000100000000000000") + b"\x00", "version 1"),
        (bytes.fromhex("0000000100000000000000") + b"\x00", "version 0"),
        (bytes.fromhex("8300000100000000000000aa") + b"\x00" * 8, "CSRC list of 3"),
        (bytes.fromhex("9000000100000000000000aa") + b"\xbe\xde", "extension is cut off"),
        (bytes.fromhex("9000000100000000000000aa") + b"\xbe\xde\x00\x02", "2 words"),
        (bytes.fromhex("a000000100000000000000aa") + b"ab\x05", "padding of 5"),
        (bytes.fromhex("a000000100000000000000aa") + b"ab\x00", "padding of 0"),
    ],
)
def test_garbled_packets_are_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(RtpError, match=reason):
        parse_rtp(data)


def test_fields_out_of_range_cannot_be_built() -> None:
    with pytest.raises(RtpError, match="payload type 128"):
        RtpPacket(128, 0, 0, 0, b"")
    with pytest.raises(RtpError, match="sequence number 65536"):
        RtpPacket(0, 65536, 0, 0, b"")
    with pytest.raises(RtpError, match="timestamp -1"):
        RtpPacket(0, 0, -1, 0, b"")


def test_rtcp_is_told_apart_from_rtp() -> None:
    receiver_report = bytes.fromhex("81c90007") + b"\x00" * 28
    sender_report = bytes.fromhex("80c80006") + b"\x00" * 24
    assert is_rtcp(receiver_report)
    assert is_rtcp(sender_report)
    # PCMU with the marker bit set is 0x80 in the second byte: audio, not RTCP.
    assert not is_rtcp(RtpPacket(0, 1, 2, 3, b"a", marker=True).encode())
    assert not is_rtcp(RtpPacket(101, 1, 2, 3, b"a", marker=True).encode())
    assert not is_rtcp(b"\xc9")
    assert not is_rtcp(b"\x00\xc9garbage")
