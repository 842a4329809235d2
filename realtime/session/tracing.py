"""A call's spans in the media worker: the call, each turn, and each turn's stt, brain, tts.

The call span is the child of whatever brought the call here (the carrier request the
dial activity sent, with its `traceparent`, or a softphone's inbound offer), so the
conversation sits in the trace of the campaign that dialled it. Each user turn is a
`turn` span under it, with `stt` (waiting for the transcript), `brain` (until its first
words) and `tts` (the first sentence's synthesis until its first audio) as children.
Each stage span carries the latency `TurnMetrics` measured for it in
`centralita.latency_ms`, and the turn span carries all of the turn's figures, so a
trace viewer shows where the time of a slow turn went without reading `call_turns`.

The turn span is current while the turn runs, so what the turn starts (the brain's
tools, the reply's task) is filed under it. Nothing here waits on anything: a span is a
few objects, and while no exporter is registered they are non-recording.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Final

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from centralita.kernel.calls import DialRequest, DialResult
from centralita.kernel.telemetry import tracer
from realtime.session.record import CallRecord, TurnMetrics

CALL_KEY: Final = "centralita.call_key"
CAMPAIGN_ID: Final = "centralita.campaign_id"
TURN_INDEX: Final = "centralita.turn_index"
LATENCY_MS: Final = "centralita.latency_ms"
# The turn's figures, as `call_turns` stores them.
TURN_FIGURES: Final = (
    "endpointing_ms",
    "stt_ms",
    "brain_ms",
    "tts_first_audio_ms",
    "voice_to_voice_ms",
    "stt_confidence",
    "sentiment",
)


@contextlib.contextmanager
def call_span(request: DialRequest, direction: str) -> Iterator[Span]:
    """The span of one conversation, current for the block."""
    attributes: dict[str, str | int] = {
        CALL_KEY: request.idempotency_key,
        "centralita.call.direction": direction,
    }
    if request.campaign_id:  # inbound calls belong to no campaign
        attributes[CAMPAIGN_ID] = request.campaign_id
        attributes["centralita.contact_id"] = request.contact_id
        attributes["centralita.attempt_number"] = request.attempt_number
    if request.agent:
        attributes["centralita.agent"] = request.agent
    with tracer().start_as_current_span("call", attributes=attributes) as span:
        yield span


def call_ended(span: Span, record: CallRecord, result: DialResult) -> None:
    """What the call came to, on its span."""
    span.set_attributes(
        {
            "centralita.call.outcome": result.outcome.value,
            "centralita.call.ended_by": record.ended_by or "ended",
            "centralita.call.turns": len(record.turns),
            "centralita.call.duration_ms": round(record.usage.call_s * 1000, 1),
            "centralita.call.language": record.language,
        }
    )


@contextlib.contextmanager
def turn_span(call_key: str, metrics: TurnMetrics) -> Iterator[Span]:
    """One user turn's span, current for the block; it ends with the turn's figures."""
    span = tracer().start_span("turn", attributes={CALL_KEY: call_key, TURN_INDEX: metrics.index})
    try:
        with trace.use_span(span, record_exception=False, set_status_on_exception=False):
            yield span
    except asyncio.CancelledError:
        span.set_attribute("centralita.turn.cancelled", True)  # the call ended mid-turn
        raise
    except Exception as exc:
        _failed(span, exc)
        raise
    finally:
        for name in TURN_FIGURES:
            value = getattr(metrics, name)
            if value is not None:
                span.set_attribute(f"centralita.turn.{name}", round(float(value), 3))
        span.set_attribute("centralita.turn.interrupted", metrics.interrupted)
        span.end()


def start_stage(name: str, turn: TurnMetrics | None) -> Span | None:
    """A stage of `turn` (stt, brain, tts) begins: its span, a child of the turn's.

    None when there is no turn to time (the greeting, a supervisor's line).
    """
    if turn is None:
        return None
    return tracer().start_span(name, attributes={TURN_INDEX: turn.index})


def end_stage(span: Span | None, turn: TurnMetrics | None, figure: str) -> None:
    """The stage is over: its span ends with the latency measured into `figure`."""
    if span is None or turn is None or not span.is_recording():
        return
    latency = getattr(turn, figure)
    if latency is not None:
        span.set_attribute(LATENCY_MS, round(float(latency), 3))
    span.end()


@contextlib.contextmanager
def stage(name: str, turn: TurnMetrics | None, figure: str) -> Iterator[None]:
    """A stage of `turn` timed by the block, whose latency the block measures into `figure`."""
    span = start_stage(name, turn)
    try:
        yield
    except Exception as exc:
        if span is not None:
            _failed(span, exc)
        raise
    finally:
        end_stage(span, turn, figure)


def _failed(span: Span, exc: Exception) -> None:
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
