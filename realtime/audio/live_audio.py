"""Live audio between two peer connections: a short jitter buffer and the pump that fills it.

When a supervisor takes a call over, the caller's audio goes to the supervisor and the
supervisor's to the caller, each through the media worker. Each direction is one
`LiveAudio`: the receiving side's frames (any rate or layout) are pumped in as 48 kHz
mono, and the sending side's voice track pulls 20 ms at a time. The buffer is kept short
(a conversation, not a recording): when the writer runs ahead of the reader, the
oldest audio is dropped, so the delay never grows beyond `max_ms`.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from centralita.kernel.pcm import Pcm16
from realtime.audio.frames import WEBRTC_RATE, AudioConversionError, InboundResampler


class LiveAudio:
    """A bounded FIFO of mono int16 samples at `rate`.

    Args:
        rate: the sample rate of everything pushed and pulled.
        prefill_ms: audio held before the first pull succeeds (absorbs network jitter).
        max_ms: beyond this much buffered audio the oldest samples are dropped.
    """

    def __init__(self, rate: int = WEBRTC_RATE, *, prefill_ms: int = 40, max_ms: int = 200) -> None:
        if prefill_ms < 0 or max_ms <= prefill_ms:
            raise ValueError(f"need 0 <= prefill_ms < max_ms, got {prefill_ms} and {max_ms}")
        self.rate = rate
        self._prefill = rate * prefill_ms // 1000
        self._max = rate * max_ms // 1000
        self._chunks: collections.deque[Pcm16] = collections.deque()
        self._size = 0
        self._flowing = False  # prefilled once; until it runs dry
        self.dropped_samples = 0

    @property
    def buffered_ms(self) -> int:
        """Audio waiting to be pulled, in milliseconds."""
        return self._size * 1000 // self.rate

    def push(self, samples: Pcm16) -> None:
        """Append audio; drop the oldest beyond `max_ms`."""
        if samples.size == 0:
            return
        self._chunks.append(samples)
        self._size += int(samples.size)
        excess = self._size - self._max
        while excess > 0 and self._chunks:
            head = self._chunks[0]
            if head.size <= excess:
                self._chunks.popleft()
                cut = int(head.size)
            else:
                self._chunks[0] = head[excess:]
                cut = excess
            self._size -= cut
            self.dropped_samples += cut
            excess -= cut

    def pull(self, n: int) -> Pcm16 | None:
        """Exactly `n` samples, or None while prefilling or when fewer than `n` are held."""
        if not self._flowing and self._size < max(self._prefill, n):
            return None
        if self._size < n:
            self._flowing = False  # ran dry: prefill again before resuming
            return None
        self._flowing = True
        out = np.empty(n, dtype=np.int16)
        filled = 0
        while filled < n:
            head = self._chunks[0]
            take = min(n - filled, int(head.size))
            out[filled : filled + take] = head[:take]
            filled += take
            if take == head.size:
                self._chunks.popleft()
            else:
                self._chunks[0] = head[take:]
        self._size -= n
        return out


FrameError = Callable[[str], None]


async def pump(track: MediaStreamTrack, into: LiveAudio, on_error: FrameError) -> None:
    """Feed every frame `track` receives into `into` until the track ends.

    A corrupt frame costs that frame only (`on_error` says why); the track's end
    (`MediaStreamError`) returns normally.
    """
    resampler = InboundResampler(into.rate)
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        try:
            into.push(resampler.convert(frame))
        except (AudioConversionError, ValueError) as exc:
            on_error(str(exc))
