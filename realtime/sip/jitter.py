"""A jitter buffer: the caller's RTP packets back in order, one frame per 20 ms tick.

UDP delivers packets late, early, twice, out of order or not at all. The buffer holds
the packets of one audio stream keyed by sequence number, and the reader takes one
frame per 20 ms tick (`pop`): the next one in sequence, or None where that frame is
missing (the reader plays silence; a packet arriving after its turn is dropped as late).

The trade-off is `depth`: playing starts only once `depth` packets are waiting, so a
packet may arrive up to about `depth` frames late and still be played, at the cost of
that much delay on everything the caller says. Depth 3 is 60 ms: it absorbs the jitter
of an ordinary trunk and keeps the conversation's latency (which the caller feels when
they interrupt the agent) low. When the buffer runs dry (a network stall, or a far end
that stops sending in silence) it waits for `depth` packets again, so a stall grows the
delay by what it takes to refill, never more.

It never grows without bound: past `capacity` packets (a far end whose clock runs fast,
or a burst after a stall) the oldest are dropped and playing jumps ahead to the rest.

Sequence numbers are 16 bits and wrap: each is extended against the highest seen so
far (RFC 3550 A.1), so 65535 is followed by 65536, not 0. A new SSRC is a new stream
(the far end's media moved, a transfer): the buffer starts over. So does a sequence
number far behind what was played, once the next packet confirms it (a far end that
restarted its numbering), while a single stray old packet is only dropped. A jump far
ahead needs no rule: playing skips straight to the first packet held.

Timestamps are not used: each packet is taken to be one frame of `frame_samples`
(160 at 8 kHz, the 20 ms every SIP trunk sends by default).
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime.sip.rtp import RtpPacket

DEFAULT_CAPACITY = 50  # one second of 20 ms frames
# RFC 3550 A.1's MAX_MISORDER: further behind than this is not a late packet.
MAX_MISORDER = 100


@dataclass
class JitterFigures:
    """What the buffer saw: for the call's diagnosis and for tests."""

    received: int = 0  # packets taken into the buffer
    played: int = 0  # frames handed out
    lost: int = 0  # frames that never came in time: skipped, silence in their place
    late: int = 0  # packets that came after their turn (dropped)
    duplicates: int = 0  # packets already held (dropped)
    resets: int = 0  # the stream started over (new SSRC, restarted numbering)
    dropped: int = 0  # packets thrown away because the buffer was full
    underruns: int = 0  # times the buffer ran dry while playing and refilled


class JitterBuffer:
    """The packets of one audio payload type, handed out in sequence order."""

    def __init__(
        self, frame_samples: int = 160, depth: int = 3, capacity: int = DEFAULT_CAPACITY
    ) -> None:
        if frame_samples <= 0:
            raise ValueError(f"frame_samples must be positive, not {frame_samples}")
        if not 1 <= depth <= capacity:
            raise ValueError(f"depth {depth} must be between 1 and the capacity {capacity}")
        self.frame_samples = frame_samples
        self.depth = depth
        self.capacity = capacity
        self.figures = JitterFigures()
        self._packets: dict[int, bytes] = {}  # extended sequence number -> payload
        self._ssrc: int | None = None
        self._highest: int | None = None  # highest extended sequence number seen
        self._last: int | None = None  # last one played or skipped
        self._playing = False
        self._restart_at: int | None = None  # the sequence that confirms a restart

    @property
    def buffered(self) -> int:
        """Packets waiting to be played."""
        return len(self._packets)

    def push(self, packet: RtpPacket) -> None:
        """Take one received packet (any order, any number of times)."""
        if packet.ssrc != self._ssrc:
            if self._ssrc is not None:
                self._start_over()
            self._ssrc = packet.ssrc
        number = self._extend(packet.sequence)
        if self._last is not None and number <= self._last:
            if self._last - number <= MAX_MISORDER or not self._restart_confirmed(packet):
                self.figures.late += 1
                return
            self._start_over()
            number = packet.sequence
        if number in self._packets:
            self.figures.duplicates += 1
            return
        self._packets[number] = packet.payload
        self._highest = number if self._highest is None else max(self._highest, number)
        self.figures.received += 1
        while len(self._packets) > self.capacity:
            self._drop_oldest()

    def pop(self) -> bytes | None:
        """The next frame's payload, or None for silence (missing, or still buffering)."""
        if not self._playing:
            if len(self._packets) < self.depth:
                return None
            self._start_playing()
        if not self._packets:
            self._playing = False  # ran dry: refill to `depth` before playing on
            self.figures.underruns += 1
            return None
        assert self._last is not None  # set when playing started
        number = self._last + 1
        payload = self._packets.pop(number, None)
        if payload is None:
            first = min(self._packets)
            if first - number < self.capacity:
                self._last = number  # lost, or too late: its turn is over
                self.figures.lost += 1
                return None
            # No reordering explains a gap this long: the far end jumped ahead.
            self.figures.lost += first - number
            number = first
            payload = self._packets.pop(number)
        self._last = number
        self.figures.played += 1
        return payload

    def _extend(self, sequence: int) -> int:
        """The 16-bit sequence number, unwrapped against the highest seen so far."""
        if self._highest is None:
            return sequence
        delta = (sequence - self._highest) & 0xFFFF
        if delta >= 0x8000:
            delta -= 0x10000
        return self._highest + delta

    def _restart_confirmed(self, packet: RtpPacket) -> bool:
        """A packet far behind: a restart if it follows the previous such packet."""
        confirmed = packet.sequence == self._restart_at
        self._restart_at = (packet.sequence + 1) & 0xFFFF
        return confirmed

    def _start_playing(self) -> None:
        first = min(self._packets)
        if self._last is not None and first > self._last + 1:
            self.figures.lost += first - self._last - 1  # never came while refilling
        self._last = first - 1
        self._playing = True

    def _drop_oldest(self) -> None:
        oldest = min(self._packets)
        del self._packets[oldest]
        self.figures.dropped += 1
        if self._last is None or oldest > self._last:
            if self._last is not None:
                self.figures.lost += oldest - self._last - 1  # the gap before it
            self._last = oldest  # play on after it; were it to come again, it is late

    def _start_over(self) -> None:
        self._packets.clear()
        self._highest = None
        self._last = None
        self._playing = False
        self._restart_at = None
        self.figures.resets += 1
