"""One SIP call's media: a UDP socket carrying RTP audio and DTMF both ways.

The SDP offer/answer names an address, a port and payload types (PCMU 0 or PCMA 8 for
the audio, a dynamic number for telephone events); this is the socket behind them.
RTP ports are even (the odd one above belongs to RTCP, which we do not send), taken
from a configured range so a firewall can open exactly that range; the first one tried
is random, so a port just given up by one call is seldom the next call's, and late
packets meant for the old call rarely reach the new one.

Receiving: audio packets go into a `JitterBuffer`, read back one frame every 20 ms of
wall clock by `frames()` (None where there is nothing to play: the reader plays
silence, so the caller's side keeps real time even when packets stop); telephone
events go through a `DtmfReceiver` to `on_digit`. RTCP and other payload types (comfort
noise, a codec we did not offer) are ignored; garbage is counted and logged a few times,
never raised: a broken peer cannot end the call, only its silence can (`last_received_at`).

Symmetric RTP ("comedia"): behind a NAT the far end's packets come from an address and
port other than its SDP's, and only replies sent back there get through. So the session
sends to the SDP's address until the first valid RTP packet of the call arrives, and
then to wherever that packet came from. It latches once: packets from any other source
afterwards are ignored, so a stranger who guesses the port can neither inject audio
nor steal the call's media (the "RTP bleed" attack). New SDP (`set_remote` with another
address) starts the latching over.

Sending: `send_audio` once per 20 ms frame (the sequence number +1, the timestamp +20 ms
of the codec's clock: 160 at G.711's 8 kHz, 960 at Opus's 48 kHz; the marker on a
talkspurt's first packet); `send_dtmf` sends a press's telephone events on their
schedule, from the same SSRC and sequence numbering, at the same clock (RFC 4733 2.1:
events share the audio's clock, so the SDP pairs telephone-event/48000 with Opus). Initial sequence
number, timestamp and SSRC are random (RFC 3550 5.1, and so they cannot be guessed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import ipaddress
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import TracebackType

from realtime.sip.jitter import JitterBuffer, JitterFigures
from realtime.sip.rtp import RtpError, RtpPacket, is_rtcp, parse_rtp
from realtime.sip.telephone_event import (
    DtmfReceiver,
    TelephoneEventError,
    dtmf_packets,
    parse_event,
)

log = logging.getLogger(__name__)

FRAME_S = 0.020
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
CLOCK_RATE = 8_000  # G.711's, the default; Opus runs at 48 kHz
# RFC 4733 durations as `dtmf_packets` writes them: at 8 kHz.
_DTMF_BUILT_AT = 8_000
# When the reader of `frames()` falls this far behind, it starts afresh from now
# instead of catching up in a burst.
MAX_BEHIND_S = 0.2
_LOG_BAD = 3  # bad packets logged per session before going quiet
_TIMESTAMPS = 1 << 32

Address = tuple[str, int]
OnDigit = Callable[[str], None]


class RtpPortsExhaustedError(OSError):
    """Every even port in the configured range is taken."""


@dataclass(frozen=True)
class PortRange:
    """The UDP ports RTP may use (its even ones), as the firewall opens them."""

    start: int = 20000
    end: int = 20999

    def __post_init__(self) -> None:
        if not 1024 <= self.start <= self.end <= 65535:
            raise ValueError(
                f"RTP port range {self.start}-{self.end} must lie within 1024-65535, "
                "start no higher than end"
            )

    def even_ports(self) -> list[int]:
        """The ports an RTP socket may take, in order."""
        return list(range(self.start + self.start % 2, self.end + 1, 2))


@dataclass
class RtpFigures:
    """What the session carried: for the call's diagnosis and for tests."""

    packets_in: int = 0  # valid RTP of the call, audio and DTMF
    packets_out: int = 0
    bad_packets: int = 0  # unreadable datagrams and telephone events
    dtmf_in: int = 0  # key presses heard
    dtmf_out: int = 0  # key presses sent
    ignored: int = 0  # RTCP, other payload types, other sources once latched
    jitter: JitterFigures = field(default_factory=JitterFigures)


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, session: RtpSession) -> None:
        self._session = session

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._session._receive(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # An ICMP "port unreachable": the far end is not listening (yet). Not fatal.
        log.debug("RTP port %d: %s", self._session.port, exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._session.close()


class RtpSession:
    """A call's RTP socket: `open` it, `set_remote` from the SDP, read `frames()`."""

    def __init__(
        self,
        host: str,
        *,
        payload_type: int,
        telephone_event: int | None = None,
        advertised: str | None = None,
        clock_rate: int = CLOCK_RATE,
    ) -> None:
        _check_clock_rate(clock_rate)
        self._clock_rate = clock_rate
        self._host = host
        self._advertised = advertised or host
        self._port = 0
        self._transport: asyncio.DatagramTransport | None = None
        _check_payload_type(payload_type)
        _check_payload_type(telephone_event)
        self._payload_type = payload_type
        self._telephone_event = telephone_event
        self._remote: Address | None = None  # from the SDP
        self._target: Address | None = None  # where packets go: the SDP's, or latched
        self._source: Address | None = None  # the one source whose packets are taken
        self._ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._talkspurt = True  # the next audio packet starts one (marker bit)
        self._jitter = JitterBuffer(frame_samples=self.frame_samples)
        self._dtmf = DtmfReceiver()
        self._dtmf_sending = asyncio.Lock()
        self._closed = False
        self.on_digit: OnDigit | None = None
        self.last_received_at: float | None = None
        self.figures = RtpFigures(jitter=self._jitter.figures)

    @classmethod
    async def open(
        cls,
        host: str,
        ports: PortRange,
        *,
        payload_type: int,
        telephone_event: int | None = None,
        advertised: str | None = None,
        clock_rate: int = CLOCK_RATE,
    ) -> RtpSession:
        """A session bound to a free even port of `ports` on `host`.

        Args:
            host: the local address to bind (the media worker's).
            ports: the range to take the port from.
            payload_type: the audio's (0 PCMU, 8 PCMA), as the SDP says.
            telephone_event: the telephone-event payload type, if DTMF was agreed.
            advertised: the address to put in our SDP when it is not `host` (behind
                a NAT, or `host` is 0.0.0.0).
            clock_rate: the audio's RTP clock (8000 G.711, 48000 Opus); `set_remote`
                may change it once the SDP has agreed the codec.

        Raises:
            RtpPortsExhaustedError: every even port of the range is taken.
            OSError: `host` cannot be bound at all.
        """
        session = cls(
            host,
            payload_type=payload_type,
            telephone_event=telephone_event,
            advertised=advertised,
            clock_rate=clock_rate,
        )
        loop = asyncio.get_running_loop()
        candidates = ports.even_ports()
        first = secrets.randbelow(len(candidates)) if candidates else 0
        for port in candidates[first:] + candidates[:first]:
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: _Receiver(session), local_addr=(host, port)
                )
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                continue  # another call has it
            session._transport = transport
            session._port = port
            return session
        raise RtpPortsExhaustedError(
            errno.EADDRINUSE,
            f"no free even port for RTP in {ports.start}-{ports.end} on {host}",
        )

    @property
    def host(self) -> str:
        """The local address the socket is bound to."""
        return self._host

    @property
    def port(self) -> int:
        """The even UDP port the socket is bound to."""
        return self._port

    @property
    def advertised_address(self) -> str:
        """The address for our SDP's connection line."""
        return self._advertised

    @property
    def ssrc(self) -> int:
        """Our stream's SSRC."""
        return self._ssrc

    @property
    def clock_rate(self) -> int:
        """The RTP clock of the audio (and of its telephone events)."""
        return self._clock_rate

    @property
    def frame_samples(self) -> int:
        """Timestamp units per 20 ms frame: 160 at 8 kHz, 960 at 48 kHz."""
        return round(self._clock_rate * FRAME_S)

    @property
    def target(self) -> Address | None:
        """Where our packets go: the SDP's address, or the one latched onto."""
        return self._target

    @property
    def closed(self) -> bool:
        """Whether `close` was called (or the socket was lost)."""
        return self._closed

    def set_remote(
        self,
        address: str,
        port: int,
        *,
        payload_type: int | None = None,
        telephone_event: int | None = None,
        clock_rate: int | None = None,
    ) -> None:
        """What the far end's SDP says: where to send, the payload types and the audio's
        clock agreed (None keeps what the session has).

        Address 0.0.0.0 or port 0 (a call on hold, RFC 3264) stops sending.

        Raises:
            RtpError: `address` is not an IP address, or a port, payload type or clock
                rate is out of range.
        """
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise RtpError(f"remote RTP address {address!r} is not an IP address") from None
        if not 0 <= port <= 65535:
            raise RtpError(f"remote RTP port {port} is outside 0-65535")
        _check_payload_type(payload_type)
        _check_payload_type(telephone_event)
        if clock_rate is not None:
            _check_clock_rate(clock_rate)
            self._clock_rate = clock_rate
            self._jitter.frame_samples = self.frame_samples
        if payload_type is not None:
            self._payload_type = payload_type
        if telephone_event is not None:
            self._telephone_event = telephone_event
        remote = None if ip.is_unspecified or port == 0 else (str(ip), port)
        if remote != self._remote:
            self._remote = self._target = remote
            self._source = None  # latch again onto what comes next

    # -- receiving ---------------------------------------------------------------------

    async def frames(self) -> AsyncIterator[bytes | None]:
        """One frame every 20 ms of wall clock (None: play silence), until `close`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            deadline += FRAME_S  # absolute deadlines: sleeping late never adds up
            delay = deadline - loop.time()
            if delay < -MAX_BEHIND_S:
                deadline = loop.time()  # the reader stalled: go on from now
            elif delay > 0:
                await asyncio.sleep(delay)
            if self._closed:
                return
            yield self._jitter.pop()

    def _receive(self, data: bytes, source: Address) -> None:
        if is_rtcp(data):
            self.figures.ignored += 1
            return
        try:
            packet = parse_rtp(data)
        except RtpError as error:
            self._bad(source, str(error))
            return
        kind = packet.payload_type
        if kind not in (self._payload_type, self._telephone_event) or not self._latch(source):
            self.figures.ignored += 1
            return
        self.figures.packets_in += 1
        self.last_received_at = asyncio.get_running_loop().time()
        if kind == self._payload_type:
            self._jitter.push(packet)
        else:
            self._digit(packet, source)

    def _latch(self, source: Address) -> bool:
        """Whether packets from `source` are the call's (the first source to send is)."""
        if self._source is None:
            self._source = source
            if source != self._remote:
                log.info(
                    "RTP port %d: the far end sends from %s:%d, its SDP said %s: replying there",
                    self._port,
                    *source,
                    _show(self._remote),
                )
                self._target = source
        return source == self._source

    def _digit(self, packet: RtpPacket, source: Address) -> None:
        try:
            digit = self._dtmf.feed(packet)
        except TelephoneEventError as error:
            self._bad(source, str(error))
            return
        if digit is None:
            return
        self.figures.dtmf_in += 1
        if self.on_digit is not None:
            try:
                self.on_digit(digit)
            except Exception:  # the listener's bug must not stop the media
                log.exception("RTP port %d: on_digit failed for %r", self._port, digit)

    def _bad(self, source: Address, reason: str) -> None:
        self.figures.bad_packets += 1
        if self.figures.bad_packets <= _LOG_BAD:  # a broken peer must not flood the log
            log.warning("RTP port %d: bad packet from %s:%d: %s", self._port, *source, reason)

    # -- sending -----------------------------------------------------------------------

    def send_audio(self, payload: bytes) -> None:
        """Send one 20 ms frame (160 bytes of G.711, an Opus packet); nowhere to send it
        drops it."""
        packet = RtpPacket(
            self._payload_type,
            self._next_sequence(),
            self._timestamp,
            self._ssrc,
            payload,
            marker=self._talkspurt,
        )
        self._timestamp = (self._timestamp + self.frame_samples) % _TIMESTAMPS
        if self._send(packet):
            self._talkspurt = False

    def mark_talkspurt(self) -> None:
        """The next audio frame begins a talkspurt (after silence not sent)."""
        self._talkspurt = True

    async def send_dtmf(self, digit: str, duration_ms: int = 160) -> None:
        """Send one key press as telephone events, taking `duration_ms` + 40 ms.

        Raises:
            RtpError: no telephone-event payload type was agreed.
            TelephoneEventError: `digit` is not a DTMF key, or the duration is out
                of range.
        """
        if self._telephone_event is None:
            raise RtpError("no telephone-event payload type was agreed: DTMF cannot be sent")
        async with self._dtmf_sending:  # one press at a time
            loop = asyncio.get_running_loop()
            start, timestamp = loop.time(), self._timestamp
            schedule = dtmf_packets(
                digit,
                payload_type=self._telephone_event,
                ssrc=self._ssrc,
                first_sequence=0,  # numbered as sent: audio may go out meanwhile
                timestamp=timestamp,
                duration_ms=duration_ms,
            )
            for offset, packet in schedule:
                await asyncio.sleep(max(0.0, start + offset - loop.time()))
                if self._closed:
                    return
                self._send(
                    dataclasses.replace(
                        packet, sequence=self._next_sequence(), payload=self._at_clock(packet)
                    )
                )
            self.figures.dtmf_out += 1
            # The press took wall time: audio resumes at a timestamp that says so.
            elapsed = round((loop.time() - start) * self._clock_rate)
            resumed = (timestamp + elapsed) % _TIMESTAMPS
            if (resumed - self._timestamp) % _TIMESTAMPS < _TIMESTAMPS // 2:
                self._timestamp = resumed
            self._talkspurt = True

    def _at_clock(self, packet: RtpPacket) -> bytes:
        """The event's payload with its duration at our clock (`dtmf_packets` counts at
        8 kHz; at 48 kHz a press of up to 1.3 s still fits the 16-bit duration)."""
        if self._clock_rate == _DTMF_BUILT_AT:
            return packet.payload
        event = parse_event(packet.payload)
        duration = event.duration * self._clock_rate // _DTMF_BUILT_AT
        return dataclasses.replace(event, duration=min(duration, 0xFFFF)).encode()

    def _next_sequence(self) -> int:
        sequence = self._sequence
        self._sequence = (sequence + 1) & 0xFFFF
        return sequence

    def _send(self, packet: RtpPacket) -> bool:
        if self._closed or self._transport is None or self._target is None:
            return False
        self._transport.sendto(packet.encode(), self._target)
        self.figures.packets_out += 1
        return True

    # -- ending ------------------------------------------------------------------------

    def close(self) -> None:
        """Release the port; `frames()` ends. Calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._transport is not None:
            self._transport.close()

    async def __aenter__(self) -> RtpSession:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _check_clock_rate(value: int) -> None:
    # 20 ms must be a whole number of ticks: every RTP audio clock in use is.
    if value <= 0 or value % 50:
        raise RtpError(f"RTP clock rate {value} is not a positive multiple of 50 Hz")


def _check_payload_type(value: int | None) -> None:
    if value is not None and not 0 <= value <= 127:
        raise RtpError(f"RTP payload type {value} is outside 0-127")


def _show(address: Address | None) -> str:
    return "no address yet" if address is None else f"{address[0]}:{address[1]}"
