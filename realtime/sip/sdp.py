"""SDP offer/answer for one audio stream (RFC 4566 descriptions, RFC 3264 negotiation).

Before any audio flows, the two sides agree where to send RTP and in which codec: the
offer lists the codecs a side can receive, in its order of preference, and the answer
picks from them. We speak G.711 (PCMU, PCMA) and RFC 4733 telephone-events for DTMF, so
an answer here is always one voice codec plus, when offered, telephone-event at the same
clock rate: one codec means neither side may switch codecs mid-call, which keeps the RTP
path simple. Only the first audio m-line matters; video or other streams are ignored.

What we cannot honour is refused with a `SdpError` that says why (the user agent answers
``488 Not Acceptable Here``): SRTP, or an offer with no codec in common.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
# The answer's direction for each offered one (RFC 3264 6.1), also the offerer's view
# of an answer.
_MIRROR = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
           "inactive": "inactive"}  # fmt: skip
DEFAULT_PTIME = 20


class SdpError(ValueError):
    """A session description that cannot be read or agreed to; the message says why."""


@dataclass(frozen=True)
class Codec:
    """One RTP payload format: ``a=rtpmap:<payload_type> <name>/<clock_rate>[/<channels>]``."""

    payload_type: int
    name: str
    clock_rate: int
    channels: int = 1
    fmtp: str | None = None

    def same_format(self, other: Codec) -> bool:
        """The same codec, whatever payload type each side numbers it with."""
        return (self.name.lower(), self.clock_rate) == (other.name.lower(), other.clock_rate)


PCMU = Codec(0, "PCMU", 8000)
PCMA = Codec(8, "PCMA", 8000)
TELEPHONE_EVENT = Codec(101, "telephone-event", 8000, fmtp="0-16")
OPUS = Codec(111, "opus", 48000, 2)

# RFC 3551's static audio payload types: usable without an rtpmap line.
_STATIC = {
    codec.payload_type: codec
    for codec in (PCMU, Codec(3, "GSM", 8000), Codec(4, "G723", 8000), PCMA,
                  Codec(9, "G722", 8000), Codec(13, "CN", 8000), Codec(18, "G729", 8000))
}  # fmt: skip
# Formats that are not a voice codec: never chosen as "the" codec.
_NOT_VOICE = {"telephone-event", "cn"}


@dataclass(frozen=True)
class SessionDescription:
    """The first audio stream of an SDP: where to send it, and in which codecs.

    `port` 0 means the stream is refused (in an answer) or disabled.
    """

    address: str
    port: int
    codecs: tuple[Codec, ...]
    direction: str = "sendrecv"
    ptime: int | None = None
    session_id: int = 0
    session_version: int = 0

    @property
    def on_hold(self) -> bool:
        """The other side put us on hold (RFC 3264 8.4, and the older 0.0.0.0 address)."""
        return self.direction in ("sendonly", "inactive") or _is_unspecified(self.address)


def parse_sdp(data: bytes | str) -> SessionDescription:
    """Read a session description's first audio stream.

    Raises:
        SdpError: not SDP, no audio stream, no address, a bad port, a transport other
            than plain RTP/AVP, or a dynamic payload type with no rtpmap.
    """
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    lines = [line.strip() for line in re.split(r"\r?\n", text) if line.strip()]
    if not lines or lines[0] != "v=0":
        raise SdpError("not SDP: it does not start with v=0")
    session: list[str] = []
    audio: list[str] | None = None
    in_other_media = False
    for number, line in enumerate(lines, start=1):
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"line {number} is not type=value: {line[:40]!r}")
        if line.startswith("m="):
            in_other_media = audio is not None or not line.startswith("m=audio ")
            if not in_other_media:
                audio = [line]
        elif audio is not None and not in_other_media:
            audio.append(line)
        elif audio is None and not in_other_media:
            session.append(line)
    if audio is None:
        raise SdpError("no audio m= line")
    session_id, session_version = _origin(session)
    port, formats = _media_line(audio[0])
    address = _connection(audio) or _connection(session)
    if address is None:
        raise SdpError("no connection address (c= line) for the audio stream")
    attributes = _attributes(session), _attributes(audio)
    direction = next((d for attrs in reversed(attributes) for d in attrs if d in DIRECTIONS), None)
    ptime = attributes[1].get("ptime") or attributes[0].get("ptime")
    return SessionDescription(
        address=address,
        port=port,
        codecs=_codecs(formats, audio),
        direction=direction or "sendrecv",
        ptime=_int(ptime, "ptime") if ptime else None,
        session_id=session_id,
        session_version=session_version,
    )


def _int(text: str, what: str) -> int:
    if not text.strip().isdigit():
        raise SdpError(f"bad {what} {text[:20]!r}")
    return int(text)


def _origin(session: list[str]) -> tuple[int, int]:
    # o=<username> <sess-id> <sess-version> IN IP4 <address>; lenient: ids are only kept.
    for line in session:
        if line.startswith("o="):
            fields = line[2:].split()
            if len(fields) >= 3 and fields[1].isdigit() and fields[2].isdigit():
                return int(fields[1]), int(fields[2])
    return 0, 0


def _media_line(line: str) -> tuple[int, list[str]]:
    fields = line[2:].split()
    if len(fields) < 4:
        raise SdpError(f"bad audio m= line {line[:60]!r}")
    port_text, transport = fields[1].split("/")[0], fields[2]
    if not port_text.isdigit() or int(port_text) > 65535:
        raise SdpError(f"bad audio port {fields[1][:20]!r}")
    if "SAVP" in transport.upper():
        raise SdpError(f"SRTP not supported (transport {transport})")
    if transport.upper() != "RTP/AVP":
        raise SdpError(f"unsupported transport {transport[:30]!r}: only RTP/AVP")
    return int(port_text), fields[3:]


def _connection(lines: list[str]) -> str | None:
    for line in lines:
        if line.startswith("c="):
            fields = line[2:].split()
            if len(fields) != 3 or fields[0] != "IN" or fields[1] not in ("IP4", "IP6"):
                raise SdpError(f"bad connection line {line[:60]!r}")
            return fields[2].split("/")[0]  # drop a multicast TTL
    return None


def _attributes(lines: list[str]) -> dict[str, str]:
    """``a=name:value`` and flag ``a=name`` lines, first one of each name (rtpmap aside)."""
    attributes: dict[str, str] = {}
    for line in lines:
        if line.startswith("a="):
            name, _, value = line[2:].partition(":")
            attributes.setdefault(name.strip(), value.strip())
    return attributes


def _codecs(formats: list[str], audio: list[str]) -> tuple[Codec, ...]:
    rtpmap: dict[int, tuple[str, int, int]] = {}
    fmtp: dict[int, str] = {}
    for line in audio:
        match = re.match(r"a=rtpmap:\s*(\d+)\s+([^/\s]+)/(\d+)(?:/(\d+))?", line)
        if match:
            rtpmap[int(match[1])] = (match[2], int(match[3]), int(match[4] or 1))
        elif match := re.match(r"a=fmtp:\s*(\d+)\s+(.*)", line):
            fmtp[int(match[1])] = match[2].strip()
    codecs: list[Codec] = []
    for text in formats:
        payload_type = _int(text, "payload type")
        if payload_type > 127:
            raise SdpError(f"bad payload type {payload_type}")
        if payload_type in rtpmap:
            name, rate, channels = rtpmap[payload_type]
            codecs.append(Codec(payload_type, name, rate, channels, fmtp.get(payload_type)))
        elif payload_type in _STATIC:
            codecs.append(_STATIC[payload_type])
        elif payload_type >= 96:
            raise SdpError(f"dynamic payload type {payload_type} has no rtpmap")
        # An unknown static type without rtpmap: nothing we could use, so left out.
    return tuple(codecs)


def build_sdp(
    address: str,
    port: int,
    codecs: Sequence[Codec] = (PCMU, PCMA, TELEPHONE_EVENT),
    *,
    session_id: int | None = None,
    session_version: int = 0,
    direction: str = "sendrecv",
    ptime: int = DEFAULT_PTIME,
    username: str = "centralita",
) -> str:
    """An SDP offering (or answering with) `codecs` on `address`:`port`, CRLF lines.

    Raises:
        SdpError: no codecs, a port outside 0-65535 or an unknown direction.
    """
    if not codecs:
        raise SdpError("an SDP needs at least one codec")
    if not 0 <= port <= 65535:
        raise SdpError(f"bad port {port}")
    if direction not in DIRECTIONS:
        raise SdpError(f"bad direction {direction!r}")
    family = "IP6" if _is_ipv6(address) else "IP4"
    sid = secrets.randbelow(2**62) if session_id is None else session_id
    formats = " ".join(str(codec.payload_type) for codec in codecs)
    lines = [
        "v=0",
        f"o={username} {sid} {session_version} IN {family} {address}",
        f"s={username}",
        f"c=IN {family} {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {formats}",
    ]
    for codec in codecs:
        channels = f"/{codec.channels}" if codec.channels != 1 else ""
        lines.append(f"a=rtpmap:{codec.payload_type} {codec.name}/{codec.clock_rate}{channels}")
        if codec.fmtp:
            lines.append(f"a=fmtp:{codec.payload_type} {codec.fmtp}")
    lines += [f"a=ptime:{ptime}", f"a={direction}"]
    return "\r\n".join(lines) + "\r\n"


def _is_unspecified(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_unspecified
    except ValueError:
        return False


def _is_ipv6(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).version == 6
    except ValueError:
        return False  # a host name: IN IP4 is what RFC 4566 asks for then


@dataclass(frozen=True)
class Negotiated:
    """What both sides agreed: the codec (with the payload type to send), DTMF's payload
    type (None: no RFC 4733 events, fall back to in-band tones), where to send RTP, the
    packet time and OUR direction (``recvonly``: we must not send)."""

    codec: Codec
    telephone_event: int | None
    remote_address: str
    remote_port: int
    ptime: int
    direction: str


def _voice(codecs: Sequence[Codec]) -> list[Codec]:
    return [codec for codec in codecs if codec.name.lower() not in _NOT_VOICE]


def _telephone_event(codecs: Sequence[Codec], clock_rate: int) -> Codec | None:
    return next(
        (c for c in codecs if c.name.lower() == "telephone-event" and c.clock_rate == clock_rate),
        None,
    )


def answer_offer(
    offer: SessionDescription,
    *,
    address: str,
    port: int,
    supported: Sequence[Codec] = (PCMU, PCMA),
    session_id: int | None = None,
) -> tuple[str, Negotiated]:
    """Our answer to `offer` (the SDP text) and what it agrees.

    The codec is the offer's first that we support (the offerer's preference wins), under
    the offer's payload type; telephone-event rides along when offered at its clock rate.

    Raises:
        SdpError: no codec in common (answer 488).
    """
    chosen = next(
        (c for c in _voice(offer.codecs) if any(c.same_format(s) for s in supported)), None
    )
    if chosen is None:
        offered = ", ".join(f"{c.name}/{c.clock_rate}" for c in offer.codecs) or "nothing"
        ours = ", ".join(c.name for c in supported)
        raise SdpError(f"no common audio codec: offered {offered}; we support {ours}")
    event = _telephone_event(offer.codecs, chosen.clock_rate)
    direction = _MIRROR[offer.direction]
    ptime = offer.ptime or DEFAULT_PTIME
    answer_port = port if offer.port else 0  # a disabled stream stays disabled (RFC 3264 6)
    codecs = (chosen,) if event is None else (chosen, event)
    text = build_sdp(
        address, answer_port, codecs, session_id=session_id, direction=direction, ptime=ptime
    )
    negotiated = Negotiated(
        codec=chosen,
        telephone_event=None if event is None else event.payload_type,
        remote_address=offer.address,
        remote_port=offer.port,
        ptime=ptime,
        direction=direction,
    )
    return text, negotiated


def accept_answer(offer_sent: Sequence[Codec], answer: SessionDescription) -> Negotiated:
    """What the answer to our offer agrees: its first voice codec that we offered.

    The payload types are the answer's: each side sends with the numbers the receiver
    declared (RFC 3264 5.1).

    Raises:
        SdpError: the answer refuses the stream (port 0) or picks nothing we offered.
    """
    if answer.port == 0:
        raise SdpError("the answer refused the audio stream (port 0)")
    chosen = next(
        (c for c in _voice(answer.codecs) if any(c.same_format(o) for o in offer_sent)), None
    )
    if chosen is None:
        answered = ", ".join(f"{c.name}/{c.clock_rate}" for c in answer.codecs) or "nothing"
        raise SdpError(f"no common audio codec: the answer has {answered}")
    we_offered_events = _telephone_event(offer_sent, chosen.clock_rate) is not None
    event = _telephone_event(answer.codecs, chosen.clock_rate) if we_offered_events else None
    return Negotiated(
        codec=chosen,
        telephone_event=None if event is None else event.payload_type,
        remote_address=answer.address,
        remote_port=answer.port,
        ptime=answer.ptime or DEFAULT_PTIME,
        direction=_MIRROR[answer.direction],
    )
