"""The pushed audio track: carrier audio messages read as frames by the call session."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from realtime.audio.frames import frame_to_pcm16
from realtime.audio.pushed_track import PushedAudioTrack

pytestmark = pytest.mark.unit


async def test_frames_come_out_in_order_with_sample_counting_pts() -> None:
    track = PushedAudioTrack(8000)
    for value in (1, 2, 3):
        track.push(np.full(160, value, np.int16))
    frames = [await track.recv() for _ in range(3)]
    assert [int(frame_to_pcm16(f)[0]) for f in frames] == [1, 2, 3]
    assert [f.pts for f in frames] == [0, 160, 320]
    assert all(f.sample_rate == 8000 for f in frames)


async def test_end_ends_a_waiting_reader_and_every_later_one() -> None:
    track = PushedAudioTrack(8000)
    waiting = asyncio.create_task(track.recv())
    await asyncio.sleep(0)
    track.end()
    with pytest.raises(MediaStreamError):
        await waiting
    with pytest.raises(MediaStreamError):
        await track.recv()
    track.push(np.ones(160, np.int16))  # after the end: ignored, not raised
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_audio_pushed_before_the_end_is_still_read() -> None:
    track = PushedAudioTrack(8000)
    track.push(np.ones(160, np.int16))
    track.end()
    assert frame_to_pcm16(await track.recv()).size == 160
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_an_unread_track_keeps_only_the_newest_frames() -> None:
    track = PushedAudioTrack(8000, max_queued_frames=3)
    for value in range(5):
        track.push(np.full(160, value, np.int16))
    assert track.dropped_frames == 2
    assert [int(frame_to_pcm16(await track.recv())[0]) for _ in range(3)] == [2, 3, 4]
