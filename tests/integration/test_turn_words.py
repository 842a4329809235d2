"""`mode: words` on real speech: Kokoro callers, heard by the live Whisper model.

Each turn streams through the real endpointer; at each check the real early transcript
is read by `sounds_finished`. The stream waits for each verdict before going on, which
is the harshest timing for cut-offs (in a call, speech that resumes while Whisper works
makes the verdict stale).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.turn_set import TurnItem, build
from realtime.audio.turn_settings import TurnSettings
from realtime.audio.vad import Endpointer, TurnCheck, UtteranceEnded, UtterancePaused
from realtime.providers.base import Transcript
from realtime.providers.whisper import WhisperSTT
from realtime.session.early_transcripts import EarlyTranscripts
from realtime.session.turn_judging import TurnJudging

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng"),
]
WORDS = TurnSettings(mode="words")
WHEN = ["pay_date"]


@pytest.fixture(scope="module")
def items() -> dict[str, TurnItem]:
    from realtime.providers.kokoro_models import KokoroNotInstalledError, model_path

    try:
        model_path()
    except KokoroNotInstalledError:
        pytest.skip("Kokoro is not installed")
    return {it.name: it for it in build(("es", "en"), voices="kokoro")}


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> WhisperSTT:
    return WhisperSTT(cache_dir=Path(tmp_path_factory.mktemp("models")), timeout_s=60)


Ended = tuple[UtteranceEnded, "asyncio.Task[Transcript] | None"]


async def _turns(item: TurnItem, stt: WhisperSTT, expecting: list[str]) -> list[Ended]:
    """The item through the endpointer and the words judge; each end with its transcript."""
    endpointer = Endpointer(
        silence_ms=WORDS.endpoint_silence_ms,
        early_ms=200,
        turn_check_ms=WORDS.turn_check_ms,
        recheck_ms=WORDS.recheck_ms,
        silero_floor=WORDS.silero_floor,
    )
    early = EarlyTranscripts(stt, item.language, [])
    judging = TurnJudging(
        WORDS, language=item.language, transcript_for=early.for_pause, expecting=lambda: expecting
    )
    ended: list[Ended] = []
    for i in range(0, item.audio.size, 320):
        events = endpointer.feed(item.audio[i : i + 320])
        while events:
            event = events.pop(0)
            if isinstance(event, UtterancePaused):
                early.start(event)
            elif isinstance(event, TurnCheck):
                events += await _conclude(endpointer, judging, event)
            elif isinstance(event, UtteranceEnded):
                ended.append((event, early.take(event)))
    return ended


async def _conclude(endpointer: Endpointer, judging: TurnJudging, check: TurnCheck) -> list[Any]:
    """The judge's answer to `check`, given to the endpointer (waited for)."""
    done = asyncio.Event()
    events: list[Any] = []

    def answer(check: TurnCheck, complete: bool, *, settle_ms: int | None = None) -> None:
        events.extend(endpointer.conclude(check, complete, settle_ms=settle_ms))
        done.set()

    judging.ask(check, answer)
    await asyncio.wait_for(done.wait(), 60)
    return events


async def _one_turn(item: TurnItem, stt: WhisperSTT, expecting: list[str]) -> Ended:
    ended = await _turns(item, stt, expecting)
    assert len(ended) == 1, f"{item.name} ({item.text!r}) ended {len(ended)} times"
    return ended[0]


@pytest.mark.parametrize(
    ("name", "expecting", "word"),
    [
        ("ef_dora-pause0-700", WHEN, "viernes"),  # "puedo pagar... el viernes"
        ("em_alex-pause1-1000", [], "987"),  # "mi número es el... nueve ocho siete"
        ("af_heart-pause0-700", WHEN, "friday"),  # "I can pay... on Friday"
        ("am_michael-pause3-1000", WHEN, "month"),  # "the thing is that... I can't..."
    ],
)
async def test_a_caller_who_pauses_mid_sentence_is_not_cut_off(
    items: dict[str, TurnItem], whisper: WhisperSTT, name: str, expecting: list[str], word: str
) -> None:
    item = items[name]
    end, _ = await _one_turn(item, whisper, expecting)
    assert end.ended_at_ms >= item.speech_end_ms - 200  # after the second half, not before
    heard = await whisper.transcribe(end.audio, language=item.language)
    assert word in heard.text.lower()


@pytest.mark.parametrize(
    ("name", "expecting"),
    [
        ("ef_dora-complete2", WHEN),  # "el viernes"
        ("em_alex-complete4", WHEN),  # "no puedo"
        ("af_heart-complete4", WHEN),  # "I can't"
        ("am_michael-complete6", []),  # "okay"
    ],
)
async def test_a_finished_answer_ends_at_the_first_check_with_its_transcript_ready(
    items: dict[str, TurnItem], whisper: WhisperSTT, name: str, expecting: list[str]
) -> None:
    end, transcript = await _one_turn(items[name], whisper, expecting)
    # Ended at the first check (200 ms), not at the longest wait (1.3 s).
    assert end.endpointing_ms < WORDS.check_ms + 60
    # The end carries the very transcript the words were judged on: no second pass.
    assert transcript is not None
    assert transcript.done()
    assert transcript.result().text.strip()
