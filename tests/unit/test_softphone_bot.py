"""The bot softphone's own clock: when its speech ended."""

from __future__ import annotations

import numpy as np
import pytest

from realtime.softphone.bot import voiced_seconds

pytestmark = pytest.mark.unit
RATE = 16_000


def test_the_bot_times_its_speech_to_the_last_voiced_window() -> None:
    tone = (np.sin(np.arange(RATE) * 2 * np.pi * 220 / RATE) * 8000).astype(np.int16)
    speech_then_silence = np.concatenate([tone, np.zeros(RATE // 2, dtype=np.int16)])
    assert voiced_seconds(speech_then_silence, RATE) == pytest.approx(1.0, abs=0.02)


def test_silence_has_no_voiced_time() -> None:
    assert voiced_seconds(np.zeros(RATE, dtype=np.int16), RATE) == 0.0
