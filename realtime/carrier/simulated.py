"""A simulated carrier: numbers answer, ring out, are busy or fail as personas script.

The dev stack and the tests dial through it exactly as they would through a real
carrier. Each persona lists what happens on a contact's 1st, 2nd, ... attempt (the last
step repeats). Calls are logged by idempotency key: a retried dial with the same key gets the
first call's result and rings nobody again (`dial_log` proves it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from centralita.kernel.calls import CallOutcome, DialRequest, DialResult, InvalidDialRequestError
from realtime.softphone.script import BotScript

if TYPE_CHECKING:
    from realtime.conversation_line import ConversationLine

log = logging.getLogger(__name__)

_E164 = re.compile(r"\+[1-9]\d{6,14}")

# What a line reports when the call ends without a conversation.
_UNANSWERED_REASONS: dict[CallOutcome, str] = {
    CallOutcome.NO_ANSWER: "dial_no_answer",
    CallOutcome.BUSY: "dial_busy",
    CallOutcome.FAILED: "dial_failed",
    CallOutcome.VOICEMAIL: "voicemail_reached",
}


class PersonaStep(BaseModel):
    """What happens on one attempt to the persona's number."""

    outcome: CallOutcome
    ring_seconds: float = Field(default=0.5, ge=0)
    talk_seconds: float = Field(default=0.0, ge=0)
    transcript: str | None = None
    extracted: dict[str, Any] = Field(default_factory=dict)
    # A callback request's "call me back in N minutes"; lands in the result's `extracted`
    # so the retry rules see it exactly as they would from a real agent's extraction.
    callback_in_minutes: int | None = Field(default=None, ge=0)
    # Answered by a bot softphone that holds this conversation over WebRTC when the
    # carrier has a conversation line (the media worker's); the outcome then comes from
    # the agent. Without a line the scripted fields above stand in for it.
    conversation: BotScript | None = None


class Persona(BaseModel):
    """A scripted person (or dead line) behind one phone number."""

    number: str
    name: str
    script: list[PersonaStep] = Field(min_length=1)

    def step_for(self, attempt_number: int) -> PersonaStep:
        """The step for the n-th attempt (1-based); the last step repeats."""
        return self.script[min(attempt_number, len(self.script)) - 1]


class PersonaBook(BaseModel):
    """A set of personas, as stored in a JSON file."""

    personas: list[Persona]

    @classmethod
    def load(cls, path: Path) -> PersonaBook:
        """Read and validate a persona file."""
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))


def packaged_personas() -> Path:
    """The demo personas shipped with Centralita (Spanish, Chile and Spain)."""
    return Path(__file__).resolve().parent.parent / "personas" / "demo_es.json"


class SimulatedCarrier:
    """An in-process carrier that plays personas.

    Args:
        personas: who answers which number.
        time_scale: multiplies ring and talk times (tests use 0 for instant calls).
        clock: current time (tests may freeze it).
        line: holds the conversations of personas whose step has one.
        keep_finished: how many ended calls stay known (their result for a repeated
            dial, their request in `dial_log`), oldest dropped first. The media worker
            keeps none: the carrier service in front of it answers for ended calls.
    """

    def __init__(
        self,
        personas: list[Persona],
        *,
        time_scale: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        line: ConversationLine | None = None,
        keep_finished: int = 100_000,
    ) -> None:
        self._line = line
        self._personas = {p.number: p for p in personas}
        self._time_scale = time_scale
        self._clock = clock
        self._keep_finished = keep_finished
        self._results: dict[str, asyncio.Future[DialResult]] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()  # keys, in order of ending
        self.dial_log: list[DialRequest] = []  # the last `keep_finished` dials

    async def dial(self, request: DialRequest) -> DialResult:
        """Ring the persona behind `request.to_number` (once per idempotency key)."""
        if not _E164.fullmatch(request.to_number):
            raise InvalidDialRequestError(f"not an E.164 number: {request.to_number!r}")
        key = request.idempotency_key
        while (known := self._results.get(key)) is not None:
            log.info("dial %s already placed; joining it", key)
            try:
                return await asyncio.shield(known)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # we were cancelled ourselves
                # The call we joined was cancelled before it ended: place it ourselves.
        future: asyncio.Future[DialResult] = asyncio.get_running_loop().create_future()
        self._results[key] = future
        self.dial_log.append(request)
        del self.dial_log[: max(0, len(self.dial_log) - self._keep_finished)]
        try:
            future.set_result(await self._place(request))
        except BaseException as exc:
            # A cancelled or broken call may be asked for again under the same key.
            del self._results[key]
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # joiners re-raise it; nobody else must log it
            else:
                future.cancel()
            raise
        self._remember_ended(key)
        return future.result()

    def _remember_ended(self, key: str) -> None:
        """Remember the ended call of `key`, forgetting the oldest past `keep_finished`."""
        self._finished[key] = None
        self._finished.move_to_end(key)
        while len(self._finished) > self._keep_finished:
            old, _ = self._finished.popitem(last=False)
            self._results.pop(old, None)

    async def _place(self, request: DialRequest) -> DialResult:
        started = self._clock()
        persona = self._personas.get(request.to_number)
        if persona is None:
            # Unallocated number: the network rejects it after a short delay.
            await self._wait(0.2)
            return self._ended(started, CallOutcome.FAILED, "invalid_destination", None)
        # Keyed by attempt number, not by a counter of ours: a restarted carrier
        # replays the same script for the same attempt.
        step = persona.step_for(request.attempt_number)
        await self._wait(step.ring_seconds)
        if step.outcome in _UNANSWERED_REASONS:
            return self._ended(started, step.outcome, _UNANSWERED_REASONS[step.outcome], None)
        if step.conversation is not None and self._line is not None:
            return await self._line.converse(request, step.conversation, started)
        answered = self._clock()
        await self._wait(step.talk_seconds)
        extracted = dict(step.extracted)
        if step.callback_in_minutes is not None:
            extracted["callback_in_minutes"] = step.callback_in_minutes
        return self._ended(
            started, step.outcome, "user_hangup", answered, step.transcript, extracted
        )

    def _ended(
        self,
        started: datetime,
        outcome: CallOutcome,
        reason: str,
        answered: datetime | None,
        transcript: str | None = None,
        extracted: dict[str, Any] | None = None,
    ) -> DialResult:
        ended = max(self._clock(), started + timedelta(microseconds=1))
        return DialResult(
            outcome=outcome,
            disconnection_reason=reason,
            started_at=started,
            answered_at=answered,
            ended_at=ended,
            duration_s=(ended - answered).total_seconds() if answered else 0.0,
            transcript=transcript,
            extracted=extracted or {},
        )

    async def _wait(self, seconds: float) -> None:
        if seconds * self._time_scale > 0:
            await asyncio.sleep(seconds * self._time_scale)
