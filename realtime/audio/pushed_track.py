"""An incoming audio track fed by pushes: audio that arrives as messages, not as RTP.

A carrier media stream delivers the caller's audio as WebSocket messages; the call
session reads an aiortc `MediaStreamTrack`. `PushedAudioTrack` joins the two: whoever
receives the audio pushes its samples, the session `recv()`s them as frames, in order,
with `pts` counting samples, and the end of the stream (`end()`) ends the track the way
a closed peer connection does (`MediaStreamError`).

Nothing is paced here: frames are handed out as soon as they were pushed, since the
far end already sent them in real time.
"""

from __future__ import annotations

import asyncio

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from centralita.kernel.pcm import Pcm16
from realtime.audio.frames import pcm16_to_frame

# A track that nobody reads must not grow without bound: past this many frames queued
# (10 s of 20 ms frames) the oldest are dropped, as a jitter buffer would.
MAX_QUEUED_FRAMES = 500


class PushedAudioTrack(MediaStreamTrack):
    """Audio frames pushed by a receiver, read by `recv()` in order."""

    kind = "audio"

    def __init__(self, sample_rate: int, max_queued_frames: int = MAX_QUEUED_FRAMES) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.dropped_frames = 0
        self._frames: asyncio.Queue[av.AudioFrame | None] = asyncio.Queue()
        self._max = max_queued_frames
        self._pts = 0
        self._ended = False

    def push(self, samples: Pcm16) -> None:
        """Queue `samples` (mono int16 at `sample_rate`) as one frame; ignored once ended."""
        if self._ended or samples.size == 0:
            return
        while self._frames.qsize() >= self._max:
            self._frames.get_nowait()
            self.dropped_frames += 1
        self._frames.put_nowait(pcm16_to_frame(samples, self.sample_rate, pts=self._pts))
        self._pts += int(samples.size)

    def end(self) -> None:
        """No more audio: `recv()` raises `MediaStreamError` once the queue is read."""
        if not self._ended:
            self._ended = True
            self._frames.put_nowait(None)

    async def recv(self) -> av.AudioFrame:
        """The next pushed frame, waiting for it.

        Raises:
            MediaStreamError: the stream ended (or the track was stopped).
        """
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._frames.get()
        if frame is None:
            self._frames.put_nowait(None)  # every later recv() ends too
            raise MediaStreamError
        return frame

    def stop(self) -> None:
        """Stop the track; a reader waiting in `recv()` is woken and ends."""
        super().stop()
        self.end()
