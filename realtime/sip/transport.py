"""SIP over UDP: one socket per user agent, datagrams in and out.

Every datagram that parses goes to `on_message` with the address it came from. One that
does not is answered ``400 Bad Request`` with the parser's reason when enough of it can
be read to address a reply (a request with its Via, From, To, Call-ID and CSeq lines),
and is dropped otherwise; either way it is logged (at most a few times per source, a
broken peer must not flood the log) and changes nothing else: a malformed INVITE never
disturbs a call in progress. Keep-alive datagrams (a bare CRLF, RFC 5626) are ignored.

UDP because that is what trunks and PBXs speak by default; a datagram of up to 64 KiB
is read whole (SIP over UDP must fit one).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import cast

from realtime.sip.message import SipParseError, SipRequest, SipResponse, parse_message

log = logging.getLogger(__name__)

Address = tuple[str, int]
OnMessage = Callable[[SipRequest | SipResponse, Address], None]

# Logged per source before going quiet about it.
_LOG_BAD_PER_SOURCE = 3
# The headers a 400 needs to reach its sender and match its transaction.
_REPLY_HEADERS = ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")


class SipTransport(asyncio.DatagramProtocol):
    """The user agent's UDP socket (`open`), handing parsed messages to `on_message`."""

    def __init__(self, on_message: OnMessage) -> None:
        self.on_message = on_message
        self.bad_datagrams = 0
        self._bad_by_source: Counter[str] = Counter()
        self._transport: asyncio.DatagramTransport | None = None
        self.host = ""
        self.port = 0

    @classmethod
    async def open(cls, host: str, port: int, on_message: OnMessage) -> SipTransport:
        """Listen on `host`:`port` (0: any free port).

        Raises:
            OSError: the address is taken or not ours.
        """
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(
            lambda: cls(on_message), local_addr=(host, port)
        )
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's UDP transport is not a DatagramTransport subclass.
        self._transport = cast(asyncio.DatagramTransport, transport)
        self.host, self.port = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if not data.strip():
            return  # a keep-alive
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._bad(data, addr, str(exc))
            return
        try:
            self.on_message(message, (addr[0], addr[1]))
        except Exception:  # one message's bug must not close the socket for every call
            log.exception("SIP message from %s:%s could not be handled", *addr[:2])

    def send(self, message: SipRequest | SipResponse, addr: Address) -> None:
        """Send `message` to `addr` (silently nothing once closed: the call is over)."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(message.encode(), addr)

    def close(self) -> None:
        """Stop listening."""
        if self._transport is not None:
            self._transport.close()

    def _bad(self, data: bytes, addr: Address, reason: str) -> None:
        self.bad_datagrams += 1
        source = f"{addr[0]}:{addr[1]}"
        self._bad_by_source[source] += 1
        if self._bad_by_source[source] <= _LOG_BAD_PER_SOURCE:
            log.warning("bad SIP datagram from %s: %s", source, reason)
        reply = bad_request_reply(data, reason)
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)


def bad_request_reply(data: bytes, reason: str) -> bytes | None:
    """A ``400`` for an unparseable request, built from its raw header lines; None when
    it is not a request or lacks what a reply needs (then there is nobody to answer)."""
    text = data.decode("utf-8", errors="replace")
    head = text.replace("\r\n", "\n").split("\n\n", 1)[0].split("\n")
    if not head or head[0].startswith("SIP/") or " SIP/2.0" not in head[0]:
        return None
    if head[0].split(" ", 1)[0].upper() == "ACK":
        return None  # an ACK is never answered
    kept: list[str] = []
    for line in head[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if ":" in line and name in _REPLY_HEADERS:
            kept.append(line.strip())
    names = {line.split(":", 1)[0].strip().lower() for line in kept}
    if not {"via", "v"} & names or not {"call-id", "i"} & names or "cseq" not in names:
        return None
    phrase = " ".join(reason.split())[:100] or "Bad Request"
    lines = [f"SIP/2.0 400 {phrase}", *kept, "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()
