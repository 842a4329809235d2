"""The agent's voice held while the caller may only be saying "ajá": pause, resume, cut."""

from __future__ import annotations

import asyncio

import av
import numpy as np
import pytest

from realtime.audio.frames import frame_to_pcm16
from realtime.audio.playback import AgentVoiceTrack

pytestmark = pytest.mark.unit

FRAME = 960  # 20 ms at 48 kHz
TEXT = "uno dos tres cuatro cinco seis siete ocho nueve diez"


def ramp(seconds: float) -> np.ndarray:
    """Samples that name their own position (never 0): where playback is, exactly."""
    n = int(seconds * 48_000)
    return (np.arange(n) % 30_000 + 1).astype(np.int16)


async def pull(track: AgentVoiceTrack, n: int) -> list[av.AudioFrame]:
    return [await track.recv() for _ in range(n)]


def pcm(frame: av.AudioFrame) -> np.ndarray:
    return frame_to_pcm16(frame)


async def test_pause_silences_the_next_frame_and_resume_goes_on_from_the_same_sample() -> None:
    ended: list[str] = []
    track = AgentVoiceTrack(paced=False, on_utterance_end=lambda p: ended.append(p.played_text))
    audio = ramp(1.0)  # 50 frames
    track.enqueue(audio, 48_000, "u1", TEXT)
    before = await pull(track, 10)
    assert np.array_equal(pcm(before[-1]), audio[9 * FRAME : 10 * FRAME])

    track.pause()
    held = await pull(track, 25)  # half a second of "ajá"
    assert all(not pcm(f).any() for f in held)
    assert track.paused
    assert track.playing  # still queued, still owed to the caller
    assert track.queued_ms == 800
    with pytest.raises(TimeoutError):  # a held line is not over
        await asyncio.wait_for(track.wait_idle(), 0.05)

    track.resume()
    after = await pull(track, 40)
    assert np.array_equal(pcm(after[0]), audio[10 * FRAME : 11 * FRAME])
    assert np.array_equal(np.concatenate([pcm(f) for f in after[:40]]), audio[10 * FRAME :])
    assert ended == [TEXT]  # played to its end, whole: nothing was cut
    await asyncio.wait_for(track.wait_idle(), 0.1)


async def test_a_line_queued_while_paused_waits_for_resume() -> None:
    track = AgentVoiceTrack(paced=False)
    track.pause()
    first = track.enqueue(ramp(0.2), 48_000, "u1", "hola")
    assert all(not pcm(f).any() for f in await pull(track, 5))
    assert not first.done()
    track.resume()
    assert pcm((await pull(track, 1))[0]).any()
    assert first.done()


async def test_interrupt_after_pause_drops_the_rest_and_reports_what_was_heard() -> None:
    track = AgentVoiceTrack(paced=False)
    track.enqueue(ramp(1.0), 48_000, "u1", TEXT)
    never = track.enqueue(ramp(0.5), 48_000, "u2", "nunca dicho")
    await pull(track, 20)
    track.pause()
    await pull(track, 10)  # silence while the caller's words are weighed

    (report,) = track.interrupt()
    assert report.interrupted
    assert report.played_ms == 400  # what went out before the pause, not the silence
    assert report.played_text == "uno dos tres cuatro"
    assert await never is None
    assert not track.playing
    assert not track.paused
    assert all(not pcm(f).any() for f in await pull(track, 60))

    # The next reply is not held by the old pause.
    track.enqueue(ramp(0.2), 48_000, "u3", "bien")
    assert pcm((await pull(track, 1))[0]).any()


async def test_a_paused_track_pulled_in_real_time_is_silent_from_the_very_next_frame() -> None:
    track = AgentVoiceTrack()  # paced
    track.enqueue(ramp(1.0), 48_000, "u1", TEXT)
    await track.recv()
    assert pcm(await track.recv()).any()
    pending = asyncio.ensure_future(track.recv())  # sleeping until its due time
    await asyncio.sleep(0)
    track.pause()
    assert not pcm(await pending).any()
