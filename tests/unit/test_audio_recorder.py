"""The call recorder: two channels on one call clock, written as the call goes."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from realtime.audio import synth
from realtime.audio.recorder import CallRecorder, RecorderError, read_wav_channels

pytestmark = pytest.mark.unit


def first_loud(x: npt.NDArray[np.int16], threshold: int = 1000) -> int:
    return int(np.flatnonzero(np.abs(x) > threshold)[0])


def last_loud(x: npt.NDArray[np.int16], threshold: int = 1000) -> int:
    return int(np.flatnonzero(np.abs(x) > threshold)[-1])


def test_sides_are_aligned_on_the_call_clock(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    with CallRecorder(path, sample_rate=16_000) as rec:
        # The agent speaks from 0.25 s to 0.75 s (its audio comes at 48 kHz).
        rec.write("agent", synth.tone(500, 0.5, 48_000), 48_000, at_sample=4_000)
        # The caller says something at exactly 1 s, fed in 20 ms chunks.
        tone = synth.tone(440, 0.5, 16_000)
        for i in range(0, tone.size, 320):
            rec.write("caller", tone[i : i + 320], at_sample=16_000 + i)

    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 2
        assert wav.getsampwidth() == 2
        assert wav.getframerate() == 16_000
        assert wav.getnframes() == 24_000

    caller, agent, rate = read_wav_channels(path)
    assert rate == 16_000
    assert caller.size == agent.size == 24_000
    assert first_loud(caller) == pytest.approx(16_000, abs=2)
    assert last_loud(caller) == pytest.approx(24_000, abs=2)
    assert not caller[:16_000].any()  # silence inserted before the caller spoke
    # The agent's side went through a resampler: a few samples of filter delay at most.
    assert first_loud(agent) == pytest.approx(4_000, abs=16)
    assert last_loud(agent) == pytest.approx(12_000, abs=16)
    assert not agent[12_100:].any()


def test_48k_recording_and_consecutive_writes(tmp_path: Path) -> None:
    path = tmp_path / "call48.wav"
    rec = CallRecorder(path, sample_rate=48_000)
    for _ in range(50):  # one second of 20 ms frames each side, no explicit clock
        rec.write_caller(synth.tone(440, 0.02, 48_000))
        rec.write_agent(np.zeros(960, dtype=np.int16))
    assert rec.frames_written > 0  # written as the call goes, not at the end
    rec.close()
    caller, agent, rate = read_wav_channels(path)
    assert rate == 48_000
    assert caller.size == 48_000
    assert caller.any()
    assert not agent.any()


def test_late_and_overlapping_audio_is_dropped_not_shifted(tmp_path: Path) -> None:
    with CallRecorder(tmp_path / "c.wav") as rec:
        rec.write("caller", synth.tone(440, 0.5, 16_000), at_sample=0)
        rec.write("caller", np.full(1_600, 9_000, dtype=np.int16), at_sample=7_200)
        assert rec.dropped_samples["caller"] == 800
        assert rec.position("caller") == 8_800
    caller, _, _ = read_wav_channels(tmp_path / "c.wav")
    assert (caller[8_000:8_800] == 9_000).all()


def test_a_side_running_ahead_is_not_held_without_bound(tmp_path: Path) -> None:
    with CallRecorder(tmp_path / "c.wav", max_lag_s=1.0) as rec:
        for i in range(250):  # 5 s of caller audio, the agent silent (nothing written)
            rec.write("caller", synth.tone(440, 0.02, 16_000), at_sample=i * 320)
        assert rec.frames_written >= 16_000 * 3.5
    caller, agent, _ = read_wav_channels(tmp_path / "c.wav")
    assert caller.size == agent.size == 80_000


def test_closed_recorder_raises_a_clear_error(tmp_path: Path) -> None:
    rec = CallRecorder(tmp_path / "c.wav")
    rec.close()
    rec.close()  # idempotent
    assert rec.closed
    with pytest.raises(RecorderError, match="closed"):
        rec.write_caller(synth.tone(440, 0.02))
    assert read_wav_channels(tmp_path / "c.wav").caller.size == 0


def test_unwritable_recording_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecorderError, match="can't create"):
        CallRecorder(tmp_path / "missing" / "c.wav")

    rec = CallRecorder("/dev/full")  # every write fails: no space left on device
    rec.write_caller(synth.tone(440, 1.0))  # held: the agent's side is not there yet
    with pytest.raises(RecorderError, match="failed"):
        rec.write_agent(synth.tone(440, 1.0))
    with pytest.raises(RecorderError, match="broken"):
        rec.write_caller(synth.tone(440, 0.1))
    rec.close()  # closing a broken recording does not raise again
    assert rec.closed


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="16000 or 48000"):
        CallRecorder(tmp_path / "c.wav", sample_rate=8_000)
    with CallRecorder(tmp_path / "c.wav") as rec:
        with pytest.raises(ValueError, match="channel"):
            rec.write("both", synth.tone(440, 0.1))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="int16"):
            rec.write_caller(np.zeros(10, dtype=np.float64))


def test_read_wav_channels_refuses_mono(tmp_path: Path) -> None:
    path = tmp_path / "mono.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(synth.tone(440, 0.1).tobytes())
    with pytest.raises(ValueError, match="stereo"):
        read_wav_channels(path)
    samples, rate = synth.read_wav_mono(path)
    assert rate == 16_000
    assert samples.size == 1_600
