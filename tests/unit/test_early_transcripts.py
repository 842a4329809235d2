"""Speculative transcription: used only for the utterance it heard, never piled up."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from realtime.audio.vad import UtteranceEnded, UtterancePaused
from realtime.session.early_transcripts import EarlyTranscripts, early_ms
from tests.support.providers import ScriptedSTT

pytestmark = pytest.mark.unit
AUDIO = np.ones(1600, dtype=np.int16)


def _ended(ended_at_ms: int, *, forced: bool = False) -> UtteranceEnded:
    return UtteranceEnded(
        audio=AUDIO,
        started_at_ms=0,
        ended_at_ms=ended_at_ms,
        endpointing_ms=600,
        audio_start_ms=0,
        forced=forced,
    )


async def test_the_pause_that_was_the_end_gives_its_transcript() -> None:
    early = EarlyTranscripts(ScriptedSTT(["doscientos mil"]), "es", [])
    early.start(UtterancePaused(AUDIO, ended_at_ms=1200))
    task = early.take(_ended(1200))
    assert task is not None
    assert (await task).text == "doscientos mil"


async def test_a_pause_the_caller_talked_on_from_is_dropped() -> None:
    stt = ScriptedSTT(["doscientos"], delay_s=0.01)
    early = EarlyTranscripts(stt, "es", [])
    early.start(UtterancePaused(AUDIO, ended_at_ms=800))
    assert early.take(_ended(1500)) is None  # the utterance went on past that pause
    assert early.take(_ended(1500)) is None  # and nothing is kept for later


async def test_a_forced_end_is_transcribed_afresh() -> None:
    early = EarlyTranscripts(ScriptedSTT(["hola"]), "es", [])
    early.start(UtterancePaused(AUDIO, ended_at_ms=900))
    assert early.take(_ended(900, forced=True)) is None


async def test_no_second_transcription_while_a_stale_one_runs() -> None:
    stt = ScriptedSTT(["uno", "dos"], delay_s=0.2)
    early = EarlyTranscripts(stt, "es", [])
    early.start(UtterancePaused(AUDIO, ended_at_ms=500))
    await asyncio.sleep(0.01)
    early.start(UtterancePaused(AUDIO, ended_at_ms=1400))  # the first still runs
    assert early.take(_ended(1400)) is None
    await asyncio.sleep(0.3)
    assert len(stt.calls) == 1


def test_early_is_off_unless_shorter_than_the_endpoint() -> None:
    assert early_ms(200, 600) == 200
    assert early_ms(600, 600) is None
    assert early_ms(None, 600) is None
    assert early_ms(20, 600) == 100  # never before the endpointer's tail
