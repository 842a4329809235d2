"""Calls record their webhook events once: the live batch, and call_ended with the stored call.

Real Postgres. Each producer also runs a second time (a re-flushed batch, a re-stored
call) to show it records nothing twice. The whole-call order (call_started ...
turn_completed ... call_ended) over a real WebRTC call is in
tests/e2e/test_call_webhook_events.py; stores, the campaign and the post-call analysis
are in test_event_producers_stores.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from centralita.kernel.call_events import CallEventType
from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from centralita.kernel.db import Pool
from centralita.kernel.events import call_subject, event_id
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.session.record import CallRecord, TurnMetrics
from realtime.store.call_events import CallFacts
from realtime.store.calls import save_call
from realtime.store.live_events import LiveEvents
from tests.support.events import AGENT, dialling_attempt, subject_events
from tests.support.stored_calls import PHONE, insert_campaign

pytestmark = pytest.mark.integration

CALLER = "+56998765432"


def _turn(
    index: int,
    user: str,
    agent: str,
    latencies: tuple[float | None, ...],
    **more: Any,
) -> TurnMetrics:
    """A turn with its (endpointing, STT, brain, TTS, voice-to-voice) milliseconds."""
    endpointing, stt, brain, tts, v2v = latencies
    return TurnMetrics(
        index=index,
        user_text=user,
        agent_text=agent,
        endpointing_ms=endpointing,
        stt_ms=stt,
        stt_confidence=0.9,
        brain_ms=brain,
        tts_first_audio_ms=tts,
        voice_to_voice_ms=v2v,
        **more,
    )


def _live_call(live: LiveEvents, key: str) -> CallRecord:
    record = CallRecord(call_id=key, language="es")
    record.listeners.append(lambda e: live.publish(key, e))
    return record


# -- the live path -------------------------------------------------------------------


async def test_live_events_become_webhook_events_once_in_their_batch(pool: Pool) -> None:
    campaign_id = await insert_campaign(pool, "live")
    key, contact_id = await dialling_attempt(pool, campaign_id)
    live = LiveEvents(pool, flush_s=60)  # flushed by hand
    live.open_call(key, CallFacts(direction="outbound", number=PHONE, agent=AGENT))
    record = _live_call(live, key)
    before = datetime.now(UTC)

    record.event(CallEventType.CALL_STARTED, language="es")
    record.event(CallEventType.TRANSCRIPT, speaker="user", text="Sí, con ella.", final=True)
    record.turns.append(
        _turn(0, "Sí, con ella.", "Gracias, María.", (210.0, 480.0, 12.0, 95.0, 900.0))
    )
    record.event(CallEventType.SENTIMENT_ALERT, score=-0.8)
    record.event(CallEventType.INTERRUPTION, heard="Gracias", stop_after_onset_ms=240)
    record.turns[0].interrupted = True
    record.complete_turns()  # the next turn begins
    record.event(
        CallEventType.TOOL_CALL,
        name="register_promise",
        arguments={"amount": "200000", "currency": "CLP", "pay_date": "2026-11-27"},
        result={"registered": True},
        success=True,
        duration_ms=0.4,
    )
    record.event(
        CallEventType.TOOL_CALL,
        name="schedule_callback",
        arguments={"callback_at": "ayer"},
        result={"error": "invalid_arguments"},
        success=False,  # a failed tool tells subscribers nothing
        duration_ms=0.1,
    )
    record.event(
        CallEventType.TOOL_CALL,
        name="send_payment_link",
        arguments={"amount": "200000", "currency": "CLP", "channel": "sms"},
        result={"link_id": "plink_1", "channel": "sms", "sent": True},
        success=True,
        duration_ms=0.2,
    )
    for _ in range(3):  # a broken stream reports every frame: subscribers hear it once
        record.event(CallEventType.ERROR, where="audio", detail="corrupt frame")
    record.event(CallEventType.ERROR, where="tts", detail="voice failed", fallback="espeak-ng")
    record.event(CallEventType.TRANSFER, to="human", by="ana")
    record.turns.append(TurnMetrics(1, "Adiós.", ""))
    record.complete_turns()  # the call ends
    record.event(CallEventType.CALL_ENDED, ended_by="agent")
    assert await live.flush() == len(record.events)

    for event in record.events:  # the same batch again (a flush retried after a blip)
        live.publish(key, event)
    await live.flush()
    await live.close()

    events = await subject_events(pool, call_subject(key))
    assert [e["type"] for e in events] == [
        "call_started",
        "sentiment_alert",
        "interruption",
        "turn_completed",
        "promise_registered",
        "payment_link_requested",
        "error",
        "error",
        "transfer_requested",
        "turn_completed",
    ]
    assert {(e["tenant_id"], e["call_id"], e["campaign_id"]) for e in events} == {
        (DEFAULT_TENANT_ID, None, None)  # the call is stored (and gets an id) when it ends
    }
    stamps = [e["occurred_at"] for e in events]
    assert stamps == sorted(stamps)
    assert before <= stamps[0] <= datetime.now(UTC)
    by_type = {e["type"]: e for e in reversed(events)}  # the first of each type
    links = {"call_key": key, "call_id": None, "campaign_id": campaign_id, "contact_id": contact_id}
    assert by_type["call_started"]["id"] == event_id("call_started", key)
    assert by_type["call_started"]["payload"] == links | {
        "direction": "outbound",
        "phone": PHONE,
        "agent": AGENT,
        "language": "es",
    }
    assert by_type["turn_completed"]["id"] == event_id("turn_completed", key, 0)
    assert by_type["turn_completed"]["payload"] == links | {
        "turn_index": 0,
        "user_text": "Sí, con ella.",
        "agent_text": "Gracias, María.",
        "interrupted": True,  # the barge-in came before the turn was reported
        "sentiment": None,
        "stt_confidence": 0.9,
        "endpointing_ms": 210.0,
        "stt_ms": 480.0,
        "brain_ms": 12.0,
        "tts_first_audio_ms": 95.0,
        "voice_to_voice_ms": 900.0,
    }
    assert by_type["promise_registered"]["payload"] == links | {
        "amount": 200000,
        "currency": "CLP",
        "pay_date": "2026-11-27",
        "source": "call",
    }
    assert by_type["payment_link_requested"]["payload"] == links | {
        "link_id": "plink_1",
        "channel": "sms",
        "amount": 200000,
        "currency": "CLP",
        "source": "call",
    }
    assert by_type["interruption"]["payload"] == links | {
        "heard": "Gracias",
        "stop_after_onset_ms": 240,
    }
    assert by_type["sentiment_alert"]["payload"] == links | {"score": -0.8}
    assert by_type["transfer_requested"]["payload"] == links | {"to": "human", "by": "ana"}
    assert [e["payload"]["where"] for e in events if e["type"] == "error"] == ["audio", "tts"]


async def test_an_inbound_call_is_the_default_tenant_s_and_carries_the_caller(
    pool: Pool,
) -> None:
    key = f"inbound-{uuid.uuid4()}"
    live = LiveEvents(pool, flush_s=60)
    live.open_call(key, CallFacts(direction="inbound", number=CALLER, agent=AGENT))
    record = _live_call(live, key)
    record.event(CallEventType.CALL_STARTED, language="es")
    record.event(CallEventType.CALL_ENDED, ended_by="remote_hangup")
    await live.close()

    [started] = await subject_events(pool, call_subject(key))
    assert started["tenant_id"] == DEFAULT_TENANT_ID
    assert started["payload"]["direction"] == "inbound"
    assert started["payload"]["phone"] == CALLER
    assert started["payload"]["campaign_id"] is None


async def test_a_webhook_event_that_cannot_be_recorded_costs_no_live_row(
    pool: Pool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> bool:
        raise ValueError("a defect in the webhook event code")

    monkeypatch.setattr("realtime.store.live_events.emit", broken)
    key = f"inbound-{uuid.uuid4()}"
    live = LiveEvents(pool, flush_s=60)
    live.open_call(key, CallFacts(direction="inbound", number=CALLER, agent=AGENT))
    record = _live_call(live, key)
    record.event(CallEventType.CALL_STARTED, language="es")
    record.event(CallEventType.TRANSCRIPT, speaker="user", text="¿Aló?", final=True)

    assert await live.flush() == 2  # written: the live view and the call go on
    await live.close()
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) AS n FROM live_call_events WHERE call_key = %s", (key,)
        )
        row = await cur.fetchone()
    assert row is not None
    assert row["n"] == 2
    assert await subject_events(pool, call_subject(key)) == []
    assert "webhook events of 1 live events not recorded" in caplog.text
    assert CALLER not in caplog.text


# -- storing the call ------------------------------------------------------------------


async def test_storing_a_call_records_call_ended_once_with_its_figures(pool: Pool) -> None:
    campaign_id = await insert_campaign(pool, "stored")
    key, contact_id = await dialling_attempt(pool, campaign_id)
    record = CallRecord(call_id=key, language="es", ended_by="agent")
    record.turns = [
        _turn(0, "Sí.", "Gracias.", (200.0, 400.0, 10.0, 100.0, 800.0), sentiment=0.5),
        _turn(1, "El viernes.", "Anotado.", (300.0, 600.0, 30.0, None, 1000.0), sentiment=-0.1),
        TurnMetrics(index=2, agent_text="¿Sigue ahí?", interrupted=True),  # nothing measured
    ]
    record.event(CallEventType.INTERRUPTION, heard="¿Sigue", stop_after_onset_ms=200)
    started = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    request = DialRequest(
        idempotency_key=key,
        to_number=PHONE,
        campaign_id=campaign_id,
        contact_id=contact_id,
        attempt_number=1,
        agent=AGENT,
    )
    result = DialResult(
        outcome=CallOutcome.PROMISE_TO_PAY,
        disconnection_reason="agent",
        started_at=started,
        answered_at=started + timedelta(seconds=3),
        ended_at=started + timedelta(seconds=45),
        duration_s=42.0,
        extracted={"promised_amount": 200000},
        cost=0.0123,
        cost_breakdown={"call_s": 42.0, "call_cost": 0.0123},
    )

    call_id = await save_call(pool, request, record, result)
    assert await save_call(pool, request, record, result) == call_id  # a retried dial

    [ended] = await subject_events(pool, call_subject(key))
    assert ended["id"] == event_id("call_ended", key)
    assert (ended["type"], ended["call_id"], ended["tenant_id"]) == (
        "call_ended",
        call_id,
        DEFAULT_TENANT_ID,
    )
    assert ended["occurred_at"] == result.ended_at
    assert ended["payload"] == {
        "call_key": key,
        "call_id": call_id,
        "campaign_id": campaign_id,
        "contact_id": contact_id,
        "direction": "outbound",
        "phone": PHONE,
        "agent": AGENT,
        "language": "es",
        "started_at": started.isoformat(),
        "answered_at": (started + timedelta(seconds=3)).isoformat(),
        "ended_at": (started + timedelta(seconds=45)).isoformat(),
        "duration_s": 42.0,
        "outcome": "promise_to_pay",
        "ended_by": "agent",
        "disconnection_reason": "agent",
        "turns": 3,
        # Averages over the turns that measured them: (200+300)/2, (400+600)/2, ...
        "avg_endpointing_ms": 250.0,
        "avg_stt_ms": 500.0,
        "avg_brain_ms": 20.0,
        "avg_tts_first_audio_ms": 100.0,
        "avg_voice_to_voice_ms": 900.0,
        "avg_sentiment": 0.2,
        "interruptions": 1,
        "interrupted_turns": 1,
        "cost": 0.0123,
        "cost_breakdown": {"call_s": 42.0, "call_cost": 0.0123},
        "extracted": {"promised_amount": 200000},
    }


# -- opt-outs --------------------------------------------------------------------------
