"""Frame conversions: inbound WebRTC frames to 16 kHz mono, mono PCM to 48 kHz 20 ms frames."""

from __future__ import annotations

import fractions

import av
import numpy as np
import numpy.typing as npt
import pytest

from centralita.kernel.pcm import Pcm16
from realtime.audio import synth
from realtime.audio.frames import (
    AudioConversionError,
    InboundResampler,
    OutboundFramer,
    PcmResampler,
    frame_to_pcm16,
    pcm16_to_frame,
    resample_pcm16,
    to_pcm16_mono_16k,
)

pytestmark = pytest.mark.unit


def peak_hz(samples: npt.NDArray[np.int16], rate: int) -> float:
    """Frequency of the strongest FFT bin (Hann window)."""
    x = samples.astype(np.float64) * np.hanning(samples.size)
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.argmax(spectrum) * rate / samples.size)


def webrtc_frames(mono: Pcm16, rate: int = 48_000, frame: int = 960) -> list[av.AudioFrame]:
    """What aiortc hands out: packed s16 stereo frames of 20 ms with pts in samples."""
    frames = []
    for i in range(0, mono.size - frame + 1, frame):
        chunk = mono[i : i + frame]
        packed = np.repeat(chunk, 2).reshape(1, -1)  # L R L R ...
        f = av.AudioFrame.from_ndarray(packed, format="s16", layout="stereo")
        f.sample_rate = rate
        f.pts = i
        f.time_base = fractions.Fraction(1, rate)
        frames.append(f)
    return frames


def planar_float_frames(mono: Pcm16, rate: int, frame: int) -> list[av.AudioFrame]:
    """Planar float stereo frames (fltp), as a decoder might produce."""
    frames = []
    for i in range(0, mono.size - frame + 1, frame):
        chunk = mono[i : i + frame].astype(np.float32) / 32768
        f = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
        f.sample_rate = rate
        f.pts = i
        frames.append(f)
    return frames


def test_webrtc_tone_to_16k_mono_keeps_duration_and_frequency() -> None:
    tone = synth.tone(440, 2.0, 48_000)
    frames = webrtc_frames(tone)
    assert frames[0].format.name == "s16"
    assert not frames[0].format.is_planar
    resampler = InboundResampler()
    chunks = [resampler.convert(f) for f in frames]
    out = np.concatenate([*chunks, resampler.flush()])

    assert out.dtype == np.int16
    assert out.ndim == 1
    assert out.size == tone.size // 3  # 48 kHz -> 16 kHz, nothing lost
    # Per frame, within the filter's few samples of delay.
    assert all(abs(c.size - 320) <= 32 for c in chunks)
    assert peak_hz(out, 16_000) == pytest.approx(440, abs=2)
    # Level kept: stereo averaged to mono, not summed or halved.
    assert np.abs(out[1000:-1000]).max() == pytest.approx(np.abs(tone).max(), rel=0.05)


def test_planar_float_input_at_44k1_is_converted() -> None:
    tone = synth.tone(1000, 1.0, 44_100)
    resampler = InboundResampler()
    out = np.concatenate(
        [*(resampler.convert(f) for f in planar_float_frames(tone, 44_100, 882)), resampler.flush()]
    )
    assert abs(out.size - 16_000) <= 2
    assert peak_hz(out, 16_000) == pytest.approx(1000, abs=2)


def test_format_change_mid_stream_is_followed() -> None:
    resampler = InboundResampler()
    first = [resampler.convert(f) for f in webrtc_frames(synth.tone(440, 0.5, 48_000))]
    second = [
        resampler.convert(f) for f in planar_float_frames(synth.tone(440, 0.5, 44_100), 44_100, 441)
    ]
    out = np.concatenate([*first, *second, resampler.flush()])
    assert abs(out.size - 16_000) <= 4
    assert peak_hz(out, 16_000) == pytest.approx(440, abs=3)


def test_lost_packets_become_silence_so_time_stays_on_the_call_clock() -> None:
    frames = webrtc_frames(synth.tone(440, 1.0, 48_000))
    kept = frames[:10] + frames[15:]  # 100 ms lost in transit
    resampler = InboundResampler()
    out = np.concatenate([*(resampler.convert(f) for f in kept), resampler.flush()])
    assert out.size == 16_000
    assert resampler.gap_samples_filled == 1_600
    hole = out[3_300:4_700]  # 200..300 ms, away from the filter's edges
    assert not hole[200:1_000].any()

    no_fill = InboundResampler(fill_gaps=False)
    out = np.concatenate([*(no_fill.convert(f) for f in kept), no_fill.flush()])
    assert out.size == 16_000 - 1_600


def test_a_timestamp_reset_is_not_filled() -> None:
    frames = webrtc_frames(synth.tone(440, 0.2, 48_000))
    frames[5].pts = 10 * 48_000  # jumps 10 s ahead: a new RTP timeline, not loss
    resampler = InboundResampler()
    out = np.concatenate([*(resampler.convert(f) for f in frames), resampler.flush()])
    assert out.size == 3_200
    assert resampler.gap_samples_filled == 0


def test_one_shot_conversion_of_a_lone_frame() -> None:
    frame = webrtc_frames(synth.tone(440, 0.02, 48_000))[0]
    out = to_pcm16_mono_16k(frame)
    assert out.size == 320


def test_bad_frames_raise_value_error_and_the_stream_survives() -> None:
    resampler = InboundResampler()
    empty = av.AudioFrame(format="s16", layout="mono", samples=0)
    no_rate = av.AudioFrame(format="s16", layout="mono", samples=160)
    with pytest.raises(ValueError, match="empty"):
        resampler.convert(empty)
    with pytest.raises(ValueError, match="sample rate"):
        resampler.convert(no_rate)
    with pytest.raises(AudioConversionError):
        resampler.convert(b"not a frame")  # type: ignore[arg-type]
    good = resampler.convert(webrtc_frames(synth.tone(440, 0.04, 48_000))[1])
    assert good.size > 0


def test_framer_cuts_exact_20ms_frames_with_increasing_pts() -> None:
    speech_like = synth.tone(300, 1.01, 22_050)  # espeak-ng's rate; not a whole frame count
    framer = OutboundFramer()
    frames = framer.push(speech_like[:5000], 22_050)
    frames += framer.push(speech_like[5000:], 22_050)
    frames += framer.flush()

    assert len(frames) == 51  # 1.01 s -> 50.5 frames, tail padded
    for i, f in enumerate(frames):
        assert f.samples == 960
        assert f.sample_rate == 48_000
        assert f.format.name == "s16"
        assert f.layout.name == "mono"
        assert f.time_base == fractions.Fraction(1, 48_000)
        assert f.pts == i * 960
    pcm = np.concatenate([frame_to_pcm16(f) for f in frames])
    assert peak_hz(pcm[:48_000], 48_000) == pytest.approx(300, abs=2)
    assert not pcm[-400:].any()  # the padded tail is silence
    assert framer.pending_samples == 0
    # The pts carries on after a flush: one framer serves a whole call.
    assert framer.silence().pts == 51 * 960


def test_framer_stereo_frames_carry_the_same_signal_on_both_channels() -> None:
    framer = OutboundFramer(layout="stereo")
    frames = framer.push(synth.tone(440, 0.1, 48_000), 48_000)
    assert len(frames) == 5
    data = frames[2].to_ndarray().reshape(-1, 2)
    assert frames[2].layout.name == "stereo"
    assert data.shape == (960, 2)
    assert np.array_equal(data[:, 0], data[:, 1])
    assert data.any()


def test_framer_switching_input_rate_keeps_the_audio() -> None:
    framer = OutboundFramer()
    frames = framer.push(synth.tone(440, 0.5, 22_050), 22_050)
    frames += framer.push(synth.tone(440, 0.5, 16_000), 16_000)
    frames += framer.flush()
    assert len(frames) == 50


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(100, dtype=np.float32),
        np.zeros((2, 100), dtype=np.int16),
        [0, 1, 2],
    ],
)
def test_framer_rejects_bad_samples_with_value_error(bad: object) -> None:
    framer = OutboundFramer()
    with pytest.raises(ValueError, match=r"numpy|int16|mono"):
        framer.push(bad, 48_000)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sample rate"):
        framer.push(np.zeros(10, dtype=np.int16), 0)
    assert framer.flush() == []


def test_resample_pcm16_whole_buffer_and_streaming_agree_on_length() -> None:
    tone = synth.tone(440, 1.0, 22_050)
    whole = resample_pcm16(tone, 22_050, 48_000)
    assert abs(whole.size - 48_000) <= 1
    stream = PcmResampler(22_050, 48_000)
    parts = [stream.push(tone[i : i + 441]) for i in range(0, tone.size, 441)]
    streamed = np.concatenate([*parts, stream.flush()])
    assert abs(streamed.size - whole.size) <= 1
    assert peak_hz(streamed, 48_000) == pytest.approx(440, abs=2)


def test_pcm16_frame_round_trip() -> None:
    pcm = synth.noise(0.02, 48_000, seed=3)
    frame = pcm16_to_frame(pcm, 48_000, pts=960)
    assert frame.pts == 960
    assert np.array_equal(frame_to_pcm16(frame), pcm)
    with pytest.raises(ValueError, match="no samples"):
        pcm16_to_frame(np.zeros(0, dtype=np.int16), 48_000)
