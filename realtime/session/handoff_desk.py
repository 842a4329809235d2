"""One call's way to a person: the agent's handoff policy applied, and the wait.

The call session asks the desk before each reply (`before_reply`: a request for a
person, the sentiment, a loop, a legal matter) and after it (`after_reply`: the agent
did not understand, or could not answer a question), and lets it `act` on a decision:

- transfer now: the caller is told, the call joins the human queue, and the caller is
  told again every `hold_line_every_s` that they still wait (the agent answers nothing
  meanwhile; what they say is transcribed). When an operator's audio joins (a takeover
  through `realtime/legs/human.py`) the call is theirs; when they hang up, the call ends.
  When nobody answered within `max_wait_s`, the caller is told a person will call back,
  and the callback is scheduled durably.
- offer: the agent offers a person; a yes (or a request for one) transfers, anything
  else is answered by the agent as usual.
- schedule a callback: the caller is told a person will call back; the call ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from centralita.handoff.lines import handoff_line, spoken_when
from centralita.handoff.models import HandoffContext
from centralita.handoff.policy import HandoffAction, HandoffPolicy, HandoffTrigger
from centralita.handoff.watch import CallerTurn, HandoffDecision, HandoffWatch
from centralita.kernel.call_events import CallEventType
from centralita.kernel.calls import CallOutcome
from centralita.understanding.model import Intent
from realtime.providers.base import AgentReply, BrainTurn
from realtime.session.human_queue import HumanQueue, QueueUnavailableError
from realtime.session.record import CallRecord
from realtime.session.speech import AgentSpeech
from realtime.session.supervision import Supervision

log = logging.getLogger(__name__)

# An operator claimed the call just as the wait ran out: how long their audio may take.
LATE_JOIN_S = 12.0
# How long a line said to the caller may take before the desk goes on regardless.
LINE_MAX_S = 30.0
SUMMARY_LINES = 8
_YES = frozenset({Intent.AFFIRM, Intent.HUMAN_REQUEST})


class HandoffDesk:
    """Applies one call's handoff policy and holds the caller while a person is found.

    Args:
        policy: the agent's handoff policy.
        queue: the call's way into the human queue (None: nobody can be rung; a
            transfer becomes a callback when one can be stored, else an apology).
        record: the call's record (events, outcome, transcript).
        speech: the agent's voice.
        supervision: the call's controls (whose `joined` says an operator is on).
        language: the call's language; `timezone`: the caller's.
        end: ends the call, with who ended it.
    """

    def __init__(
        self,
        *,
        policy: HandoffPolicy,
        queue: HumanQueue | None,
        record: CallRecord,
        speech: AgentSpeech,
        supervision: Supervision,
        language: str,
        timezone: str | None,
        end: Callable[[str], None],
    ) -> None:
        self.policy = policy
        self._queue = queue
        self._record = record
        self._speech = speech
        self._supervision = supervision
        self._language = language
        self._zone = ZoneInfo(timezone or "UTC")
        self._end = end
        self.watch = HandoffWatch(policy)
        self._offer: HandoffDecision | None = None
        self._fallback = False
        self._unanswered = False
        self._last_turn: BrainTurn | None = None
        self.holding = False  # the caller waits for a person: the agent answers nothing
        self._waiting = False  # queued and not yet connected, timed out or settled
        self.handoff_id: str | None = None
        self._decided_at: datetime | None = None
        self.connected_by: str | None = None  # the operator who has the call
        self.waiting_task: asyncio.Task[None] | None = None  # a transfer under way

    # -- deciding ------------------------------------------------------------------

    def before_reply(self, turn: BrainTurn) -> HandoffDecision | None:
        """A decision from what the caller just said (None: the agent answers)."""
        self._last_turn = turn
        if turn.silence:
            return None
        intents = {turn.understanding.intent, *turn.understanding.also}
        return self.watch.before_reply(
            CallerTurn(
                text=turn.understanding.text,
                asked_for_person=Intent.HUMAN_REQUEST in intents,
                sentiment=turn.sentiment.score,
                repeated=turn.advice.repeated_question or turn.advice.agent_repeated,
            )
        )

    def note_reply(self, reply: AgentReply) -> None:
        """What the agent did this turn (a fallback, a question it could not answer)."""
        self._fallback = self._fallback or reply.fallback
        self._unanswered = self._unanswered or any(
            call.name == "search_knowledge" and call.success and call.result.get("found") is False
            for call in reply.tool_calls
        )

    def after_reply(self) -> HandoffDecision | None:
        """A decision from what the agent did this turn (None: the call goes on)."""
        fallback, unanswered = self._fallback, self._unanswered
        self._fallback = self._unanswered = False
        return self.watch.after_reply(fallback=fallback, unanswered=unanswered)

    def answers_offer(self, turn: BrainTurn) -> HandoffDecision | None:
        """The caller's answer to an offered person: the decision to transfer on a yes;
        None otherwise (declined, or nothing was offered), and the agent answers."""
        offer, self._offer = self._offer, None
        if offer is None or turn.silence:
            self._offer = offer if turn.silence else None
            return None
        if {turn.understanding.intent, *turn.understanding.also} & _YES:
            return offer
        self._event("declined", offer)
        self.watch.declined()
        return None

    # -- the session's turns ----------------------------------------------------------

    async def take_turn(self, turn: BrainTurn) -> bool:
        """Apply the policy before the agent answers `turn`: True when it took the turn
        (a transfer under way, an offer made, a callback said), the agent then silent."""
        decision = self.answers_offer(turn) or self.before_reply(turn)
        if decision is None:
            return False
        await self._start(decision)
        return True

    async def after_turn(self) -> None:
        """Apply the policy to what the agent just did (a fallback, an unanswered question)."""
        if self.waiting_task is not None:
            return
        decision = self.after_reply()
        if decision is not None:
            await self._start(decision)

    def queue(self, decision: HandoffDecision, *, told: bool) -> None:
        """Transfer in a task of its own, so the caller's words are still transcribed while
        they wait (the session stops the task when the call ends)."""
        if self.waiting_task is None:
            self.waiting_task = asyncio.create_task(
                self.act(decision, told=told), name=f"handoff-{self._record.call_id}"
            )

    async def _start(self, decision: HandoffDecision) -> None:
        if decision.action is HandoffAction.TRANSFER_NOW:
            self.queue(decision, told=False)
        else:
            await self.act(decision)

    # -- acting --------------------------------------------------------------------

    async def act(self, decision: HandoffDecision, *, told: bool = False) -> None:
        """Do what the decision says. `told`: the caller already heard they are being
        put through (the flow's own transfer line)."""
        self._decided_at = datetime.now(UTC)
        self._event("decided", decision)
        if decision.action is HandoffAction.OFFER_TRANSFER:
            self._offer = decision
            self._event("offered", decision)
            await self._say(handoff_line("offer", self._language))
        elif decision.action is HandoffAction.SCHEDULE_CALLBACK:
            await self._callback(decision, line="callback")
        else:
            await self.transfer(decision, told=told)

    async def transfer(self, decision: HandoffDecision, *, told: bool = False) -> None:
        """Queue the call and hold the caller until a person joins or the wait ends."""
        self.watch.settled = True
        self.holding = True  # from now the agent answers nothing
        if self._queue is None:
            await self._say_unless(told, handoff_line("transferring", self._language))
            await self._callback(decision, line="nobody_free")
            return
        try:
            # Queued first, so operators ring while the caller is told.
            self.handoff_id = await self._queue.enqueue(
                decision, self._context(), self._decided_at or datetime.now(UTC)
            )
        except QueueUnavailableError as exc:
            self._record.event(CallEventType.ERROR, where="handoff", detail=str(exc))
            await self._say_unless(told, handoff_line("transferring", self._language))
            await self._callback(decision, line="nobody_free")
            return
        self._event("queued", decision, handoff_id=self.handoff_id, queue=self.policy.queue)
        self._waiting = True
        deadline = time.monotonic() + self.policy.max_wait_s  # the wait counts from here
        await self._say_unless(told, handoff_line("transferring", self._language))
        await self._hold(decision, self.handoff_id, deadline)
        self.holding = False

    async def _hold(self, decision: HandoffDecision, handoff_id: str, deadline: float) -> None:
        queue = self._queue
        assert queue is not None
        every = self.policy.hold_line_every_s
        while not await self._person_joined(min(every, deadline - time.monotonic())):
            if time.monotonic() >= deadline - 0.05:
                break
            await self._say(handoff_line("holding", self._language))
        if self._supervision.joined.is_set():
            await self._connected(decision, handoff_id)
            return
        if not await queue.give_up(handoff_id) and await self._person_joined(LATE_JOIN_S):
            await self._connected(decision, handoff_id)
            return
        self._waiting = False
        self._event("timed_out", decision, handoff_id=handoff_id, waited_ms=self._waited_ms())
        await self._callback(decision, line="nobody_free", handoff_id=handoff_id)

    async def _person_joined(self, within_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._supervision.joined.wait(), max(within_s, 0.0))
        return self._supervision.joined.is_set()

    async def _connected(self, decision: HandoffDecision, handoff_id: str) -> None:
        self._waiting = False
        self.connected_by = self._operator_name()
        if self._record.outcome is None:
            self._record.outcome = CallOutcome.COMPLETED  # a person had the conversation
        self._record.extracted.update(handoff_id=handoff_id, handed_to=self.connected_by)
        self._event(
            "connected",
            decision,
            handoff_id=handoff_id,
            by=self.connected_by,
            waited_ms=self._waited_ms(),
        )
        assert self._queue is not None
        await self._quietly(self._queue.settle(handoff_id, "connected"))

    async def _callback(
        self, decision: HandoffDecision, *, line: str, handoff_id: str | None = None
    ) -> None:
        """A person will call back: scheduled, said, and the call ends."""
        now = datetime.now(self._zone)
        due = now + timedelta(minutes=self.policy.callback_after_min)
        scheduled = False
        if self._queue is not None:
            try:
                await self._queue.schedule_callback(
                    handoff_id, due.astimezone(UTC), decision.reason, self._context()
                )
                scheduled = True
            except QueueUnavailableError as exc:
                self._record.event(CallEventType.ERROR, where="human_callback", detail=str(exc))
        self._record.outcome = CallOutcome.CALLBACK_REQUESTED
        self._record.extracted.update(transfer_failed=True, human_callback=scheduled)
        if scheduled:
            self._record.extracted["callback_at"] = due.isoformat()
            self._event(
                "callback_scheduled", decision, handoff_id=handoff_id, due_at=due.isoformat()
            )
        if scheduled:
            await self._say(
                handoff_line(line, self._language, when=spoken_when(due, now, self._language))
            )
        else:  # nothing stored: no time is promised
            await self._say(handoff_line("no_callback", self._language))
        self._end("agent")

    # -- the call's end --------------------------------------------------------------

    def operator_left(self) -> bool:
        """The operator who had the call hung up: True when the call should end (a
        queued call is the operator's to finish), False when no operator had it."""
        return self.connected_by is not None

    async def close(self) -> None:
        """The call is over: its handoff is settled (ended, or abandoned by the caller)."""
        if self._queue is None or self.handoff_id is None:
            return
        if self.connected_by is not None:
            await self._quietly(self._queue.settle(self.handoff_id, "ended"))
        elif self._waiting:
            self._waiting = False
            self._event("abandoned", None, handoff_id=self.handoff_id, waited_ms=self._waited_ms())
            await self._quietly(self._queue.settle(self.handoff_id, "abandoned"))

    # -- helpers ---------------------------------------------------------------------

    def _context(self) -> HandoffContext:
        turn = self._last_turn
        extracted = self._record.extracted
        promise = (
            {
                "amount": extracted.get("promised_amount"),
                "currency": extracted.get("promised_currency"),
                "date": extracted.get("promised_date"),
            }
            if "promised_amount" in extracted
            else None
        )
        return HandoffContext(
            language=self._language,
            summary=[f"{who}: {text}" for who, text in self._record.transcript[-SUMMARY_LINES:]],
            sentiment=None if turn is None else turn.sentiment.score,
            sentiment_trend=None if turn is None else turn.advice.frustration_trend,
            promise=promise,
        )

    def _operator_name(self) -> str:
        joined = [e for e in self._record.events if e.type == CallEventType.HUMAN_JOINED]
        return str(joined[-1].payload["by"]) if joined else "operator"

    def _waited_ms(self) -> int | None:
        queued = [
            e
            for e in self._record.events
            if e.type == CallEventType.HANDOFF and e.payload.get("stage") == "queued"
        ]
        return int((self._record.elapsed_s() - queued[-1].at) * 1000) if queued else None

    def _event(
        self, stage: str, decision: HandoffDecision | None, **fields: str | int | None
    ) -> None:
        if decision is not None:
            fields.update(
                trigger=decision.trigger.value,
                action=decision.action.value,
                reason=decision.reason,
            )
        self._record.event(CallEventType.HANDOFF, stage=stage, **fields)

    async def _say_unless(self, told: bool, text: str) -> None:
        if not told and not self._supervision.joined.is_set():
            await self._say(text)

    async def _say(self, text: str) -> None:
        """Say a line and wait until it was heard (bounded); a person joining stops a
        holding line at once (a takeover mutes the agent's voice)."""
        await self._speech.say(text, None, None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._speech.wait_idle(), LINE_MAX_S)

    async def _quietly(self, work: Awaitable[None]) -> None:
        """Queue bookkeeping that must never break the call."""
        try:
            await work
        except Exception:
            log.exception("call %s: handoff bookkeeping failed", self._record.call_id)


def transfer_decision(reason: str) -> HandoffDecision:
    """A transfer the agent's brain or a supervisor asked for, as a handoff decision."""
    return HandoffDecision(
        trigger=HandoffTrigger.EXPLICIT_REQUEST, action=HandoffAction.TRANSFER_NOW, reason=reason
    )
