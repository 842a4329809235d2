"""Turn detection by words (`mode: words`), for `python -m bench turns`.

At each check the pause's audio so far is transcribed by the live Whisper model (the
session's early transcript) and `sounds_finished` reads it, given what the question
before it asked for (`TurnItem.expecting`). The endpointer is stream-timed, so the
check's transcription time is added to the delay of the turn it ended: that is when
the session would end it. Cut-offs are counted as if the transcript came back at once,
which overcounts them a little: in a call, speech resuming while Whisper works makes
its verdict stale.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bench.turn_set import TurnItem
from centralita.kernel.pcm import Pcm16
from centralita.understanding.turn_end import sounds_finished
from realtime.audio.turn_settings import TurnSettings
from realtime.audio.vad import Endpointer
from realtime.providers.whisper import WhisperSTT

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class WordsJudge:
    """The live model's transcript at each check, kept per (item, audio length)."""

    def __init__(self) -> None:
        self.stt = WhisperSTT(timeout_s=120.0)
        self._loop = asyncio.new_event_loop()
        self.heard: dict[tuple[str, int], tuple[str, float]] = {}
        self.deciding_ms: dict[str, float] = {}  # per item: the check that ended its turn

    def finished(self, item: TurnItem, audio: Pcm16) -> bool:
        """Whether the words so far end `item`'s turn."""
        key = (item.name, audio.size)
        if key not in self.heard:
            started = time.perf_counter()
            transcript = self._loop.run_until_complete(
                self.stt.transcribe(audio, language=item.language)
            )
            self.heard[key] = (transcript.text, (time.perf_counter() - started) * 1000)
        text, took_ms = self.heard[key]
        done = sounds_finished(text, language=item.language, now=NOW, expecting=item.expecting)
        if done:
            self.deciding_ms[item.name] = took_ms
        return done

    def transcription_ms(self) -> list[float]:
        """Every transcription's time, in ms."""
        return [ms for _, ms in self.heard.values()]

    def added_ms(self, item: TurnItem) -> float:
        """The transcription time the session would wait on before ending `item`'s
        turn (0 when the turn ended at the longest wait)."""
        return self.deciding_ms.get(item.name, 0.0)

    def texts(self) -> dict[str, str]:
        """What was heard at each check: "item@audio ms" -> text."""
        return {f"{name}@{size // 16}ms": text for (name, size), (text, _) in self.heard.items()}


def words_settings(
    judge: WordsJudge, checks: Sequence[int], waits: Sequence[int]
) -> list[tuple[str, Callable[[TurnItem], Endpointer]]]:
    """`mode: words` at each (check_ms, max wait)."""
    defaults = TurnSettings(mode="words")
    settings: list[tuple[str, Callable[[TurnItem], Endpointer]]] = []
    for check in checks:
        for wait in waits:
            if check >= wait:
                continue

            def make(it: TurnItem, c: int = check, w: int = wait) -> Endpointer:
                judge.deciding_ms.pop(it.name, None)  # a new stream of the item
                return Endpointer(
                    silence_ms=w,
                    early_ms=200,
                    turn_check_ms=c,
                    recheck_ms=defaults.recheck_ms,
                    judge=lambda audio: judge.finished(it, audio),
                    silero_floor=defaults.silero_floor,
                )

            settings.append((f"words-c{check}-max{wait}", make))
    return settings
