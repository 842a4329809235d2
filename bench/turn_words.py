"""Turn detection by words (`mode: words`), for `python -m bench turns`.

At each check the pause's audio is transcribed by the live Whisper model (the session's
early transcript, one per pause: a recheck reads the same one) and `turn_ending` reads
it, given what the question before it asked for (`TurnItem.expecting`). The verdict is
delivered to the endpointer when the stream reaches the check's time plus the measured
transcription time, as the session's executor would deliver it: a verdict that arrives
after the caller spoke again is stale, and a turn that ends does so when Whisper is done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bench.turn_set import TurnItem
from centralita.kernel.pcm import Pcm16
from centralita.understanding.turn_end import Ending, turn_ending
from realtime.audio.turn_settings import TurnSettings
from realtime.audio.vad import Endpointer, TurnCheck, VadEvent
from realtime.providers.whisper import WhisperSTT

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class WordsJudge:
    """The live model's transcript of each pause, kept per (item, pause)."""

    def __init__(self) -> None:
        self.stt = WhisperSTT(timeout_s=120.0)
        self._loop = asyncio.new_event_loop()
        self.heard: dict[tuple[str, int], tuple[str, float]] = {}

    def transcript(self, item: TurnItem, check: TurnCheck) -> tuple[str, float]:
        """The text of the pause `check` asks about, and the ms it took to transcribe."""
        key = (item.name, check.ended_at_ms)
        if key not in self.heard:
            started = time.perf_counter()
            transcript = self._loop.run_until_complete(
                self.stt.transcribe(check.audio, language=item.language)
            )
            self.heard[key] = (transcript.text, (time.perf_counter() - started) * 1000)
        return self.heard[key]

    def transcription_ms(self) -> list[float]:
        """Every transcription's time, in ms."""
        return [ms for _, ms in self.heard.values()]

    def texts(self) -> dict[str, str]:
        """What was heard at each pause: "item@pause ms" -> text."""
        return {f"{name}@{ended}ms": text for (name, ended), (text, _) in self.heard.items()}


class WordsEndpointer:
    """An `Endpointer` in words mode whose checks `judge` answers on the stream's clock."""

    def __init__(self, item: TurnItem, judge: WordsJudge, settings: TurnSettings) -> None:
        self._item, self._judge, self._settings = item, judge, settings
        self._endpointer = Endpointer(
            silence_ms=settings.endpoint_silence_ms,
            early_ms=200,
            turn_check_ms=settings.turn_check_ms,
            recheck_ms=settings.recheck_ms,
            silero_floor=settings.silero_floor,
        )
        self._due: list[tuple[float, TurnCheck, Ending]] = []

    def feed(self, samples: Pcm16) -> list[VadEvent]:
        """As `Endpointer.feed`, with the verdicts due by now delivered."""
        events = self._endpointer.feed(samples)
        for event in events:
            if isinstance(event, TurnCheck):
                text, took_ms = self._judge.transcript(self._item, event)
                ending = turn_ending(
                    text, language=self._item.language, now=NOW, expecting=self._item.expecting
                )
                self._due.append((event.at_ms + took_ms, event, ending))
        now = self._endpointer.now_ms
        while self._due and self._due[0][0] <= now:
            _, check, ending = self._due.pop(0)
            settle = self._settings.settle_ms if ending is Ending.OPEN else None
            events += self._endpointer.conclude(check, ending is Ending.FINISHED, settle_ms=settle)
        return events

    def flush(self) -> list[VadEvent]:
        """As `Endpointer.flush`."""
        return self._endpointer.flush()


def words_settings(
    judge: WordsJudge, checks: Sequence[int], waits: Sequence[int]
) -> list[tuple[str, Callable[[TurnItem], WordsEndpointer]]]:
    """`mode: words` at each (check_ms, max wait)."""
    settings: list[tuple[str, Callable[[TurnItem], WordsEndpointer]]] = []
    for check in checks:
        for wait in waits:
            if check >= wait:
                continue
            words = TurnSettings(mode="words", check_ms=check, max_wait_ms=wait)

            def make(it: TurnItem, s: TurnSettings = words) -> WordsEndpointer:
                return WordsEndpointer(it, judge, s)

            settings.append((f"words-c{check}-max{wait}", make))
    return settings
