"""A caller's audio track that hands out 20 ms frames of 16 kHz audio in real time.

A subclass says what each frame holds (`next_samples`); the pacing, the end when the
track is stopped and the timestamps are here, as aiortc's receiving side would deliver
a remote caller's audio.
"""

from __future__ import annotations

import asyncio
import time

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av.frame import Frame

from centralita.kernel.pcm import Pcm16
from realtime.audio.frames import pcm16_to_frame

RATE = 16_000
FRAME = RATE // 50


class PacedTrack(MediaStreamTrack):
    """Frames at the pace of a live call; `next_samples` fills each one."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._sent = 0
        self._start: float | None = None

    def next_samples(self) -> Pcm16:
        """The next frame's `FRAME` samples."""
        raise NotImplementedError

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self._sent * 0.02 - time.monotonic()))
        if self.readyState != "live":
            raise MediaStreamError
        frame = pcm16_to_frame(self.next_samples(), RATE, pts=self._sent * FRAME)
        self._sent += 1
        return frame
