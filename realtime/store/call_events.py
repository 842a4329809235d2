"""What a call tells webhook subscribers: its live events as webhook events, and its end.

Pure decisions, no I/O. The media worker's live path (`realtime/store/live_events.py`) records
the webhook events of a batch in the transaction that writes the batch's live rows;
`realtime/store/calls.py` records `call_ended` in the transaction that stores the call.
Ids come from what identifies the occurrence (the call key and the live event's
position, or its turn), so a batch written again after a failed flush, or a call stored
twice, records nothing twice. The event catalogue is `docs/webhook-events.md`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from centralita.kernel.call_events import CallEventType
from centralita.kernel.calls import DialRequest, DialResult
from centralita.kernel.events import EventType, event_id
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.session.record import CallEvent, CallRecord, TurnMetrics

log = logging.getLogger(__name__)

# The turn figures a turn_completed carries, and that call_ended averages.
TURN_LATENCIES = (
    "endpointing_ms",
    "stt_ms",
    "brain_ms",
    "tts_first_audio_ms",
    "voice_to_voice_ms",
)


@dataclass(frozen=True)
class CallFacts:
    """Who a live call is with, told by the line when it starts (`LiveEvents.open_call`)."""

    direction: str  # "outbound" or "inbound"
    number: str | None  # the contact's number: who was called, or who called in
    agent: str | None


@dataclass(frozen=True)
class LiveCall:
    """A call under way, as its webhook events need it."""

    call_key: str
    tenant_id: str = DEFAULT_TENANT_ID
    campaign_id: str | None = None
    contact_id: str | None = None
    facts: CallFacts | None = None

    def base(self) -> dict[str, Any]:
        """The fields every live call event's data starts with (no call row yet)."""
        return {
            "call_key": self.call_key,
            "call_id": None,  # the call is stored (and gets its id) when it ends
            "campaign_id": self.campaign_id,
            "contact_id": self.contact_id,
        }


@dataclass(frozen=True)
class Outgoing:
    """One webhook event to record."""

    id: str
    type: EventType
    data: dict[str, Any]


def live_call(call_key: str, attempt: dict[str, Any] | None, facts: CallFacts | None) -> LiveCall:
    """The live call of `call_key` from its attempt row (none for inbound calls) and facts.

    Without an attempt the call belongs to the default tenant, as `save_call` stores it.
    """
    if attempt is None:
        return LiveCall(call_key=call_key, facts=facts)
    if facts is None:  # a line that did not say: the attempt knows who was dialled
        facts = CallFacts(direction="outbound", number=attempt.get("phone"), agent=None)
    return LiveCall(
        call_key=call_key,
        tenant_id=str(attempt["tenant_id"]),
        campaign_id=attempt.get("campaign_id"),
        contact_id=attempt.get("contact_id"),
        facts=facts,
    )


def call_facts(request: DialRequest, direction: str, from_number: str | None) -> CallFacts:
    """The facts of a call the line is placing (outbound) or answering (inbound)."""
    number = from_number if direction == "inbound" else request.to_number
    return CallFacts(direction=direction, number=number, agent=request.agent)


def is_webhook_source(event: CallEvent) -> bool:
    """Whether a live event may become a webhook event (cheap: decides by type only)."""
    return event.type in _MAPPERS


def webhook_events(call: LiveCall, event: CallEvent) -> list[Outgoing]:
    """The webhook events one live call event becomes (usually none or one).

    Never raises: a payload this code does not understand is logged (type and key only:
    payloads may hold personal data) and skipped, because a call must not pay for it.
    """
    mapper = _MAPPERS.get(event.type)
    if mapper is None:
        return []
    try:
        return [_jsonable(out) for out in mapper(call, event)]
    except Exception:
        log.exception("live event %s of call %s not mapped to a webhook", event.type, call.call_key)
        return []


def call_ended_data(
    *,
    call_key: str,
    call_id: str,
    record: CallRecord,
    result: DialResult,
    direction: str,
    number: str | None,
    agent: str | None,
    campaign_id: str | None,
    contact_id: str | None,
) -> dict[str, Any]:
    """`call_ended`'s data: who, how it ended, and the call's figures."""
    turns = record.turns
    data = {
        "call_key": call_key,
        "call_id": call_id,
        "campaign_id": campaign_id,
        "contact_id": contact_id,
        "direction": direction,
        "phone": number,
        "agent": agent,
        "language": record.language,
        "started_at": result.started_at.isoformat(),
        "answered_at": result.answered_at.isoformat() if result.answered_at else None,
        "ended_at": result.ended_at.isoformat(),
        "duration_s": round(result.duration_s, 3),
        "outcome": result.outcome.value,
        "ended_by": record.ended_by or None,
        "disconnection_reason": result.disconnection_reason,
        "turns": len(turns),
        **{f"avg_{name}": _mean(turns, name) for name in TURN_LATENCIES},
        "avg_sentiment": _mean(turns, "sentiment", digits=3),
        "interruptions": sum(1 for e in record.events if e.type == CallEventType.INTERRUPTION),
        "interrupted_turns": sum(1 for t in turns if t.interrupted),
        "cost": result.cost,
        "cost_breakdown": result.cost_breakdown,
        "extracted": result.extracted,
    }
    return _plain(data)  # a value JSON cannot take must not cost the stored call


def _mean(turns: Iterable[TurnMetrics], name: str, *, digits: int = 1) -> float | None:
    """Mean over the turns that measured it (None when none did, never a zero)."""
    values = [v for v in (getattr(t, name) for t in turns) if v is not None]
    return round(sum(values) / len(values), digits) if values else None


# -- live event -> webhook event ----------------------------------------------------


def _call_started(call: LiveCall, event: CallEvent) -> list[Outgoing]:
    facts = call.facts
    data = call.base() | {
        "direction": facts.direction if facts else None,
        "phone": facts.number if facts else None,
        "agent": facts.agent if facts else None,
        "language": event.payload.get("language"),
    }
    return [Outgoing(event_id("call_started", call.call_key), "call_started", data)]


def _turn_completed(call: LiveCall, event: CallEvent) -> list[Outgoing]:
    p = event.payload
    index = int(p["index"])
    data = call.base() | {
        "turn_index": index,
        "user_text": p.get("user_text", ""),
        "agent_text": p.get("agent_text", ""),
        "interrupted": bool(p.get("interrupted")),
        "sentiment": p.get("sentiment"),
        "stt_confidence": p.get("stt_confidence"),
        **{name: p.get(name) for name in TURN_LATENCIES},
    }
    return [Outgoing(event_id("turn_completed", call.call_key, index), "turn_completed", data)]


def _interruption(call: LiveCall, event: CallEvent) -> list[Outgoing]:
    data = call.base() | {
        "heard": event.payload.get("heard", ""),
        "stop_after_onset_ms": event.payload.get("stop_after_onset_ms"),
    }
    return [Outgoing(event_id("interruption", call.call_key, event.seq), "interruption", data)]


def _transfer(call: LiveCall, event: CallEvent) -> list[Outgoing]:
    data = call.base() | {
        "to": event.payload.get("to", "human"),
        "by": event.payload.get("by"),  # the supervisor who took it; None: the agent
    }
    eid = event_id("transfer_requested", call.call_key, event.seq)
    return [Outgoing(eid, "transfer_requested", data)]


def _sentiment_alert(call: LiveCall, event: CallEvent) -> list[Outgoing]:
    data = call.base() | {"score": event.payload.get("score")}
    return [
        Outgoing(event_id("sentiment_alert", call.call_key, event.seq), "sentiment_alert", data)
    ]


def _error(call: LiveCall, event: CallEvent) -> list[Outgoing]:
    # Once per call and kind: a broken audio stream reports every 20 ms frame, and a
    # subscriber wants to hear that the call had audio trouble, not fifty times a second.
    where = str(event.payload.get("where", "unknown"))
    data = call.base() | {
        "where": where,
        "detail": event.payload.get("detail"),
        "fallback": event.payload.get("fallback"),
    }
    return [Outgoing(event_id("error", call.call_key, where), "error", data)]


def _tool_call(call: LiveCall, event: CallEvent) -> list[Outgoing]:
    """A tool that succeeded and that subscribers hear of (promise, callback, link)."""
    p = event.payload
    if not p.get("success"):
        return []
    builder = _TOOLS.get(str(p.get("name")))
    if builder is None:
        return []
    type_, fields = builder(p.get("arguments") or {}, p.get("result") or {})
    data = call.base() | fields | {"source": "call"}
    return [Outgoing(event_id(type_, call.call_key, event.seq), type_, data)]


def _promise(args: dict[str, Any], result: dict[str, Any]) -> tuple[EventType, dict[str, Any]]:
    return "promise_registered", {
        "amount": _amount(args.get("amount")),
        "currency": args.get("currency"),
        "pay_date": args.get("pay_date"),
    }


def _callback(args: dict[str, Any], result: dict[str, Any]) -> tuple[EventType, dict[str, Any]]:
    return "callback_scheduled", {
        "callback_at": args.get("callback_at"),
        "reason": args.get("reason"),
        "next_attempt_at": None,  # the campaign decides it once the call has ended
    }


def _payment_link(args: dict[str, Any], result: dict[str, Any]) -> tuple[EventType, dict[str, Any]]:
    return "payment_link_requested", {
        "link_id": result.get("link_id"),
        "channel": result.get("channel", args.get("channel", "sms")),
        "amount": _amount(args.get("amount")),
        "currency": args.get("currency"),
    }


def _amount(value: Any) -> Any:
    """A tool's amount as a number (flows pass rendered text: "200000")."""
    if value is None or isinstance(value, bool):
        return value
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return value  # the tool accepted it; the subscriber gets it as it was
    if not amount.is_finite():
        return str(value)
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _jsonable(out: Outgoing) -> Outgoing:
    return Outgoing(out.id, out.type, _plain(out.data))


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Data as JSON (and Postgres jsonb) will take it, settled before the write.

    Dates become ISO text, decimals numbers, anything else unknown its text, and a
    non-finite float null (jsonb refuses NaN): nothing here can fail the transaction.
    """
    return {str(k): _json_value(v) for k, v in data.items()}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return _amount(value)
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_value(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


_ToolBuilder = Callable[[dict[str, Any], dict[str, Any]], tuple[EventType, dict[str, Any]]]
_TOOLS: dict[str, _ToolBuilder] = {
    "register_promise": _promise,
    "schedule_callback": _callback,
    "send_payment_link": _payment_link,
}
# The live events subscribers hear of (the others stay in the live view and the call).
_MAPPERS: dict[CallEventType, Callable[[LiveCall, CallEvent], list[Outgoing]]] = {
    CallEventType.CALL_STARTED: _call_started,
    CallEventType.TURN_COMPLETED: _turn_completed,
    CallEventType.INTERRUPTION: _interruption,
    CallEventType.TRANSFER: _transfer,
    CallEventType.SENTIMENT_ALERT: _sentiment_alert,
    CallEventType.ERROR: _error,
    CallEventType.TOOL_CALL: _tool_call,
}
