"""A supervisor's hand on a call: say, add a message, mute, unmute, end, take over.

`CallSession` owns the conversation; `Supervision` holds what a supervisor changed in
it (the agent muted, the call taken over, lines being said on their behalf) and logs
every control as a `control` event with who and when, so the live view and the stored
call both show it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from centralita.kernel.call_events import CallEventType, ControlAction
from realtime.providers.base import AgentBrain
from realtime.providers.sentences import split_sentences
from realtime.session.record import CallRecord
from realtime.session.speech import AgentSpeech


class Supervision:
    """The controls applied to one call.

    Args:
        record: the call's record (events go there).
        speech: the agent's voice (muted, or made to say a line).
        brain: the agent's brain (takes added context).
        end: ends the call, with who ended it.
    """

    def __init__(
        self,
        *,
        record: CallRecord,
        speech: AgentSpeech,
        brain: AgentBrain,
        end: Callable[[str], None],
    ) -> None:
        self._record = record
        self._speech = speech
        self._brain = brain
        self._end = end
        self.taken_over = False  # a human has the call: the agent only listens
        self.joined = asyncio.Event()  # set while a human has the call (a queue waits on it)
        self._saying: set[asyncio.Task[None]] = set()

    @property
    def saying(self) -> bool:
        """Whether a line a supervisor injected is still being said."""
        return bool(self._saying)

    def apply(self, action: ControlAction, *, by: str, message: str | None = None) -> None:
        """One control, logged first.

        `say` speaks `message` now (after what is already queued); `add-message` gives
        it to the brain as context; `mute` silences the agent at once (what it says
        meanwhile is not played) until `unmute`; `end` hangs up; `takeover` hands the
        call to a human: the agent goes quiet and stops answering, the transcript goes on.

        Raises:
            ValueError: `say` or `add-message` without a message.
        """
        if action in ("say", "add-message") and not (message and message.strip()):
            raise ValueError(f"{action} needs a message")
        self._record.event(
            CallEventType.CONTROL,
            action=action,
            by=by,
            message=message,
            at_utc=datetime.now(UTC).isoformat(),
        )
        if action == "say":
            task = asyncio.create_task(self._say(message or ""))
            self._saying.add(task)
            task.add_done_callback(self._saying.discard)
        elif action == "add-message":
            self._brain.add_context(message or "")
        elif action in ("mute", "takeover"):
            self._speech.mute()
            if action == "takeover":
                self.taken_over = True
                self.joined.set()
                self._record.event(CallEventType.TRANSFER, to="human", by=by)
        elif action == "unmute":
            self._speech.unmute()
        elif action == "end":
            self._end("supervisor")

    def hand_back(self, by: str) -> bool:
        """The human who took the call left: the agent is heard and answers again.

        Returns:
            Whether the call had been taken over (False: nothing to hand back).
        """
        if not self.taken_over:
            return False
        self.taken_over = False
        self.joined.clear()
        self._speech.unmute()
        self._record.event(CallEventType.HANDED_BACK, by=by, at_utc=datetime.now(UTC).isoformat())
        return True

    async def _say(self, message: str) -> None:
        for sentence in split_sentences(message):
            await self._speech.say(sentence)
