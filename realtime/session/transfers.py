"""Handing one call to a person: the human queue, or the leg's carrier.

A call reaches a person in one of two ways. With the agent's handoff policy, through the
human queue: the session's `HandoffDesk` applies the policy to each turn, and every
transfer (the agent's `transfer_to_agent`, a supervisor's) queues the call for an
operator. Without one, through the leg: a phone leg's carrier rings a person (`Transfer`,
`realtime/session/handover.py`), and when nobody takes the call the caller is told and
a callback is what the call leaves; a WebRTC call has nobody to ring and ends as
`transfer`. This is the session's side of both; `CallSession` asks it at each turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from centralita.handoff.policy import HandoffPolicy
from centralita.kernel.call_events import CallEventType
from centralita.kernel.calls import CallOutcome
from realtime.audio.playback import AgentVoiceTrack
from realtime.providers.base import AgentReply, BrainTurn
from realtime.session.handoff_desk import HandoffDesk, transfer_decision
from realtime.session.handover import Transfer, transfer_failed_line, transferring_line
from realtime.session.human_queue import HumanQueue
from realtime.session.record import CallRecord
from realtime.session.speech import AgentSpeech
from realtime.session.supervision import Supervision

log = logging.getLogger(__name__)

# The longest the caller's "putting you through" or "nobody is free" line may play.
LINE_MAX_S = 60.0


class Transfers:
    """Where one call goes when it must reach a person.

    Args:
        policy: the agent's handoff policy (None: transfers go the leg's way).
        end: ends the call, saying how.
        ended: whether the call is over.
    """

    def __init__(
        self,
        *,
        record: CallRecord,
        speech: AgentSpeech,
        voice: AgentVoiceTrack,
        supervision: Supervision,
        language: str,
        timezone: str,
        policy: HandoffPolicy | None,
        end: Callable[[str], None],
        ended: Callable[[], bool],
    ) -> None:
        self._record = record
        self._speech = speech
        self._voice = voice
        self._supervision = supervision
        self._language = language
        self._timezone = timezone
        self._policy = policy
        self._end = end
        self._ended = ended
        # Rings a person (a phone leg's carrier sets it): reason -> whether someone took
        # the call. None: a transfer without a policy ends the call (`ended_by` transfer).
        self.carrier: Transfer | None = None
        # The human queue for this call (the media worker binds one per call).
        self.human_queue: HumanQueue | None = None
        self.desk: HandoffDesk | None = None
        self.handing: asyncio.Task[None] | None = None  # a supervisor's transfer
        # The call is moving off this leg: its audio ending is no hang-up.
        self.leaving_leg = False

    def open_desk(self) -> None:
        """Apply the agent's policy from now on (the call starts; the queue is bound)."""
        if self._policy is None:
            return
        self.desk = HandoffDesk(
            policy=self._policy,
            queue=self.human_queue,
            record=self._record,
            speech=self._speech,
            supervision=self._supervision,
            language=self._language,
            timezone=self._timezone,
            end=self._end,
        )

    @property
    def can_ring(self) -> bool:
        """Whether a transfer reaches someone (the queue, or the leg's carrier)."""
        return self.desk is not None or self.carrier is not None

    @property
    def holding(self) -> bool:
        """Whether a person has the call through the queue, or one is on the way."""
        return self.desk is not None and self.desk.holding

    async def takes_turn(self, turn: BrainTurn) -> bool:
        """Whether the handoff policy took this turn (the agent does not answer it)."""
        return self.desk is not None and await self.desk.take_turn(turn)

    async def after_reply(self) -> None:
        """The handoff policy's say on what the agent just did."""
        if self.desk is not None and not self._ended() and self.handing is None:
            await self.desk.after_turn()

    def note_reply(self, reply: AgentReply) -> None:
        """What the agent decided this turn (the policy watches for fallbacks, repeats)."""
        if self.desk is not None:
            self.desk.note_reply(reply)

    async def agent_transferred(self) -> None:
        """The agent's reply asked for a person: queue the call, or hand it over."""
        if self.desk is not None:
            reason = str(self._record.extracted.get("transfer_reason", "caller_request"))
            if not self._ended():  # a caller who hung up is queued for nobody
                decision = transfer_decision(f"the agent transferred the call ({reason})")
                self.desk.queue(decision, told=True)
        elif self.carrier is not None:
            await self._hand_over()
        else:
            self._end("transfer")

    def supervisor_transfer(self, by: str) -> None:
        """A supervisor's transfer (once): the agent stops, tells the caller, hands over."""
        if self.handing is None and not self._ended():
            self._record.extracted["transfer_reason"] = f"supervisor {by}"
            self.handing = asyncio.create_task(self._supervised())

    def operator_left(self) -> bool:
        """The operator who had the call through the queue left it (the call ends)."""
        return self.desk is not None and self.desk.operator_left()

    @property
    def waiting_task(self) -> asyncio.Task[None] | None:
        """The queued call's wait for an operator, if any (it stops with the call)."""
        return self.desk.waiting_task if self.desk is not None else None

    async def close(self, within_s: float) -> None:
        """Settle the call's handoff, if any (the call is over)."""
        if self.desk is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.desk.close(), within_s)

    async def _supervised(self) -> None:
        self._voice.interrupt()
        if self.desk is not None:
            reason = str(self._record.extracted.get("transfer_reason", "supervisor"))
            await self.desk.act(transfer_decision(reason))
            return
        await self._speech.say(transferring_line(self._language), None, None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._speech.wait_idle(), LINE_MAX_S)
        await self._hand_over()

    async def _hand_over(self) -> None:
        """Give the call to the carrier's person; when nobody takes it, the caller is
        told, and a callback is what the call leaves."""
        self.leaving_leg = True
        reason = str(self._record.extracted.get("transfer_reason", "caller_request"))
        try:
            handed = await self.carrier(reason) if self.carrier is not None else False
        except Exception as exc:  # a carrier's failure is a transfer that did not happen
            log.warning("call %s: transfer failed: %r", self._record.call_id, exc)
            handed = False
        if handed or self._ended():
            self._end("transfer")
            return
        self.leaving_leg = False
        self._record.event(CallEventType.ERROR, where="transfer", detail="nobody took the call")
        self._record.outcome = CallOutcome.CALLBACK_REQUESTED
        self._record.extracted["transfer_failed"] = True
        await self._speech.say(transfer_failed_line(self._language), None, None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._speech.wait_idle(), LINE_MAX_S)
        self._end("agent")
