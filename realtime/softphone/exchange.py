"""Where softphones wait for calls: the outbound half of HTTP signalling.

A softphone (a bot, or the browser softphone, `api/static/softphone.html`, through the
API's relay) holds a number by long-polling for its next call. When the agent dials that
number, the exchange hands the agent's SDP offer to the waiting softphone and waits for
its answer (or a rejection, or the ring timeout).
Polling rather than pushing: a browser cannot accept HTTP requests, and a softphone
behind NAT needs no open port.

A number counts as registered while its softphone polls: one poll waiting now, or one
that ended less than `presence_s` ago (the gap between two polls).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from realtime.legs.webrtc import SessionDescription

RejectReason = Literal["busy", "declined"]
_SWEEP_EVERY_S = 60.0


class NotAnsweredError(RuntimeError):
    """Nobody answered within the ring timeout."""


class RejectedError(RuntimeError):
    """The softphone refused the call."""

    def __init__(self, reason: RejectReason) -> None:
        super().__init__(f"call {reason}")
        self.reason: RejectReason = reason


class UnknownCallError(LookupError):
    """No call is ringing under that id (never offered, already answered, or expired)."""


@dataclass(eq=False)
class RingingCall:
    """A call offered to a softphone, waiting for its answer."""

    call_id: str
    to_number: str
    from_number: str
    offer: SessionDescription
    reply: asyncio.Future[SessionDescription] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass(eq=False)
class _Line:
    """One number's softphone: its pending calls and when it last polled."""

    calls: asyncio.Queue[RingingCall] = field(default_factory=asyncio.Queue)
    waiting: int = 0
    last_seen: float = 0.0


class SoftphoneExchange:
    """Numbers held by polling softphones, and the calls offered to them.

    Args:
        presence_s: how long after its last poll a number still counts as registered.
        clock: monotonic time.
    """

    def __init__(
        self, *, presence_s: float = 35.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._presence_s = presence_s
        self._clock = clock
        self._lines: dict[str, _Line] = {}
        self._ringing: dict[str, RingingCall] = {}
        self._swept_at = clock()

    def registered(self, number: str) -> bool:
        """Whether a softphone holds `number` now."""
        line = self._lines.get(number)
        if line is None:
            return False
        return line.waiting > 0 or self._clock() - line.last_seen <= self._presence_s

    async def next_call(self, number: str, wait_s: float) -> RingingCall | None:
        """The next call to `number`, waiting up to `wait_s` for one (a long poll)."""
        if self._clock() - self._swept_at > _SWEEP_EVERY_S:
            self._swept_at = self._clock()
            self.forget_idle()
        line = self._lines.setdefault(number, _Line())
        line.waiting += 1
        line.last_seen = self._clock()
        try:
            while True:
                try:
                    call = await asyncio.wait_for(line.calls.get(), wait_s)
                except TimeoutError:
                    return None
                if not call.reply.done():  # skip calls the caller gave up on meanwhile
                    return call
        finally:
            line.waiting -= 1
            line.last_seen = self._clock()

    async def ring(self, call: RingingCall, ring_timeout_s: float) -> SessionDescription:
        """Offer `call` to its number's softphone; its answer.

        Raises:
            NotAnsweredError: no answer within `ring_timeout_s`.
            RejectedError: the softphone refused (busy, declined).
        """
        line = self._lines.setdefault(call.to_number, _Line())
        self._ringing[call.call_id] = call
        line.calls.put_nowait(call)
        try:
            return await asyncio.wait_for(asyncio.shield(call.reply), ring_timeout_s)
        except TimeoutError as exc:
            raise NotAnsweredError(f"no answer from {call.to_number}") from exc
        finally:
            self._ringing.pop(call.call_id, None)
            if not call.reply.done():
                call.reply.cancel()  # a late answer finds no call

    def answer(self, call_id: str, answer: SessionDescription) -> None:
        """The softphone picks up with its SDP answer.

        Raises:
            UnknownCallError: no call is ringing under `call_id`.
        """
        self._settle(call_id).set_result(answer)

    def reject(self, call_id: str, reason: RejectReason) -> None:
        """The softphone refuses the call.

        Raises:
            UnknownCallError: no call is ringing under `call_id`.
        """
        self._settle(call_id).set_exception(RejectedError(reason))

    def _settle(self, call_id: str) -> asyncio.Future[SessionDescription]:
        call = self._ringing.get(call_id)
        if call is None or call.reply.done():
            raise UnknownCallError(f"no call ringing under {call_id!r}")
        return call.reply

    def forget_idle(self) -> None:
        """Drop numbers whose softphones stopped polling (bounded memory)."""
        for number in [n for n in self._lines if not self.registered(n)]:
            if self._lines[number].calls.empty():
                del self._lines[number]
