"""How much of Whisper's 30 s window the encoder reads for a live utterance."""

from __future__ import annotations

import pytest

from realtime.providers.whisper_window import FULL_WINDOW_S, encoder_window, window_frames

pytestmark = pytest.mark.unit


def test_a_short_utterance_gets_the_short_window() -> None:
    assert window_frames(2.5, 20.0) == 2000


def test_the_window_keeps_three_seconds_of_silence_after_the_speech() -> None:
    assert window_frames(12.0, 15.0) == 1500
    assert window_frames(12.01, 15.0) is None  # would leave under 3 s: the full window


def test_no_window_or_the_full_one_means_whispers_own() -> None:
    assert window_frames(2.0, None) is None
    assert window_frames(2.0, FULL_WINDOW_S) is None


def _frames_now() -> int | None:
    from realtime.providers import whisper_window

    frames: int | None = getattr(whisper_window._window, "frames", None)
    return frames


def test_the_window_is_set_per_block_and_restored() -> None:
    with encoder_window(1500):
        assert _frames_now() == 1500
        with encoder_window(None):
            assert _frames_now() is None
        assert _frames_now() == 1500
    assert _frames_now() is None
