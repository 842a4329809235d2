"""Endpointing on real (espeak-ng) Spanish speech: onset, offset, clicks, pauses, silence ticks."""

from __future__ import annotations

import shutil
from typing import TypeVar

import numpy as np
import pytest

from centralita.kernel.pcm import Pcm16
from realtime.audio import synth
from realtime.audio.frames import resample_pcm16
from realtime.audio.vad import (
    Endpointer,
    Silence,
    SpeechStarted,
    UtteranceEnded,
    UtterancePaused,
    VadEvent,
)

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng"),
]

RATE = 16_000
T = TypeVar("T", SpeechStarted, UtteranceEnded, UtterancePaused, Silence)


@pytest.fixture(scope="module")
def speech() -> Pcm16:
    """'hola, le habla centralita' at 16 kHz, trimmed to the voiced part (~1.6 s)."""
    pcm, rate = synth.espeak("hola, le habla centralita")
    pcm = resample_pcm16(pcm, rate, RATE)
    loud = np.flatnonzero(np.abs(pcm) > 300)
    return pcm[loud[0] : loud[-1] + 1]


def with_floor(*parts: Pcm16, seed: int = 7) -> Pcm16:
    """Concatenate and add a faint noise floor (-66 dBFS), like a quiet phone line."""
    x = np.concatenate(parts)
    return (x + synth.noise(x.size / RATE, amplitude=0.0005, seed=seed)).astype(np.int16)


def feed_in_chunks(ep: Endpointer, audio: Pcm16, chunk: int = 777) -> list[VadEvent]:
    events: list[VadEvent] = []
    for i in range(0, audio.size, chunk):
        events += ep.feed(audio[i : i + chunk])
    return events


def of_type(events: list[VadEvent], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


def test_one_utterance_with_sensible_boundaries(speech: Pcm16) -> None:
    speech_ms = speech.size * 1000 // RATE
    audio = with_floor(synth.silence(1.0), speech, synth.silence(1.5))
    ep = Endpointer(silence_ms=600, min_speech_ms=200)
    events = feed_in_chunks(ep, audio)

    started = of_type(events, SpeechStarted)
    ended = of_type(events, UtteranceEnded)
    assert len(started) == 1
    assert len(ended) == 1
    s, u = started[0], ended[0]
    assert 900 <= s.onset_ms <= 1100
    # Confirmed once 200 ms of speech were heard (a dip or two may add a frame).
    assert 200 <= s.at_ms - s.onset_ms <= 300
    assert u.started_at_ms == s.onset_ms
    assert 1000 + speech_ms - 100 <= u.ended_at_ms <= 1000 + speech_ms + 200
    assert u.endpointing_ms == 600
    assert not u.forced
    # The audio has the pre-roll before the onset and a short tail after the end.
    assert u.audio_start_ms == u.started_at_ms - 200
    assert u.audio.size == (u.ended_at_ms + 100 - u.audio_start_ms) * RATE // 1000
    # ...and it is the speech: the voiced samples sit where the stream had them.
    offset = u.audio_start_ms * RATE // 1000
    assert np.array_equal(u.audio, audio[offset : offset + u.audio.size])
    assert events.index(s) < events.index(u)


def test_events_do_not_depend_on_chunk_size(speech: Pcm16) -> None:
    audio = with_floor(synth.silence(0.5), speech, synth.silence(1.0))
    by_chunks = feed_in_chunks(Endpointer(), audio, chunk=113)
    whole = Endpointer().feed(audio)
    assert [type(e) for e in by_chunks] == [type(e) for e in whole]
    for a, b in zip(by_chunks, whole, strict=True):
        if isinstance(a, UtteranceEnded) and isinstance(b, UtteranceEnded):
            assert np.array_equal(a.audio, b.audio)
            assert (a.started_at_ms, a.ended_at_ms) == (b.started_at_ms, b.ended_at_ms)
        else:
            assert a == b


@pytest.mark.parametrize("aggressiveness", [0, 1, 2, 3])
def test_a_100ms_click_does_not_start_speech(aggressiveness: int) -> None:
    click = synth.noise(0.1, amplitude=0.3, seed=1)
    ep = Endpointer(aggressiveness=aggressiveness)
    events = ep.feed(with_floor(synth.silence(1.0), click, synth.silence(1.0)))
    assert of_type(events, SpeechStarted) == []
    assert of_type(events, UtteranceEnded) == []
    assert not ep.in_speech


def test_a_longer_burst_of_the_same_noise_does_start_speech() -> None:
    # The counterpart of the click test: the noise itself is "speech" to webrtcvad,
    # so it is the 100 ms duration that the endpointer rejects.
    burst = synth.noise(0.4, amplitude=0.3, seed=1)
    events = Endpointer().feed(with_floor(synth.silence(1.0), burst, synth.silence(1.0)))
    assert len(of_type(events, SpeechStarted)) == 1


def test_two_utterances_separated_by_a_long_pause(speech: Pcm16) -> None:
    audio = with_floor(synth.silence(0.5), speech, synth.silence(1.5), speech, synth.silence(1.0))
    events = feed_in_chunks(Endpointer(silence_ms=600), audio)
    ended = of_type(events, UtteranceEnded)
    assert len(of_type(events, SpeechStarted)) == 2
    assert len(ended) == 2
    gap = ended[1].started_at_ms - ended[0].ended_at_ms
    assert 1300 <= gap <= 1700


def test_a_short_pause_stays_inside_one_utterance(speech: Pcm16) -> None:
    audio = with_floor(synth.silence(0.5), speech, synth.silence(0.3), speech, synth.silence(1.0))
    events = feed_in_chunks(Endpointer(silence_ms=600), audio)
    ended = of_type(events, UtteranceEnded)
    assert len(ended) == 1
    assert ended[0].duration_ms >= 2 * speech.size * 1000 // RATE


def test_a_pause_announces_the_end_early_with_the_ends_own_audio(speech: Pcm16) -> None:
    audio = with_floor(synth.silence(0.5), speech, synth.silence(1.0))
    events = feed_in_chunks(Endpointer(silence_ms=600, early_ms=200), audio)
    [paused] = of_type(events, UtterancePaused)
    [ended] = of_type(events, UtteranceEnded)
    assert events.index(paused) < events.index(ended)
    assert paused.ended_at_ms == ended.ended_at_ms
    # A transcript started at the pause is the transcript of the end: same samples.
    assert np.array_equal(paused.audio, ended.audio)


def test_speech_after_a_pause_announces_a_new_pause(speech: Pcm16) -> None:
    audio = with_floor(synth.silence(0.5), speech, synth.silence(0.4), speech, synth.silence(1.0))
    events = feed_in_chunks(Endpointer(silence_ms=600, early_ms=200), audio)
    pauses = of_type(events, UtterancePaused)
    [ended] = of_type(events, UtteranceEnded)
    assert len(pauses) >= 2
    # Only the last pause carries the whole utterance; the first was a comma.
    assert pauses[-1].ended_at_ms == ended.ended_at_ms
    assert pauses[0].ended_at_ms < ended.ended_at_ms
    assert pauses[0].audio.size < ended.audio.size


def test_no_pause_event_unless_asked(speech: Pcm16) -> None:
    audio = with_floor(synth.silence(0.5), speech, synth.silence(1.0))
    assert not of_type(feed_in_chunks(Endpointer(silence_ms=600), audio), UtterancePaused)
    with pytest.raises(ValueError, match="early_ms"):
        Endpointer(silence_ms=600, early_ms=600)


def test_silence_ticks_count_from_the_stream_start_then_from_the_last_speech(
    speech: Pcm16,
) -> None:
    ep = Endpointer(silence_ms=600, silence_tick_ms=500)
    ticks = of_type(ep.feed(with_floor(synth.silence(2.0))), Silence)
    assert [t.duration_ms for t in ticks] == [500, 1000, 1500, 2000]

    events = ep.feed(with_floor(speech, synth.silence(2.0)))
    ended = of_type(events, UtteranceEnded)[0]
    after = [e for e in events[events.index(ended) :] if isinstance(e, Silence)]
    # 600 ms were spent endpointing; the next ticks say 1000, 1500 ms since speech.
    assert [t.duration_ms for t in after][:2] == [1000, 1500]
    assert not [e for e in events[: events.index(ended)] if isinstance(e, Silence)][1:]


def test_min_speech_ms_sets_when_speech_is_confirmed(speech: Pcm16) -> None:
    audio = with_floor(synth.silence(0.5), speech, synth.silence(1.0))
    fast = of_type(Endpointer(min_speech_ms=100).feed(audio), SpeechStarted)[0]
    slow = of_type(Endpointer(min_speech_ms=400).feed(audio), SpeechStarted)[0]
    assert slow.at_ms - fast.at_ms >= 300
    # "hola," is shorter than 400 ms and a comma pause follows: it does not confirm
    # speech on its own, but the utterance still starts with it.
    assert fast.onset_ms == slow.onset_ms


def test_long_speech_is_cut_at_max_utterance_ms(speech: Pcm16) -> None:
    audio = with_floor(synth.silence(0.3), speech, speech, speech, synth.silence(1.0))
    ep = Endpointer(max_utterance_ms=2000)
    first = of_type(ep.feed(audio), UtteranceEnded)[0]
    assert first.forced
    assert first.endpointing_ms == 0
    assert first.ended_at_ms - first.started_at_ms <= 2000


def test_flush_closes_speech_in_progress(speech: Pcm16) -> None:
    ep = Endpointer()
    events = ep.feed(with_floor(synth.silence(0.5), speech))
    assert of_type(events, UtteranceEnded) == []
    assert ep.in_speech
    (closing,) = ep.flush()
    assert isinstance(closing, UtteranceEnded)
    assert closing.forced
    assert ep.flush() == []


def test_a_reused_input_buffer_does_not_corrupt_the_utterance(speech: Pcm16) -> None:
    audio = with_floor(synth.silence(0.5), speech, synth.silence(1.0))
    expected = of_type(Endpointer().feed(audio), UtteranceEnded)[0].audio
    ep = Endpointer()
    buffer = np.zeros(320, dtype=np.int16)  # one buffer, refilled for every frame
    events: list[VadEvent] = []
    for i in range(0, audio.size - 319, 320):
        buffer[:] = audio[i : i + 320]
        events += ep.feed(buffer)
    assert np.array_equal(of_type(events, UtteranceEnded)[0].audio, expected)


def test_time_comes_from_samples_fed() -> None:
    ep = Endpointer(frame_ms=30)
    ep.feed(synth.silence(0.5))
    assert ep.now_ms == 480  # 16 whole 30 ms frames; the remainder waits
    ep.feed(synth.silence(0.01))
    assert ep.now_ms == 510


@pytest.mark.parametrize(
    "bad", [np.zeros(320, dtype=np.float32), np.zeros((2, 320), dtype=np.int16)]
)
def test_bad_input_raises_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match=r"int16|mono"):
        Endpointer().feed(bad)  # type: ignore[arg-type]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="aggressiveness"):
        Endpointer(aggressiveness=4)
    with pytest.raises(ValueError, match="frames"):
        Endpointer(frame_ms=25)
