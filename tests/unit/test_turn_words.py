"""`mode: words`: the turn check reads the pause's early transcript (scripted here)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from realtime.audio.turn_settings import TurnSettings
from realtime.audio.vad import TurnCheck, UtterancePaused
from realtime.providers.base import ProviderError
from realtime.session.early_transcripts import EarlyTranscripts
from realtime.session.turn_judging import TurnJudging
from tests.support.providers import ScriptedSTT

pytestmark = pytest.mark.unit
AUDIO = np.ones(1600, dtype=np.int16)
WORDS = TurnSettings(mode="words")


def _check(ended_at_ms: int) -> TurnCheck:
    return TurnCheck(AUDIO, ended_at_ms=ended_at_ms, at_ms=ended_at_ms + 200)


async def _answer(judging: TurnJudging, check: TurnCheck) -> tuple[bool, int | None]:
    """The verdict: (complete, settle_ms)."""
    answered: asyncio.Future[tuple[bool, int | None]] = asyncio.get_running_loop().create_future()

    def answer(check: TurnCheck, complete: bool, *, settle_ms: int | None = None) -> None:
        answered.set_result((complete, settle_ms))

    judging.ask(check, answer)
    return await asyncio.wait_for(answered, 5)


async def _verdict(judging: TurnJudging, check: TurnCheck) -> bool:
    complete, _ = await _answer(judging, check)
    return complete


def _judging(stt: ScriptedSTT, expecting: list[str]) -> tuple[TurnJudging, EarlyTranscripts]:
    early = EarlyTranscripts(stt, "es", [])
    judging = TurnJudging(
        WORDS, language="es", transcript_for=early.for_pause, expecting=lambda: expecting
    )
    return judging, early


async def test_a_promise_without_the_day_asked_for_is_not_the_end() -> None:
    judging, early = _judging(ScriptedSTT(["Puedo pagar."]), ["pay_date"])
    early.start(UtterancePaused(AUDIO, ended_at_ms=900))
    assert not await _verdict(judging, _check(900))


async def test_the_day_asked_for_ends_the_turn_with_the_transcript_it_was_judged_on() -> None:
    stt = ScriptedSTT(["El viernes."])
    judging, early = _judging(stt, ["pay_date"])
    early.start(UtterancePaused(AUDIO, ended_at_ms=900))
    assert await _verdict(judging, _check(900))
    assert await _verdict(judging, _check(900))  # a recheck reads the same transcript
    assert len(stt.calls) == 1


async def test_a_check_with_no_transcript_running_starts_one() -> None:
    # The earlier pause's transcription was still busy when this pause came, so
    # `UtterancePaused` started none: the check must not wait for the longest silence.
    stt = ScriptedSTT(["uno", "Sí."], delay_s=0.05)
    judging, early = _judging(stt, [])
    early.start(UtterancePaused(AUDIO, ended_at_ms=500))
    early.start(UtterancePaused(AUDIO, ended_at_ms=1400))  # skipped: "uno" still runs
    assert await _verdict(judging, _check(1400))
    assert [call.samples for call in stt.calls] == [AUDIO.size, AUDIO.size]


async def test_words_that_may_end_the_turn_end_it_after_the_usual_silence() -> None:
    judging, early = _judging(ScriptedSTT(["Doscientos mil pesos"]), ["amount", "pay_date"])
    early.start(UtterancePaused(AUDIO, ended_at_ms=900))
    assert await _answer(judging, _check(900)) == (False, WORDS.settle_ms)


async def test_a_failed_transcript_ends_the_turn_after_the_usual_silence() -> None:
    stt = ScriptedSTT([ProviderError("down", transient=False)])
    judging, early = _judging(stt, [])
    early.start(UtterancePaused(AUDIO, ended_at_ms=900))
    assert await _answer(judging, _check(900)) == (False, WORDS.settle_ms)


async def test_a_hanging_sentence_waits_for_the_longest_silence() -> None:
    judging, early = _judging(ScriptedSTT(["Mi número es el"]), [])
    early.start(UtterancePaused(AUDIO, ended_at_ms=900))
    assert await _answer(judging, _check(900)) == (False, None)


def test_words_mode_needs_the_early_transcripts() -> None:
    with pytest.raises(ValueError, match="early transcripts"):
        TurnJudging(WORDS)


def test_words_mode_checks_at_200_ms_and_waits_at_most_the_longest_wait() -> None:
    assert WORDS.turn_check_ms == 200
    assert WORDS.endpoint_silence_ms == WORDS.max_wait_ms
    # With the defaults a recheck falls on the settle point: 200 + 300 = 500.
    assert WORDS.check_ms + WORDS.recheck_ms == WORDS.settle_ms


def test_settle_ms_lies_between_the_check_and_the_longest_wait() -> None:
    with pytest.raises(ValueError, match="settle_ms"):
        TurnSettings(mode="words", check_ms=300, settle_ms=200)
    with pytest.raises(ValueError, match="settle_ms"):
        TurnSettings(mode="words", settle_ms=1500, max_wait_ms=1300)
