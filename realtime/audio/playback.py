"""The agent's voice as an aiortc audio track: queued speech, silence when idle, barge-in.

`AgentVoiceTrack.recv()` is pulled by aiortc's RTP sender and paces itself like
aiortc's `AudioStreamTrack`: one 20 ms frame per 20 ms of wall time, anchored at the
first call. The content of a frame is chosen *after* the pacing sleep, so an
`interrupt()` silences the very next frame handed out (at most the frame already
handed to the encoder still plays).

Every utterance is accounted for in samples actually handed out, which is what the
call transcript must store when the caller cuts the agent off: `PlayedUtterance`
carries the played fraction and the text cut at that fraction on a word boundary.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from centralita.kernel.pcm import Pcm16
from realtime.audio.frames import (
    FRAME_MS,
    WEBRTC_RATE,
    AudioConversionError,
    Layout,
    as_pcm16_mono,
    pcm16_to_frame,
    resample_pcm16,
)
from realtime.audio.live_audio import LiveAudio
from realtime.audio.utterances import PlayedUtterance, Utterance

logger = logging.getLogger(__name__)


class PlaybackQueueFullError(ValueError):
    """Enqueuing this audio would exceed the track's bound on queued speech."""


FirstFrameHook = Callable[[str, float], None]
UtteranceEndHook = Callable[[PlayedUtterance], None]


class AgentVoiceTrack(MediaStreamTrack):
    """An outgoing audio track playing queued agent speech, silence when idle.

    Args:
        layout: "mono" or "stereo" frames (aiortc's Opus encoder takes either).
        sample_rate: output rate; WebRTC Opus wants 48 kHz.
        frame_ms: frame duration.
        max_queued_s: bound on audio waiting to be played; `enqueue` beyond it raises
            `PlaybackQueueFullError` (48 kHz int16: ~96 kB per second held).
        paced: sleep to real time in `recv()`; tests may turn it off.
        on_first_frame: called with (utterance_id, monotonic time) when the first
            frame of an utterance is handed out: time-to-first-audio.
        on_utterance_end: called with the `PlayedUtterance` of an utterance that
            played to its end (interrupted ones are returned by `interrupt()`).
        clock: the monotonic clock used for pacing and timestamps.
        max_lag_s: if `recv()` falls this far behind real time (a stalled loop), the
            timeline jumps forward instead of bursting the backlog at the peer.
        on_chunk: called with every 20 ms chunk handed out, speech or silence (the
            call recorder's agent channel); a failing hook is dropped, never the audio.

    `live`, when set, is played whenever no speech is queued: a human's voice relayed
    into the call (a supervisor's takeover). It must be at `sample_rate`.
    """

    kind = "audio"

    def __init__(
        self,
        *,
        layout: Layout = "mono",
        sample_rate: int = WEBRTC_RATE,
        frame_ms: int = FRAME_MS,
        max_queued_s: float = 120.0,
        paced: bool = True,
        on_first_frame: FirstFrameHook | None = None,
        on_utterance_end: UtteranceEndHook | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_lag_s: float = 0.2,
        on_chunk: Callable[[Pcm16], None] | None = None,
    ) -> None:
        super().__init__()
        if (sample_rate * frame_ms) % 1000:
            raise ValueError(f"{frame_ms} ms is not a whole number of samples at {sample_rate}")
        self.layout: Layout = layout
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate * frame_ms // 1000
        self.max_queued_samples = int(max_queued_s * sample_rate)
        self.paced = paced
        self.on_first_frame = on_first_frame
        self.on_utterance_end = on_utterance_end
        self.on_chunk = on_chunk
        self._clock = clock
        self._max_lag_s = max_lag_s
        self._queue: collections.deque[Utterance] = collections.deque()
        self._queued_samples = 0  # not yet handed out, over the whole queue
        self._idle = asyncio.Event()
        self._idle.set()
        self._start: float | None = None
        self._pts = 0
        self._silence = np.zeros(self.frame_samples, dtype=np.int16)
        self.live: LiveAudio | None = None
        self._paused = False
        self.frames_sent = 0
        self.speech_frames_sent = 0

    # -- control --------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        """Whether agent speech is being played or waiting to be."""
        return bool(self._queue)

    @property
    def queued_ms(self) -> int:
        """Agent speech not yet handed out, in milliseconds."""
        return self._queued_samples * 1000 // self.sample_rate

    def enqueue(
        self,
        samples: Pcm16,
        sample_rate: int,
        utterance_id: str,
        text: str,
        *,
        more_coming: bool = False,
    ) -> asyncio.Future[float | None]:
        """Queue one utterance (mono int16 at any rate) to play after what is queued.

        With `more_coming`, `samples` is the first piece of a streamed utterance: it
        starts playing at once, `extend` adds the next pieces and `close` says the
        stream is over (until then, a stream that falls behind plays silence).

        Call it from the event loop the track runs on. Resampling to 48 kHz happens
        here, in one go (~0.6 ms per second of speech on these machines). For long
        audio, resample in an executor first (`frames.resample_pcm16`) and enqueue at
        48 kHz, which only copies: the track itself is not thread-safe.

        Returns:
            A future resolved with the monotonic time `recv()` handed out the
            utterance's first frame (time-to-first-audio, voice-to-voice latency), or
            with None if the utterance was dropped (interrupt, stop) before that.

        Raises:
            AudioConversionError: (a ValueError) invalid samples or rate.
            PlaybackQueueFullError: (a ValueError) the queue bound would be exceeded.
            MediaStreamError: the track was stopped.
            RuntimeError: no running event loop.
        """
        pcm = self._accept(samples, sample_rate, utterance_id)
        if pcm.size == 0:
            raise AudioConversionError(f"utterance {utterance_id!r} has no audio")
        first_frame: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()
        self._queue.append(Utterance(utterance_id, text, pcm, first_frame, open=more_coming))
        self._queued_samples += int(pcm.size)
        self._idle.clear()
        return first_frame

    def extend(self, utterance_id: str, samples: Pcm16, sample_rate: int) -> bool:
        """Add the next piece of a streamed utterance.

        A piece at another rate is resampled on its own (a faint seam at each piece
        boundary): a streaming voice should deliver the track's rate.

        Returns:
            False when the utterance is no longer queued (a barge-in or mute dropped
            it): the piece is discarded and the stream can stop.

        Raises:
            AudioConversionError, PlaybackQueueFullError: as `enqueue`.
        """
        utterance = self._open_utterance(utterance_id)
        if utterance is None:
            return False
        pcm = self._accept(samples, sample_rate, utterance_id)
        utterance.extend(pcm)
        self._queued_samples += int(pcm.size)
        return True

    def close(self, utterance_id: str) -> None:
        """A streamed utterance is complete: it ends when what it holds has played."""
        utterance = self._open_utterance(utterance_id)
        if utterance is not None:
            utterance.open = False

    def _open_utterance(self, utterance_id: str) -> Utterance | None:
        return next((u for u in self._queue if u.utterance_id == utterance_id and u.open), None)

    def _accept(self, samples: Pcm16, sample_rate: int, utterance_id: str) -> Pcm16:
        """`samples` at the track's rate, within the bound on queued speech."""
        if self.readyState != "live":
            raise MediaStreamError("track stopped")
        pcm = resample_pcm16(as_pcm16_mono(samples), sample_rate, self.sample_rate)
        if self._queued_samples + pcm.size > self.max_queued_samples:
            raise PlaybackQueueFullError(
                f"utterance {utterance_id!r} would queue "
                f"{(self._queued_samples + pcm.size) / self.sample_rate:.1f} s, "
                f"over the {self.max_queued_samples / self.sample_rate:.1f} s bound"
            )
        return pcm

    @property
    def paused(self) -> bool:
        """Whether queued speech is held back (`pause`) until `resume` or `interrupt`."""
        return self._paused

    def pause(self) -> None:
        """Go silent from the next frame on, keeping the queue and the place in it.

        The caller may only be saying "ajá": `resume` goes on from the very sample
        where this stopped, `interrupt` drops it all as if it had been cut here.
        """
        self._paused = True

    def resume(self) -> None:
        """Play the held speech again from where `pause` stopped it."""
        self._paused = False

    def interrupt(self) -> list[PlayedUtterance]:
        """Stop speaking now: drop everything queued; the next frame is silence.

        A paused track is unpaused: what is enqueued next plays.

        Returns:
            A `PlayedUtterance` for each dropped utterance that had started playing
            (in practice the current one), with `interrupted=True`. Utterances that
            never started are dropped without a report: nothing of them was said.
        """
        reports = [u.report(self.sample_rate, interrupted=True) for u in self._queue if u.pos > 0]
        for utt in self._queue:
            utt.resolve_first_frame()
        self._queue.clear()
        self._queued_samples = 0
        self._paused = False
        self._idle.set()
        return reports

    async def wait_idle(self) -> None:
        """Wait until all queued speech has been handed out (or interrupted).

        Only a track that is being pulled (by aiortc's sender) gets there: bound the
        wait with `asyncio.timeout` where that is not certain.
        """
        await self._idle.wait()

    def stop(self) -> None:
        """End the track; queued speech is dropped and `wait_idle` waiters released."""
        self.interrupt()
        super().stop()

    # -- media ----------------------------------------------------------------------------

    async def _pace(self) -> None:
        if self._start is None:
            self._start = self._clock()
            return
        self._pts += self.frame_samples
        due = self._start + self._pts / self.sample_rate
        wait = due - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)
        elif -wait > self._max_lag_s:
            # The loop stalled. Jump the timeline to now (a gap in RTP timestamps the
            # receiver understands) rather than burst the backlog faster than real time.
            behind = int(-wait * self.sample_rate) // self.frame_samples * self.frame_samples
            self._pts += behind

    def _next_chunk(self) -> Pcm16:
        n = self.frame_samples
        while self._queue and not self._paused:
            utt = self._queue[0]
            chunk = utt.pcm[utt.pos : utt.pos + n]
            if utt.open and chunk.size < n:
                return self._silence  # the stream fell behind: wait for its next piece
            if chunk.size == 0:  # defensive: an exhausted utterance left in the queue
                self._finish_head()
                continue
            if utt.pos == 0:
                utt.first_frame_at = self._clock()
                utt.resolve_first_frame()
                self._notify_first_frame(utt)
            utt.pos += int(chunk.size)
            self._queued_samples -= int(chunk.size)
            if utt.pos >= utt.pcm.size and not utt.open:
                self._finish_head()
            self.speech_frames_sent += 1
            if chunk.size < n:
                # Pad the utterance's last frame with silence rather than splice the next
                # utterance in: keeps per-utterance accounting exact; costs < 20 ms.
                padded = np.zeros(n, dtype=np.int16)
                padded[: chunk.size] = chunk
                return padded
            return chunk
        if self.live is not None:
            relayed = self.live.pull(n)
            if relayed is not None:
                return relayed
        return self._silence

    def _finish_head(self) -> None:
        utt = self._queue.popleft()
        if not self._queue:
            self._idle.set()
        if self.on_utterance_end is not None:
            try:
                self.on_utterance_end(utt.report(self.sample_rate, interrupted=False))
            except Exception:
                logger.exception("on_utterance_end hook failed for %s", utt.utterance_id)

    def _notify_first_frame(self, utt: Utterance) -> None:
        if self.on_first_frame is None or utt.first_frame_at is None:
            return
        try:
            self.on_first_frame(utt.utterance_id, utt.first_frame_at)
        except Exception:
            # A metrics hook must never break the audio path.
            logger.exception("on_first_frame hook failed for %s", utt.utterance_id)

    def _tap(self, chunk: Pcm16) -> None:
        if self.on_chunk is None:
            return
        try:
            self.on_chunk(chunk)
        except Exception:
            logger.exception("on_chunk hook failed; the track stops calling it")
            self.on_chunk = None

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms frame: agent speech if any is queued (and not paused), else
        silence.

        Raises:
            MediaStreamError: the track was stopped.
        """
        if self.readyState != "live":
            raise MediaStreamError
        if self.paced:
            await self._pace()
            if self.readyState != "live":
                raise MediaStreamError
        elif self._start is None:
            self._start = self._clock()
        else:
            self._pts += self.frame_samples
        chunk = self._next_chunk()
        self.frames_sent += 1
        self._tap(chunk)
        return pcm16_to_frame(chunk, self.sample_rate, layout=self.layout, pts=self._pts)
