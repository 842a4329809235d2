"""The call events' vocabulary: every type has a payload model, producers are held to it."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from centralita.kernel.call_events import PAYLOADS, CallEventType, validate_payload
from realtime.session.record import CallEvent, CallRecord, TurnMetrics

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

# The names stored in `call_events` and `live_call_events`, streamed and read by the
# dashboard: renaming one changes the wire format.
WIRE_NAMES = {
    "call_started",
    "call_ended",
    "transcript",
    "correction",
    "sentiment",
    "sentiment_alert",
    "tool_call",
    "interruption",
    "backchannel",
    "transfer",
    "control",
    "human_joined",
    "handoff",
    "human_left",
    "handed_back",
    "turn_completed",
    "dtmf",
    "error",
}

# One payload per type, as its producer writes it today.
GOOD: dict[CallEventType, dict[str, Any]] = {
    CallEventType.CALL_STARTED: {"language": "es"},
    CallEventType.CALL_ENDED: {"ended_by": "agent"},
    CallEventType.TRANSCRIPT: {"speaker": "user", "text": "Sí, con ella.", "final": True},
    CallEventType.CORRECTION: {
        "before": "pague en el vanco",
        "after": "pague en el banco",
        "pairs": [("vanco", "banco")],
    },
    CallEventType.SENTIMENT: {"score": 0.2, "label": "positive"},
    CallEventType.SENTIMENT_ALERT: {"score": -0.8},
    CallEventType.TOOL_CALL: {
        "name": "register_promise",
        "arguments": {"amount": "200000"},
        "result": {"registered": True},
        "success": True,
        "duration_ms": 0.4,
    },
    CallEventType.INTERRUPTION: {"heard": "Gracias", "stop_after_onset_ms": 240},
    CallEventType.BACKCHANNEL: {"text": "Ajá.", "duration_ms": 400},
    CallEventType.TRANSFER: {"to": "human", "by": "ana"},
    CallEventType.CONTROL: {
        "action": "say",
        "by": "ana",
        "message": "Un momento, por favor.",
        "at_utc": "2026-11-27T15:00:00+00:00",
    },
    CallEventType.HUMAN_JOINED: {"by": "ana"},
    CallEventType.HUMAN_LEFT: {"by": "ana"},
    CallEventType.HANDED_BACK: {"by": "ana", "at_utc": "2026-11-27T15:01:00+00:00"},
    CallEventType.HANDOFF: {"stage": "queued", "trigger": "legal", "handoff_id": "h-1"},
    CallEventType.TURN_COMPLETED: {
        "index": 0,
        "user_text": "Sí, con ella.",
        "agent_text": "Gracias, María.",
        "endpointing_ms": 210.0,
        "stt_ms": 480.0,
        "stt_confidence": 0.91,
        "brain_ms": 12.0,
        "tts_first_audio_ms": 95.0,
        "voice_to_voice_ms": 900.0,
        "sentiment": None,
        "interrupted": False,
    },
    CallEventType.DTMF: {"digit": "1"},
    CallEventType.ERROR: {"where": "tts", "detail": "voice failed", "fallback": "espeak-ng"},
}


def test_every_type_has_a_payload_model_and_keeps_its_wire_name() -> None:
    assert set(PAYLOADS) == set(CallEventType)
    assert {t.value for t in CallEventType} == WIRE_NAMES
    assert set(GOOD) == set(CallEventType)


@pytest.mark.parametrize("type_", list(CallEventType))
def test_a_payload_as_produced_is_accepted_and_recorded_as_given(type_: CallEventType) -> None:
    record = CallRecord(call_id="c", language="es")
    event = record.event(type_, **GOOD[type_])
    assert event.type == type_.value
    assert event.payload == GOOD[type_]


def test_the_payload_is_kept_as_the_producer_gave_it() -> None:
    record = CallRecord(call_id="c", language="es")
    interruption = record.event(CallEventType.INTERRUPTION, heard="", stop_after_onset_ms=240)
    correction = record.event(CallEventType.CORRECTION, **GOOD[CallEventType.CORRECTION])
    # Not re-serialised from the model: an int stays an int, pairs stay tuples.
    assert type(interruption.payload["stop_after_onset_ms"]) is int
    assert correction.payload["pairs"] == [("vanco", "banco")]
    # Optional fields left out stay out (the agent's transfer is an empty payload).
    assert record.event(CallEventType.TRANSFER).payload == {}
    assert "fallback" not in record.event(CallEventType.ERROR, where="audio", detail="x").payload


@pytest.mark.parametrize(
    ("type_", "payload"),
    [
        (CallEventType.TRANSCRIPT, {"speaker": "user", "text": "hola"}),  # missing final
        (CallEventType.TRANSCRIPT, {"speaker": "bot", "text": "hola", "final": True}),
        (CallEventType.SENTIMENT_ALERT, {"score": "very low"}),
        (CallEventType.SENTIMENT_ALERT, {"score": -0.8, "reason": "angry"}),  # unknown field
        (CallEventType.TOOL_CALL, {"name": "register_promise", "arguments": {}}),
        (CallEventType.INTERRUPTION, {"heard": "Gra", "stop_after_onset_ms": "240"}),
        (CallEventType.CONTROL, {"action": "sing", "by": "ana", "message": None, "at_utc": ""}),
        (CallEventType.CALL_ENDED, {"by": "agent"}),  # the field is ended_by
        (CallEventType.TURN_COMPLETED, {"index": 0}),
    ],
)
def test_a_producer_with_a_wrong_payload_is_refused_and_nothing_is_recorded(
    type_: CallEventType, payload: dict[str, Any]
) -> None:
    record = CallRecord(call_id="c", language="es")
    told: list[CallEvent] = []
    record.listeners.append(told.append)

    with pytest.raises(ValidationError):
        record.event(type_, **payload)

    assert record.events == []
    assert told == []  # no live view, no webhook heard of it


def test_an_unknown_type_is_refused() -> None:
    record = CallRecord(call_id="c", language="es")
    with pytest.raises(KeyError):
        record.event("barge_in", turn=1)  # type: ignore[arg-type]
    assert record.events == []


def test_completed_turns_carry_exactly_the_turn_completed_fields() -> None:
    record = CallRecord(call_id="c", language="es")
    record.turns.append(TurnMetrics(0, "Sí.", "Gracias.", endpointing_ms=200.0, stt_ms=300))
    record.complete_turns()

    [event] = record.events
    assert event.type == CallEventType.TURN_COMPLETED
    validate_payload(event.type, event.payload)  # every TurnMetrics field, no other


def _event_calls() -> list[tuple[str, ast.Call]]:
    """Every `<something>.event(...)` call in the media plane's code."""
    found = []
    for path in sorted((ROOT / "realtime").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "event"
                and node.args
            ):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return found


def test_every_producer_names_a_type_and_its_fields() -> None:
    """Statically, so producers on paths no test drives (a takeover's error) are held too."""
    calls = _event_calls()
    assert len(calls) >= 20  # the producers are found at all
    produced = set()
    for where, call in calls:
        first = call.args[0]
        assert isinstance(first, ast.Attribute), f"{where}: a bare event type"
        assert isinstance(first.value, ast.Name), where
        assert first.value.id == "CallEventType", where
        type_ = CallEventType[first.attr]
        produced.add(type_)
        if any(k.arg is None for k in call.keywords):  # **payload: checked when it runs
            continue
        fields = PAYLOADS[type_].model_fields
        given = {k.arg for k in call.keywords}
        required = {name for name, f in fields.items() if f.is_required()}
        assert given <= set(fields), f"{where}: unknown fields {given - set(fields)}"
        assert required <= given, f"{where}: missing fields {required - given}"
    assert produced == set(CallEventType)  # every type has a producer, none is dead
