"""The agent's voice track: 20 ms frames, silence when idle, barge-in accounting, pacing."""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from realtime.audio import synth
from realtime.audio.frames import frame_to_pcm16
from realtime.audio.playback import AgentVoiceTrack, PlaybackQueueFullError
from realtime.audio.utterances import PlayedUtterance, cut_text_at_fraction

pytestmark = pytest.mark.unit

TEXT = "uno dos tres cuatro cinco seis siete ocho nueve diez"


async def pull(track: AgentVoiceTrack, n: int) -> list[av.AudioFrame]:
    return [await track.recv() for _ in range(n)]


def is_silent(frame: av.AudioFrame) -> bool:
    return not frame_to_pcm16(frame).any()


def playing(track: AgentVoiceTrack) -> bool:
    # Through a call, so that mypy does not carry `assert track.playing` forward.
    return track.playing


async def test_idle_track_sends_20ms_silence_with_increasing_pts() -> None:
    track = AgentVoiceTrack(paced=False)
    frames = await pull(track, 5)
    assert not track.playing
    for i, f in enumerate(frames):
        assert f.samples == 960
        assert f.sample_rate == 48_000
        assert f.format.name == "s16"
        assert f.time_base == fractions.Fraction(1, 48_000)
        assert f.pts == i * 960
        assert is_silent(f)
    assert track.kind == "audio"


async def test_an_utterance_plays_whole_then_silence() -> None:
    firsts: list[tuple[str, float]] = []
    ended: list[PlayedUtterance] = []
    track = AgentVoiceTrack(
        paced=False,
        on_first_frame=lambda u, t: firsts.append((u, t)),
        on_utterance_end=ended.append,
    )
    tone = synth.tone(300, 0.5, 22_050)  # espeak-ng's rate
    first_frame = track.enqueue(tone, 22_050, "u1", "hola")
    assert playing(track)
    assert not first_frame.done()
    assert track.queued_ms == 500
    assert not any(is_silent(f) for f in await pull(track, 2))  # speech starts at once
    frames = await pull(track, 30)
    speech = [f for f in frames if not is_silent(f)]
    assert len(speech) == 23  # 25 frames in all, two pulled above
    assert all(is_silent(f) for f in frames[23:])
    assert not playing(track)
    assert track.speech_frames_sent == 25
    assert [u for u, _ in firsts] == ["u1"]
    assert await first_frame == firsts[0][1]
    assert ended == [
        PlayedUtterance(
            utterance_id="u1",
            text="hola",
            played_text="hola",
            played_fraction=1.0,
            played_ms=500,
            total_ms=500,
            interrupted=False,
            first_frame_at=firsts[0][1],
        )
    ]
    await asyncio.wait_for(track.wait_idle(), 0.1)


async def test_interrupt_stops_within_one_frame_and_reports_what_was_said() -> None:
    track = AgentVoiceTrack(paced=False)
    track.enqueue(synth.tone(300, 1.0, 48_000), 48_000, "u1", TEXT)  # 50 frames
    never = track.enqueue(synth.tone(500, 1.0, 48_000), 48_000, "u2", "nunca dicho")
    frames = await pull(track, 20)
    assert not any(is_silent(f) for f in frames)

    (report,) = track.interrupt()  # u2 never started: nothing of it was said
    nxt = await track.recv()
    assert is_silent(nxt)
    assert not playing(track)
    assert await never is None  # dropped before its first frame
    await asyncio.wait_for(track.wait_idle(), 0.1)

    assert report.utterance_id == "u1"
    assert report.interrupted
    assert report.played_fraction == pytest.approx(20 / 50)
    assert report.played_ms == 400
    assert report.total_ms == 1000
    # A prefix cut at a word boundary, holding only words wholly within 40 % of the text.
    assert TEXT.startswith(report.played_text)
    assert report.played_text == "uno dos tres cuatro"
    assert len(report.played_text) <= 0.4 * len(TEXT)
    assert len(TEXT[: TEXT.index(" ", len(report.played_text) + 1)]) > 0.4 * len(TEXT)
    # Nothing queued before the interrupt plays afterwards.
    assert all(is_silent(f) for f in await pull(track, 60))


async def test_interrupt_while_recv_waits_silences_that_very_frame() -> None:
    track = AgentVoiceTrack()  # paced
    track.enqueue(synth.tone(300, 1.0, 48_000), 48_000, "u1", TEXT)
    await track.recv()  # anchors the clock
    assert not is_silent(await track.recv())  # waited ~20 ms, speech
    pending = asyncio.ensure_future(track.recv())  # now sleeping until its due time
    await asyncio.sleep(0)
    track.interrupt()
    assert is_silent(await pending)


async def test_recv_is_paced_in_real_time() -> None:
    track = AgentVoiceTrack()
    t0 = time.monotonic()
    await pull(track, 11)  # the first is immediate, then 10 x 20 ms
    assert time.monotonic() - t0 >= 0.19


async def test_a_stalled_loop_makes_the_timeline_jump_not_burst() -> None:
    now = [100.0]
    track = AgentVoiceTrack(clock=lambda: now[0])
    first = await track.recv()
    now[0] += 1.0  # the loop was stuck for a second
    late = await track.recv()
    assert first.pts == 0
    assert late.pts is not None
    assert late.pts >= 48_000 - 960  # skipped ahead to about now
    assert late.pts % 960 == 0


async def test_wait_idle_returns_when_queued_speech_is_played() -> None:
    track = AgentVoiceTrack(paced=False)
    track.enqueue(synth.tone(300, 0.1, 16_000), 16_000, "u1", "sí")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(track.wait_idle(), 0.01)  # nobody pulls frames yet

    async def sender() -> None:
        while track.readyState == "live":
            await track.recv()
            await asyncio.sleep(0)

    task = asyncio.ensure_future(sender())
    await asyncio.wait_for(track.wait_idle(), 1.0)
    assert not playing(track)
    track.stop()
    await task


async def test_first_frame_time_is_recorded_per_utterance() -> None:
    seen: dict[str, float] = {}
    track = AgentVoiceTrack(paced=False, on_first_frame=seen.__setitem__)
    track.enqueue(synth.tone(300, 0.05, 48_000), 48_000, "a", "a")
    track.enqueue(synth.tone(300, 0.05, 48_000), 48_000, "b", "b")
    before = time.monotonic()
    await pull(track, 6)
    assert list(seen) == ["a", "b"]
    assert before <= seen["a"] <= seen["b"] <= time.monotonic()


async def test_a_failing_hook_does_not_break_the_audio() -> None:
    def boom(_: str, __: float) -> None:
        raise RuntimeError("metrics down")

    track = AgentVoiceTrack(paced=False, on_first_frame=boom)
    track.enqueue(synth.tone(300, 0.1, 48_000), 48_000, "u1", "x")
    frames = await pull(track, 5)
    assert not any(is_silent(f) for f in frames)


async def test_stereo_track_frames() -> None:
    track = AgentVoiceTrack(paced=False, layout="stereo")
    track.enqueue(synth.tone(300, 0.1, 48_000), 48_000, "u1", "x")
    frame = await track.recv()
    assert frame.layout.name == "stereo"
    assert frame.samples == 960


async def test_enqueue_rejects_bad_audio_and_bounds_the_queue() -> None:
    track = AgentVoiceTrack(paced=False, max_queued_s=1.0)
    with pytest.raises(ValueError, match="int16"):
        track.enqueue(np.zeros(100, dtype=np.float32), 16_000, "u", "x")
    with pytest.raises(ValueError, match="no audio"):
        track.enqueue(np.zeros(0, dtype=np.int16), 16_000, "u", "x")
    track.enqueue(synth.tone(300, 0.8, 16_000), 16_000, "u1", "x")
    with pytest.raises(PlaybackQueueFullError):
        track.enqueue(synth.tone(300, 0.5, 16_000), 16_000, "u2", "y")
    assert track.queued_ms == 800


async def test_stopped_track_refuses_work() -> None:
    track = AgentVoiceTrack(paced=False)
    first_frame = track.enqueue(synth.tone(300, 0.5, 48_000), 48_000, "u1", "x")
    track.stop()
    await asyncio.wait_for(track.wait_idle(), 0.1)
    assert await first_frame is None
    with pytest.raises(MediaStreamError):
        await track.recv()
    with pytest.raises(MediaStreamError):
        track.enqueue(synth.tone(300, 0.5, 48_000), 48_000, "u2", "y")


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0.0, ""),
        (0.05, ""),  # not even "uno" (3 of 52 characters) was said whole
        (0.07, "uno"),
        (0.4, "uno dos tres cuatro"),
        (0.99, "uno dos tres cuatro cinco seis siete ocho nueve"),
        (1.0, TEXT),
    ],
)
def test_cut_text_at_fraction(fraction: float, expected: str) -> None:
    assert cut_text_at_fraction(TEXT, fraction) == expected


def test_cut_text_keeps_punctuation_of_whole_words() -> None:
    assert cut_text_at_fraction("Hola, ¿qué tal?", 0.5) == "Hola,"


async def test_a_streamed_utterance_plays_from_its_first_piece_and_waits_for_the_rest() -> None:
    ended: list[PlayedUtterance] = []
    track = AgentVoiceTrack(paced=False, on_utterance_end=ended.append)
    n = track.frame_samples
    piece = np.full(n, 2000, np.int16)
    track.enqueue(piece, track.sample_rate, "s", "uno dos", more_coming=True)
    assert int(np.abs(frame_to_pcm16(await track.recv())).max()) > 0  # the first piece
    # The stream is behind: silence, but the utterance is still under way.
    assert int(np.abs(frame_to_pcm16(await track.recv())).max()) == 0
    playing = [track.playing]
    assert track.extend("s", piece, track.sample_rate)
    assert int(np.abs(frame_to_pcm16(await track.recv())).max()) > 0
    track.close("s")
    await track.recv()  # past its end: the utterance finishes
    playing.append(track.playing)
    assert playing == [True, False]
    assert [(u.utterance_id, u.interrupted, u.total_ms) for u in ended] == [("s", False, 40)]


async def test_a_piece_for_an_interrupted_stream_is_discarded() -> None:
    track = AgentVoiceTrack(paced=False)
    piece = np.full(track.frame_samples, 2000, np.int16)
    track.enqueue(piece, track.sample_rate, "s", "uno", more_coming=True)
    await track.recv()
    track.interrupt()
    assert not track.extend("s", piece, track.sample_rate)
    assert track.queued_ms == 0
    assert int(np.abs(frame_to_pcm16(await track.recv())).max()) == 0
