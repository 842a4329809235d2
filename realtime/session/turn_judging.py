"""Answers the endpointer's `TurnCheck`s: with Smart Turn, or with the words said so far.

`mode: model`: the model takes ~40 ms a call on one thread (bench/results/turns.json):
inline, every pause would hold up the audio of every call on this worker by that much.
So the check runs in a thread pool of its own and its verdict comes back to the loop,
where the endpointer declares the end at the stream time it arrives (a frame or three
later).

`mode: words`: the check waits for the early transcript of the same pause (started by
`UtterancePaused` in the same frame, so it is the one the turn will be heard with) and
asks `turn_ending` what its words say, given the slots the agent's last line asked for:
finished ends the turn now, open after `settle_ms` of silence (500, as without a
`turns:` block), hanging at the longest wait. The transcript is then already there when
the turn ends: the end of the turn and the end of its transcription are one moment.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Protocol

from centralita.understanding.turn_end import Ending, turn_ending
from realtime.audio.turn_model import shared_smart_turn
from realtime.audio.turn_settings import TurnSettings
from realtime.audio.vad import TurnCheck
from realtime.providers.base import Transcript

log = logging.getLogger(__name__)

# Two threads: one model call per core at most, whatever the number of calls; a check
# that waits is still bounded by the endpointer's `max_wait_ms`.
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="smart-turn")


class Verdict(Protocol):
    """Where an answer goes: `Endpointer.conclude`'s arguments."""

    def __call__(self, check: TurnCheck, complete: bool, *, settle_ms: int | None = None) -> None:
        """`complete`: the turn is over; else, with `settle_ms`, over after that silence."""


# The early transcript of the pause a check is about (started if none is running).
TranscriptFor = Callable[[TurnCheck], "asyncio.Task[Transcript]"]


class TurnJudging:
    """One call's questions about whether the caller is done; a failed check is an
    "incomplete" answer (the turn then ends at the longest wait, as in silence mode)."""

    def __init__(
        self,
        settings: TurnSettings | None,
        *,
        language: str = "es",
        transcript_for: TranscriptFor | None = None,
        expecting: Callable[[], list[str]] = list,
    ) -> None:
        """
        Args:
            settings: the agent's `turns:` block (None: the endpointer never asks).
            language: the call's language, for reading the words.
            transcript_for: where `mode: words` gets a pause's transcript.
            expecting: the slots the agent's last line asked for, read at each check.
        """
        self._threshold = settings.threshold if settings is not None else 0.5
        self._by_words = settings is not None and settings.mode == "words"
        self._settle_ms = settings.settle_ms if settings is not None else None
        if self._by_words and transcript_for is None:
            raise ValueError("mode: words needs the call's early transcripts")
        self._language = language
        self._transcript_for = transcript_for
        self._expecting = expecting
        self.last_ms: float | None = None  # the latest check's model time

    def ask(self, check: TurnCheck, answer: Verdict) -> None:
        """Judge `check` off the loop's critical path; `answer` is called on the loop."""
        if self._by_words:
            self._ask_words(check, answer)
            return
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(_pool, self._probability, check)

        def done(fut: asyncio.Future[float]) -> None:
            if fut.cancelled():
                return
            exc = fut.exception()
            if exc is not None:
                log.warning("turn check failed, waiting for the silence instead: %r", exc)
                answer(check, False)
                return
            answer(check, fut.result() >= self._threshold)

        future.add_done_callback(done)

    def _ask_words(self, check: TurnCheck, answer: Verdict) -> None:
        assert self._transcript_for is not None
        task = self._transcript_for(check)
        expecting = self._expecting()  # what was asked when the caller paused

        def done(fut: asyncio.Task[Transcript]) -> None:
            if fut.cancelled():
                return  # the caller spoke again, or the call ended
            exc = fut.exception()
            if exc is not None:
                log.warning("early transcript failed, ending the turn as usual: %r", exc)
                answer(check, False, settle_ms=self._settle_ms)
                return
            text = fut.result().text
            ending = turn_ending(
                text, language=self._language, now=datetime.now(UTC), expecting=expecting
            )
            log.debug(
                "turn check at %d ms: %r, expecting %s: %s", check.at_ms, text, expecting, ending
            )
            if ending is Ending.OPEN:
                answer(check, False, settle_ms=self._settle_ms)
            else:
                answer(check, ending is Ending.FINISHED)

        task.add_done_callback(done)

    def _probability(self, check: TurnCheck) -> float:
        started = time.perf_counter()
        probability = shared_smart_turn().complete_probability(check.audio)
        self.last_ms = (time.perf_counter() - started) * 1000
        return probability
