"""A shorter encoder window for Whisper: most of a live turn's recognition time saved.

Whisper's encoder always reads 30 s of audio, the utterance padded with silence, and
on two cores that pass is ~380 ms of the ~500 ms a Spanish turn takes with ``base``.
The encoder's cost grows faster than linearly with its input (attention), so reading
15 s instead of 30 s costs ~100 ms. CTranslate2 accepts the shorter input; faster-whisper
always pads to 30 s, so `WindowedWhisperModel` trims the padding just before encoding.

Why 15 s and not the utterance's own length (whisper.cpp's ``audio_ctx`` idea): with
only a second or two of silence after the speech the decoder never sees where the
speech ends, and loops ("C, C, C, C...") or drops words ("Yes, speaking" read as
nothing). With 15 s, Spanish and English persona lines read as with 30 s (measured on
espeak-ng speech through the phone path; ``make bench`` prints the effect on turns).
Longer utterances fall back to the full window. Offline re-transcription keeps 30 s.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from faster_whisper import WhisperModel  # type: ignore[import-untyped]

FULL_WINDOW_S = 30.0
"""What Whisper was trained on, and what faster-whisper feeds it."""

_FRAMES_PER_S = 100  # log-mel frames: one per 10 ms hop
_SILENCE_AFTER_S = 3.0
"""The least silence the window keeps after the speech (see the module's note)."""

# The model is shared by every call and runs in worker threads: the window is a
# per-thread setting of the transcription running in that thread.
_window = threading.local()


def window_frames(audio_s: float, window_s: float | None) -> int | None:
    """The encoder frames to keep for ``audio_s`` of speech; None for the full window."""
    if window_s is None or window_s >= FULL_WINDOW_S:
        return None
    if audio_s + _SILENCE_AFTER_S > window_s:
        return None  # a long utterance needs the whole window
    return int(window_s * _FRAMES_PER_S)


@contextmanager
def encoder_window(frames: int | None) -> Iterator[None]:
    """Encode with ``frames`` of input in this thread while the block runs (None: all)."""
    previous = getattr(_window, "frames", None)
    _window.frames = frames
    try:
        yield
    finally:
        _window.frames = previous


class WindowedWhisperModel(WhisperModel):  # type: ignore[misc]
    """`WhisperModel` whose encoder reads only this thread's `encoder_window`."""

    def encode(self, features: Any) -> Any:
        frames: int | None = getattr(_window, "frames", None)
        if frames is not None and features.shape[-1] > frames:
            features = features[..., :frames]
        return super().encode(features)
