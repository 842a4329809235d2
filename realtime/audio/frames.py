"""Conversions between aiortc's `av.AudioFrame`s and the plain PCM the pipeline works on.

Inbound: whatever the peer sends (aiortc hands out 48 kHz stereo s16 20 ms frames, but
nothing here assumes it) becomes 16 kHz mono int16 for VAD and speech recognition.
Outbound: mono int16 at any rate (espeak-ng speaks at 22050 Hz) becomes 48 kHz 20 ms
s16 frames with continuous pts for a `MediaStreamTrack`.

Resampling goes through libswresample (`av.AudioResampler`): ~20 µs per 20 ms frame
on these machines, cheap enough to run inline on the event loop. A resampler is
stateful (filter history, sub-sample phase), so each stream owns one: one-off calls
on chunks of a stream would click at every chunk boundary.
"""

from __future__ import annotations

import fractions
from typing import Any, Literal

import av
import numpy as np
from av.audio.resampler import AudioResampler
from av.frame import Frame
from av.packet import Packet

from centralita.kernel.pcm import Pcm16

STT_RATE = 16_000
WEBRTC_RATE = 48_000
FRAME_MS = 20

Layout = Literal["mono", "stereo"]


class AudioConversionError(ValueError):
    """A frame or a sample buffer could not be converted (empty, corrupt, unsupported)."""


def _check_rate(sample_rate: int, what: str) -> None:
    if not isinstance(sample_rate, int) or isinstance(sample_rate, bool) or sample_rate <= 0:
        raise AudioConversionError(
            f"{what}: sample rate must be a positive int, got {sample_rate!r}"
        )


def as_pcm16_mono(samples: object) -> Pcm16:
    """Validate a mono int16 buffer and return it as a 1-D C-contiguous int16 array.

    Raises:
        AudioConversionError: not a 1-D int16 array (or a 2-D one with a single row).
    """
    if not isinstance(samples, np.ndarray):
        raise AudioConversionError(f"expected a numpy int16 array, got {type(samples).__name__}")
    if samples.dtype != np.int16:
        raise AudioConversionError(f"expected int16 samples, got {samples.dtype}")
    array: Pcm16 = samples
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1:
        raise AudioConversionError(f"expected mono (1-D) samples, got shape {array.shape}")
    return np.ascontiguousarray(array)


def pcm16_to_frame(
    samples: Pcm16,
    sample_rate: int,
    *,
    layout: Layout = "mono",
    pts: int | None = None,
) -> av.AudioFrame:
    """Wrap mono int16 samples in a packed s16 `av.AudioFrame` (duplicated for stereo).

    `time_base` is 1/sample_rate, so `pts` counts samples, as aiortc expects.

    Raises:
        AudioConversionError: invalid samples or rate.
    """
    mono = as_pcm16_mono(samples)
    _check_rate(sample_rate, "pcm16_to_frame")
    if mono.size == 0:
        raise AudioConversionError("pcm16_to_frame: no samples")
    # Packed s16 stereo is one plane of interleaved L R L R ...
    data = np.repeat(mono, 2).reshape(1, -1) if layout == "stereo" else mono.reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(data, format="s16", layout=layout)
    frame.sample_rate = sample_rate
    frame.time_base = fractions.Fraction(1, sample_rate)
    if pts is not None:
        frame.pts = pts
    return frame


def frame_to_pcm16(frame: av.AudioFrame) -> Pcm16:
    """Mono int16 samples of an s16 (packed or planar) mono frame, at the frame's own rate.

    Raises:
        AudioConversionError: the frame is not s16/s16p mono.
    """
    if frame.format.name not in ("s16", "s16p") or len(frame.layout.channels) != 1:
        raise AudioConversionError(
            f"frame_to_pcm16 wants s16 mono, got {frame.format.name} {frame.layout.name}"
        )
    data = frame.to_ndarray()
    # Packed mono and planar mono both come out as shape (1, samples).
    return np.ascontiguousarray(data.reshape(-1)[: frame.samples]).astype(np.int16, copy=False)


class _StreamResampler:
    """One libswresample stream to s16 mono at `rate`, rebuilt if the input changes shape."""

    def __init__(self, rate: int, layout: Layout = "mono") -> None:
        self.rate = rate
        self.layout: Layout = layout
        self._resampler: AudioResampler | None = None
        self._input_key: tuple[str, str, int] | None = None

    def _frames_to_pcm(self, frames: list[av.AudioFrame]) -> Pcm16:
        chunks = [f.to_ndarray().reshape(-1) for f in frames if f.samples]
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        out = np.concatenate(chunks).astype(np.int16, copy=False)
        if self.layout == "stereo":
            out = out[::2]  # channels are identical; keep left
        return np.ascontiguousarray(out)

    def push(self, frame: av.AudioFrame) -> Pcm16:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        tail = np.zeros(0, dtype=np.int16)
        if self._resampler is None or key != self._input_key:
            if self._resampler is not None:
                # The peer changed format mid-stream (renegotiation): drain the old
                # resampler so its delayed samples are not lost, then start afresh.
                tail = self._frames_to_pcm(self._resampler.resample(None))
            self._resampler = AudioResampler(format="s16", layout="mono", rate=self.rate)
            self._input_key = key
        try:
            out = self._frames_to_pcm(self._resampler.resample(frame))
        except (ValueError, av.FFmpegError) as exc:
            # A failed frame can leave the filter graph half-fed; start clean next time.
            self._resampler = None
            self._input_key = None
            raise AudioConversionError(f"resampling failed: {exc}") from exc
        return np.concatenate([tail, out]) if tail.size else out

    def flush(self) -> Pcm16:
        if self._resampler is None:
            return np.zeros(0, dtype=np.int16)
        try:
            out = self._frames_to_pcm(self._resampler.resample(None))
        finally:
            self._resampler = None
            self._input_key = None
        return out


def _check_frame(frame: Frame | Packet[Any]) -> av.AudioFrame:
    if not isinstance(frame, av.AudioFrame):
        raise AudioConversionError(f"expected an av.AudioFrame, got {type(frame).__name__}")
    if frame.samples <= 0:
        raise AudioConversionError("empty audio frame (0 samples)")
    if frame.sample_rate <= 0:
        raise AudioConversionError(f"audio frame without a sample rate ({frame.sample_rate})")
    if not frame.planes:
        raise AudioConversionError("audio frame without data planes")
    return frame


class InboundResampler:
    """Turns one inbound stream's frames (any rate, layout, packed or planar) into 16 kHz mono.

    One instance per received track: the resampler keeps history across frames. The
    output of a frame may be a few samples shorter or longer than exactly
    `samples * 16000 / rate` (the filter's delay), but the stream's total duration is kept.

    Lost packets leave holes in the frames' pts (aiortc sets it from the RTP
    timestamp). With `fill_gaps`, a hole of up to `max_gap_s` becomes silence, so
    that time counted in samples (the endpointer's, the recorder's) stays on the
    call's clock; a larger jump or a step back is a timestamp reset and is not filled.
    """

    def __init__(
        self, rate: int = STT_RATE, *, fill_gaps: bool = True, max_gap_s: float = 1.0
    ) -> None:
        _check_rate(rate, "InboundResampler")
        self._stream = _StreamResampler(rate)
        self.fill_gaps = fill_gaps
        self.max_gap_s = max_gap_s
        self.gap_samples_filled = 0
        self._next_pts: fractions.Fraction | None = None  # in seconds

    def _gap_before(self, frame: av.AudioFrame) -> int:
        """Output samples of silence owed for a hole before `frame` (0 if none)."""
        if frame.pts is None:
            self._next_pts = None
            return 0
        if frame.time_base is not None:
            base = fractions.Fraction(frame.time_base.numerator, frame.time_base.denominator)
        else:
            base = fractions.Fraction(1, frame.sample_rate)
        start = frame.pts * base
        expected = self._next_pts
        self._next_pts = start + fractions.Fraction(frame.samples, frame.sample_rate)
        if expected is None or not self.fill_gaps:
            return 0
        gap_s = start - expected
        # Less than a millisecond is rounding in the sender's timestamps, not loss.
        if gap_s < fractions.Fraction(1, 1000) or gap_s > self.max_gap_s:
            return 0
        return round(gap_s * self.rate)

    @property
    def rate(self) -> int:
        """Output sample rate."""
        return self._stream.rate

    def convert(self, frame: Frame | Packet[Any]) -> Pcm16:
        """Resample one received frame to mono int16 at `rate`.

        Takes what `MediaStreamTrack.recv()` returns; anything but an audio frame is
        refused with the error below.

        Raises:
            AudioConversionError: (a ValueError) for an empty or unusable frame; the
                stream stays usable for the next frame.
        """
        audio = _check_frame(frame)
        out = self._stream.push(audio)
        gap = self._gap_before(audio)
        if gap:
            self.gap_samples_filled += gap
            out = np.concatenate([np.zeros(gap, dtype=np.int16), out])
        return out

    def flush(self) -> Pcm16:
        """The samples still held by the resampler, at end of stream."""
        return self._stream.flush()


def to_pcm16_mono_16k(
    frame: Frame | Packet[Any], resampler: InboundResampler | None = None
) -> Pcm16:
    """Convert a frame to 16 kHz mono int16.

    Pass the stream's `InboundResampler` for continuous audio; without one a fresh
    resampler is used and drained, which is right for a lone frame only.

    Raises:
        AudioConversionError: (a ValueError) for an empty or unusable frame.
    """
    if resampler is not None:
        return resampler.convert(frame)
    one_shot = InboundResampler(STT_RATE)
    out = one_shot.convert(frame)
    return np.concatenate([out, one_shot.flush()])


class PcmResampler:
    """A streaming mono int16 resampler between two fixed rates (one per stream).

    Raises:
        AudioConversionError: invalid rates.
    """

    def __init__(self, from_rate: int, to_rate: int) -> None:
        _check_rate(from_rate, "PcmResampler")
        _check_rate(to_rate, "PcmResampler")
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._stream = _StreamResampler(to_rate)

    def push(self, samples: Pcm16) -> Pcm16:
        """Resample the next chunk of the stream (output may lag by a few samples).

        Raises:
            AudioConversionError: invalid samples.
        """
        mono = as_pcm16_mono(samples)
        if mono.size == 0:
            return np.zeros(0, dtype=np.int16)
        if self.from_rate == self.to_rate:
            return mono.copy()
        return self._stream.push(pcm16_to_frame(mono, self.from_rate))

    def flush(self) -> Pcm16:
        """The samples still held back, at end of stream."""
        return self._stream.flush()


def resample_pcm16(samples: Pcm16, from_rate: int, to_rate: int) -> Pcm16:
    """Resample a whole mono buffer (one utterance) in one go, delay drained.

    Raises:
        AudioConversionError: invalid samples or rates.
    """
    mono = as_pcm16_mono(samples)
    _check_rate(from_rate, "resample_pcm16")
    _check_rate(to_rate, "resample_pcm16")
    if mono.size == 0 or from_rate == to_rate:
        return mono.copy()
    stream = _StreamResampler(to_rate)
    head = stream.push(pcm16_to_frame(mono, from_rate))
    return np.concatenate([head, stream.flush()])


class OutboundFramer:
    """Cuts mono int16 audio (any rate) into 48 kHz s16 frames of `frame_ms`, pts continuous.

    `push` returns the whole frames available so far and keeps the remainder;
    `flush` drains the resampler and pads the last partial frame with silence. The
    pts keeps counting across pushes and flushes, so one framer can feed a track
    for a whole call.
    """

    def __init__(
        self,
        *,
        layout: Layout = "mono",
        sample_rate: int = WEBRTC_RATE,
        frame_ms: int = FRAME_MS,
        start_pts: int = 0,
    ) -> None:
        _check_rate(sample_rate, "OutboundFramer")
        if (sample_rate * frame_ms) % 1000:
            raise AudioConversionError(f"{frame_ms} ms is not a whole number of samples")
        self.layout: Layout = layout
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate * frame_ms // 1000
        self.next_pts = start_pts
        self._stream: _StreamResampler | None = None
        self._stream_rate: int | None = None
        self._pending = np.zeros(0, dtype=np.int16)

    @property
    def pending_samples(self) -> int:
        """Output-rate samples held back, waiting for a full frame."""
        return int(self._pending.size)

    def _cut(self, pad: bool) -> list[av.AudioFrame]:
        n = self.frame_samples
        whole = self._pending.size // n
        frames = [self._frame(self._pending[i * n : (i + 1) * n]) for i in range(whole)]
        self._pending = self._pending[whole * n :].copy()
        if pad and self._pending.size:
            tail = np.zeros(n, dtype=np.int16)
            tail[: self._pending.size] = self._pending
            frames.append(self._frame(tail))
            self._pending = np.zeros(0, dtype=np.int16)
        return frames

    def _frame(self, chunk: Pcm16) -> av.AudioFrame:
        frame = pcm16_to_frame(chunk, self.sample_rate, layout=self.layout, pts=self.next_pts)
        self.next_pts += self.frame_samples
        return frame

    def _drain_stream(self) -> Pcm16:
        if self._stream is None:
            return np.zeros(0, dtype=np.int16)
        out = self._stream.flush()
        self._stream = None
        self._stream_rate = None
        return out

    def push(self, samples: Pcm16, sample_rate: int) -> list[av.AudioFrame]:
        """Add audio; returns the complete frames it yields (possibly none).

        Raises:
            AudioConversionError: (a ValueError) invalid samples or rate; nothing is
                added in that case.
        """
        mono = as_pcm16_mono(samples)
        _check_rate(sample_rate, "OutboundFramer.push")
        if mono.size == 0:
            return []
        if sample_rate == self.sample_rate:
            converted = np.concatenate([self._drain_stream(), mono])
        else:
            head = np.zeros(0, dtype=np.int16)
            if self._stream_rate != sample_rate:
                head = self._drain_stream()
                self._stream = _StreamResampler(self.sample_rate)
                self._stream_rate = sample_rate
            assert self._stream is not None
            body = self._stream.push(pcm16_to_frame(mono, sample_rate))
            converted = np.concatenate([head, body])
        self._pending = np.concatenate([self._pending, converted])
        return self._cut(pad=False)

    def flush(self) -> list[av.AudioFrame]:
        """End of a piece of audio: everything left, the last frame padded with silence."""
        self._pending = np.concatenate([self._pending, self._drain_stream()])
        return self._cut(pad=True)

    def silence(self) -> av.AudioFrame:
        """One frame of silence at the next pts (for idle periods)."""
        return self._frame(np.zeros(self.frame_samples, dtype=np.int16))
