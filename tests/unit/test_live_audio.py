"""The jitter buffer between a supervisor and a caller: order, prefill, bound, dry runs."""

from __future__ import annotations

import numpy as np
import pytest

from realtime.audio.live_audio import LiveAudio
from realtime.audio.playback import AgentVoiceTrack

pytestmark = pytest.mark.unit

RATE = 1000  # 1 sample per ms keeps the arithmetic readable


def ramp(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.int16)


def test_audio_comes_out_in_order_across_chunk_boundaries() -> None:
    live = LiveAudio(RATE, prefill_ms=0, max_ms=1000)
    live.push(ramp(0, 7))
    live.push(ramp(7, 13))
    first, second = live.pull(10), live.pull(10)
    assert first is not None
    assert second is not None
    assert np.array_equal(np.concatenate([first, second]), ramp(0, 20))
    assert live.pull(1) is None
    assert live.buffered_ms == 0


def test_nothing_comes_out_until_the_prefill_is_held() -> None:
    live = LiveAudio(RATE, prefill_ms=40, max_ms=200)
    live.push(ramp(0, 30))
    assert live.pull(20) is None  # 30 ms held, 40 needed before the first pull
    live.push(ramp(30, 10))
    assert live.pull(20) is not None
    assert live.pull(20) is not None  # flowing: no prefill between pulls


def test_running_dry_prefills_again() -> None:
    live = LiveAudio(RATE, prefill_ms=40, max_ms=200)
    live.push(ramp(0, 40))
    assert live.pull(20) is not None
    assert live.pull(20) is not None
    live.push(ramp(40, 20))
    assert live.pull(30) is None  # dry: short of a frame
    assert live.pull(20) is None  # and now waiting for the prefill again
    live.push(ramp(60, 20))
    chunk = live.pull(20)
    assert chunk is not None
    assert int(chunk[0]) == 40


def test_a_writer_running_ahead_drops_the_oldest_audio_not_the_newest() -> None:
    live = LiveAudio(RATE, prefill_ms=0, max_ms=100)
    for start in range(0, 250, 50):
        live.push(ramp(start, 50))
    assert live.buffered_ms == 100
    assert live.dropped_samples == 150
    chunk = live.pull(100)
    assert chunk is not None
    assert np.array_equal(chunk, ramp(150, 100))


def test_an_empty_push_changes_nothing_and_bad_bounds_are_refused() -> None:
    live = LiveAudio(RATE, prefill_ms=0, max_ms=100)
    live.push(np.zeros(0, np.int16))
    assert live.buffered_ms == 0
    with pytest.raises(ValueError, match="prefill_ms"):
        LiveAudio(RATE, prefill_ms=100, max_ms=100)


async def test_a_voice_track_plays_live_audio_when_no_speech_is_queued() -> None:
    track = AgentVoiceTrack(paced=False)
    live = LiveAudio(track.sample_rate, prefill_ms=0, max_ms=200)
    track.live = live
    live.push(np.full(track.frame_samples, 1234, np.int16))
    relayed = await track.recv()
    silence = await track.recv()  # the buffer ran dry
    assert int(np.abs(relayed.to_ndarray()).max()) == 1234
    assert int(np.abs(silence.to_ndarray()).max()) == 0
    # Queued speech goes first; the live audio waits behind it.
    live.push(np.full(track.frame_samples, 99, np.int16))
    track.enqueue(np.full(track.frame_samples, 5000, np.int16), track.sample_rate, "u", "x")
    assert int(np.abs((await track.recv()).to_ndarray()).max()) == 5000
    assert int(np.abs((await track.recv()).to_ndarray()).max()) == 99
