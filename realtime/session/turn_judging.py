"""Answers the endpointer's `TurnCheck`s with Smart Turn, off the event loop.

The model takes ~40 ms a call on one thread (bench/results/turns.json): inline, every
pause would hold up the audio of every call on this worker by that much. So the check
runs in a thread pool of its own and its verdict comes back to the loop, where the
endpointer declares the end at the stream time it arrives (a frame or three later).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from realtime.audio.turn_model import shared_smart_turn
from realtime.audio.turn_settings import TurnSettings
from realtime.audio.vad import TurnCheck

log = logging.getLogger(__name__)

# Two threads: one model call per core at most, whatever the number of calls; a check
# that waits is still bounded by the endpointer's `max_wait_ms`.
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="smart-turn")

Verdict = Callable[[TurnCheck, bool], None]


class TurnJudging:
    """One call's questions to Smart Turn; a failed check is an "incomplete" answer
    (the turn then ends at the longest wait, as in silence mode)."""

    def __init__(self, settings: TurnSettings | None) -> None:
        self._threshold = settings.threshold if settings is not None else 0.5
        self.last_ms: float | None = None  # the latest check's model time

    def ask(self, check: TurnCheck, answer: Verdict) -> None:
        """Run the model on `check` in the pool; `answer` is called on the loop."""
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

    def _probability(self, check: TurnCheck) -> float:
        started = time.perf_counter()
        probability = shared_smart_turn().complete_probability(check.audio)
        self.last_ms = (time.perf_counter() - started) * 1000
        return probability
