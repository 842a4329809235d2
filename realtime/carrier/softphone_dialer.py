"""Dialling a number held by a softphone: the agent's offer over HTTP signalling.

The dial activity asks the media worker to call a number. When a softphone holds that
number (it polls the exchange), the agent's leg offers the call to it and the
conversation runs over WebRTC once it answers. Numbers no softphone holds go to the
fallback carrier (the simulated one in dev and tests, a SIP trunk in production).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from centralita.kernel.calls import CallOutcome, Dialer, DialRequest, DialResult
from realtime.carrier.carrier_calls import RecoveringDialer
from realtime.conversation_line import ConversationLine
from realtime.legs.webrtc import SessionDescription
from realtime.softphone.exchange import (
    NotAnsweredError,
    RejectedError,
    RingingCall,
    SoftphoneExchange,
)

log = logging.getLogger(__name__)


class NoRouteError(RuntimeError):
    """No softphone holds the number and there is no carrier to fall back on."""


class SoftphoneDialer:
    """A `Dialer` that rings softphones through the exchange, others through `fallback`.

    Args:
        exchange: where softphones wait for calls.
        line: holds the conversation once a softphone answered.
        fallback: dials numbers no softphone holds; without one they fail.
        ring_timeout_s: how long a softphone may ring before the call is `no_answer`.
        caller_id: the number the softphone sees calling.
    """

    def __init__(
        self,
        exchange: SoftphoneExchange,
        line: ConversationLine,
        *,
        fallback: Dialer | None = None,
        ring_timeout_s: float = 30.0,
        caller_id: str = "centralita",
    ) -> None:
        self._exchange = exchange
        self._line = line
        self._fallback = fallback
        self._ring_timeout_s = ring_timeout_s
        self._caller_id = caller_id

    async def recover(self, request: DialRequest, rang_at: datetime) -> DialResult | None:
        """A lost ring's call as its carrier knows it (`RecoveringDialer`): the
        fallback's, when it is a real carrier; a softphone's call is rung again."""
        if self._exchange.registered(request.to_number):
            return None
        if isinstance(self._fallback, RecoveringDialer):
            return await self._fallback.recover(request, rang_at)
        return None

    async def dial(self, request: DialRequest) -> DialResult:
        """Ring the softphone that holds the number, or hand the call to the fallback.

        Raises:
            NoRouteError: no softphone holds the number and there is no fallback.
        """
        if not self._exchange.registered(request.to_number):
            if self._fallback is None:
                raise NoRouteError(f"no softphone holds {request.to_number}")
            return await self._fallback.dial(request)
        started = datetime.now(UTC)

        async def softphone_answers(offer: SessionDescription) -> SessionDescription:
            ringing = RingingCall(
                call_id=request.idempotency_key,
                to_number=request.to_number,
                from_number=self._caller_id,
                offer=offer,
            )
            return await self._exchange.ring(ringing, self._ring_timeout_s)

        try:
            return await self._line.connect(request, started, softphone_answers)
        except NotAnsweredError:
            return DialResult.unanswered(CallOutcome.NO_ANSWER, "no_answer", started)
        except RejectedError as exc:
            outcome = CallOutcome.BUSY if exc.reason == "busy" else CallOutcome.NO_ANSWER
            return DialResult.unanswered(outcome, exc.reason, started)
        except (ConnectionError, ValueError) as exc:
            # A bad answer or a connection that never came up: the line failed, not the
            # person; the campaign's retry rules for `failed` apply.
            log.warning("call %s failed to connect: %s", request.idempotency_key, exc)
            return DialResult.unanswered(CallOutcome.FAILED, f"media_error: {exc}"[:200], started)
