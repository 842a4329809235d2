"""Every webhook event is recorded by the code that knows it happened, once, in its transaction.

Real Postgres throughout; the campaign and the post-call analysis run on real Temporal.
Each producer is also run a second time (a re-flushed batch, a re-stored call, a retried
activity, a re-analysis) to show it records nothing twice. The whole-call order
(call_started ... turn_completed ... call_ended) over a real WebRTC call is in
tests/e2e/test_call_webhook_events.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.attempts import record_result
from centralita.db import Pool
from centralita.events import call_subject, campaign_subject, event_id
from centralita.store import DEFAULT_TENANT_ID, opt_outs
from centralita.store.campaigns import set_campaign_status
from realtime.call_record import CallRecord, TurnMetrics
from realtime.call_store import save_call
from realtime.call_webhook_events import CallFacts
from realtime.live_events import LiveEvents
from realtime.providers.whisper import WhisperSTT
from tests.integration.engine_helpers import (
    ALWAYS_OPEN,
    Population,
    instant_carrier,
    new_campaign,
    run_campaign,
    step,
)
from tests.stored_calls import PHONE, insert_campaign, store_answered_call
from workers.post_call import build_post_call_worker
from workflows.campaign_policy import CampaignPolicy
from workflows.models import (
    AttemptRecord,
    CallOutcome,
    CampaignStatus,
    ContactState,
    DialRequest,
    DialResult,
)
from workflows.post_call import PostCallWorkflow, post_call_workflow_id
from workflows.post_call_models import PostCallInput

pytestmark = pytest.mark.integration

AGENT = "cobranza-temprana"
CALLER = "+56998765432"


async def _events(pool: Pool, subject: str) -> list[dict[str, Any]]:
    """The outbox rows of one subject, in seq order."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, type, tenant_id::text AS tenant_id, call_id::text AS call_id, "
            "campaign_id::text AS campaign_id, subject, payload, occurred_at, seq "
            "FROM domain_events WHERE subject = %s ORDER BY seq",
            (subject,),
        )
        return [dict(r) for r in await cur.fetchall()]


async def _attempt(pool: Pool, campaign_id: str) -> tuple[str, str]:
    """A contact of `campaign_id` being dialled: (attempt key, contact id)."""
    contact_id = str(uuid.uuid4())
    key = f"campaign-{campaign_id}-contact-{contact_id}-attempt-1"
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO contacts (id, tenant_id, campaign_id, position, name, phones) "
            "VALUES (%s, %s, %s, 0, 'María', %s)",
            (contact_id, DEFAULT_TENANT_ID, campaign_id, [PHONE]),
        )
        await conn.execute(
            "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, agent, status) VALUES (%s, %s, %s, %s, 1, %s, %s, 'dialing')",
            (key, DEFAULT_TENANT_ID, campaign_id, contact_id, PHONE, AGENT),
        )
    return key, contact_id


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
    key, contact_id = await _attempt(pool, campaign_id)
    live = LiveEvents(pool, flush_s=60)  # flushed by hand
    live.open_call(key, CallFacts(direction="outbound", number=PHONE, agent=AGENT))
    record = _live_call(live, key)
    before = datetime.now(UTC)

    record.event("call_started", language="es")
    record.event("transcript", speaker="user", text="Sí, con ella.", final=True)
    record.turns.append(
        _turn(0, "Sí, con ella.", "Gracias, María.", (210.0, 480.0, 12.0, 95.0, 900.0))
    )
    record.event("sentiment_alert", score=-0.8)
    record.event("interruption", heard="Gracias", stop_after_onset_ms=240)
    record.turns[0].interrupted = True
    record.complete_turns()  # the next turn begins
    record.event(
        "tool_call",
        name="register_promise",
        arguments={"amount": "200000", "currency": "CLP", "pay_date": "2026-11-27"},
        result={"registered": True},
        success=True,
        duration_ms=0.4,
    )
    record.event(
        "tool_call",
        name="schedule_callback",
        arguments={"callback_at": "ayer"},
        result={"error": "invalid_arguments"},
        success=False,  # a failed tool tells subscribers nothing
        duration_ms=0.1,
    )
    record.event(
        "tool_call",
        name="send_payment_link",
        arguments={"amount": "200000", "currency": "CLP", "channel": "sms"},
        result={"link_id": "plink_1", "channel": "sms", "sent": True},
        success=True,
        duration_ms=0.2,
    )
    for _ in range(3):  # a broken stream reports every frame: subscribers hear it once
        record.event("error", where="audio", detail="corrupt frame")
    record.event("error", where="tts", detail="voice failed", fallback="espeak-ng")
    record.event("transfer", to="human", by="ana")
    record.turns.append(TurnMetrics(1, "Adiós.", ""))
    record.complete_turns()  # the call ends
    record.event("call_ended", ended_by="agent")
    assert await live.flush() == len(record.events)

    for event in record.events:  # the same batch again (a flush retried after a blip)
        live.publish(key, event)
    await live.flush()
    await live.close()

    events = await _events(pool, call_subject(key))
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
    record.event("call_started", language="es")
    record.event("call_ended", ended_by="remote_hangup")
    await live.close()

    [started] = await _events(pool, call_subject(key))
    assert started["tenant_id"] == DEFAULT_TENANT_ID
    assert started["payload"]["direction"] == "inbound"
    assert started["payload"]["phone"] == CALLER
    assert started["payload"]["campaign_id"] is None


async def test_a_webhook_event_that_cannot_be_recorded_costs_no_live_row(
    pool: Pool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> bool:
        raise ValueError("a defect in the webhook event code")

    monkeypatch.setattr("realtime.live_events.emit", broken)
    key = f"inbound-{uuid.uuid4()}"
    live = LiveEvents(pool, flush_s=60)
    live.open_call(key, CallFacts(direction="inbound", number=CALLER, agent=AGENT))
    record = _live_call(live, key)
    record.event("call_started", language="es")
    record.event("transcript", speaker="user", text="¿Aló?", final=True)

    assert await live.flush() == 2  # written: the live view and the call go on
    await live.close()
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) AS n FROM live_call_events WHERE call_key = %s", (key,)
        )
        row = await cur.fetchone()
    assert row is not None
    assert row["n"] == 2
    assert await _events(pool, call_subject(key)) == []
    assert "webhook events of 1 live events not recorded" in caplog.text
    assert CALLER not in caplog.text


# -- storing the call ------------------------------------------------------------------


async def test_storing_a_call_records_call_ended_once_with_its_figures(pool: Pool) -> None:
    campaign_id = await insert_campaign(pool, "stored")
    key, contact_id = await _attempt(pool, campaign_id)
    record = CallRecord(call_id=key, language="es", ended_by="agent")
    record.turns = [
        _turn(0, "Sí.", "Gracias.", (200.0, 400.0, 10.0, 100.0, 800.0), sentiment=0.5),
        _turn(1, "El viernes.", "Anotado.", (300.0, 600.0, 30.0, None, 1000.0), sentiment=-0.1),
        TurnMetrics(index=2, agent_text="¿Sigue ahí?", interrupted=True),  # nothing measured
    ]
    record.event("interruption", heard="¿Sigue", stop_after_onset_ms=200)
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

    [ended] = await _events(pool, call_subject(key))
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


async def _opt_out(pool: Pool, phone: str, at: datetime, **kwargs: Any) -> list[str]:
    async with pool.connection() as conn, conn.transaction():
        return await opt_outs.add(conn, DEFAULT_TENANT_ID, phone, at=at, **kwargs)


async def test_an_opt_out_is_announced_when_recorded_and_not_when_repeated(pool: Pool) -> None:
    phone = "+56990000001"
    first = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    await _opt_out(pool, phone, first, reason="no more calls", source="api")
    await _opt_out(pool, phone, first + timedelta(minutes=5), reason="again", source="api")
    async with pool.connection() as conn:
        await opt_outs.remove(conn, DEFAULT_TENANT_ID, phone)
    await _opt_out(
        pool, phone, first + timedelta(days=1), reason=None, source="call", call_key="k1"
    )

    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, subject, payload, occurred_at FROM domain_events "
            "WHERE type = 'opt_out' AND payload->>'phone' = %s ORDER BY seq",
            (phone,),
        )
        events = [dict(r) for r in await cur.fetchall()]
    assert [e["payload"]["source"] for e in events] == ["api", "call"]  # lifted, asked again
    assert events[0]["id"] == event_id("opt_out", DEFAULT_TENANT_ID, phone, first.isoformat())
    assert events[0]["subject"] is None
    assert events[0]["occurred_at"] == first
    assert events[0]["payload"] == {
        "phone": phone,
        "reason": "no more calls",
        "source": "api",
        "call_key": None,
        "opted_out_at": first.isoformat(),
        "campaigns_affected": [],
    }
    assert events[1]["subject"] == call_subject("k1")  # in order with that call's events


# -- the campaign (real Temporal) ------------------------------------------------------


async def test_a_campaign_announces_its_start_end_callbacks_promises_and_opt_outs(
    time_skipping_env: WorkflowEnvironment, pool: Pool
) -> None:
    people = Population()
    people.add(
        "callback",
        1,
        [
            step(CallOutcome.CALLBACK_REQUESTED, callback_in_minutes=90),
            step(CallOutcome.COMPLETED),
        ],
    )
    promise = {"promised_amount": 150000, "promised_currency": "CLP", "promised_date": "2026-12-01"}
    people.add("payer", 1, [step(CallOutcome.PROMISE_TO_PAY, extracted=promise)])
    people.add("refuser", 1, [step(CallOutcome.OPT_OUT)])
    campaign_id = await new_campaign(pool, people, CampaignPolicy.model_validate(ALWAYS_OPEN))
    await run_campaign(
        time_skipping_env.client, pool, campaign_id, instant_carrier(people.personas)
    )

    campaign_events = await _events(pool, campaign_subject(campaign_id))
    assert [e["type"] for e in campaign_events] == ["campaign_started", "campaign_completed"]
    started, completed = campaign_events
    assert started["id"] == event_id("campaign_started", campaign_id)
    assert started["campaign_id"] == campaign_id
    assert started["payload"]["contacts"] == 3
    assert completed["payload"]["contacts_by_state"] == {"done": 2, "opted_out": 1}
    assert completed["payload"]["attempts"] == 4
    assert completed["payload"]["outcomes"] == {
        "callback_requested": 1,
        "completed": 1,
        "opt_out": 1,
        "promise_to_pay": 1,
    }
    assert completed["occurred_at"] >= started["occurred_at"]

    attempts = await _attempt_rows(pool, campaign_id)
    callback_key = attempts[("callback", 1)]["attempt_key"]
    [callback] = await _events(pool, call_subject(callback_key))
    assert callback["type"] == "callback_scheduled"
    data = callback["payload"]
    assert data["source"] == "campaign"
    assert data["call_id"] is None  # the carrier held this call: nothing was stored here
    assert data["contact_id"] == attempts[("callback", 1)]["contact_id"]
    asked = datetime.fromisoformat(data["callback_at"])
    assert asked - callback["occurred_at"] == timedelta(minutes=90)
    assert datetime.fromisoformat(data["next_attempt_at"]) >= asked

    [promised] = await _events(pool, call_subject(attempts[("payer", 1)]["attempt_key"]))
    assert promised["type"] == "promise_registered"
    assert {k: promised["payload"][k] for k in ("amount", "currency", "pay_date", "source")} == {
        "amount": 150000,
        "currency": "CLP",
        "pay_date": "2026-12-01",
        "source": "call_result",
    }
    [opted] = await _events(pool, call_subject(attempts[("refuser", 1)]["attempt_key"]))
    assert opted["type"] == "opt_out"
    assert opted["payload"]["source"] == "call"

    # Every producer again, as a retried activity would run it: nothing new.
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM domain_events")
        before = await cur.fetchone()
    for status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.COMPLETED):
        assert await set_campaign_status(pool, campaign_id, status)
    callback_row, payer_row = attempts[("callback", 1)], attempts[("payer", 1)]
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(  # back to the state the first run found it in
            "UPDATE contacts SET state = 'in_progress' WHERE id = %s::uuid",
            (callback_row["contact_id"],),
        )
        again = await record_result(conn, AttemptRecord(**callback_row["record"]))
        assert again.state is ContactState.RETRY_SCHEDULED  # the callback decided again
        await record_result(conn, AttemptRecord(**payer_row["record"]))
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM domain_events")
        after = await cur.fetchone()
    assert after == before


async def _attempt_rows(pool: Pool, campaign_id: str) -> dict[tuple[str, int], dict[str, Any]]:
    """Each attempt by (contact kind, attempt number), with what record_result was given."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT split_part(c.name, '-', 1) AS kind, a.attempt_number, a.attempt_key, "
            "a.contact_id::text AS contact_id, a.outcome, a.started_at, a.answered_at, "
            "a.ended_at, a.duration_s, a.extracted, a.disconnection_reason "
            "FROM call_attempts a JOIN contacts c ON c.id = a.contact_id "
            "WHERE a.campaign_id = %s::uuid",
            (campaign_id,),
        )
        rows = await cur.fetchall()
    return {
        (r["kind"], r["attempt_number"]): {
            "attempt_key": r["attempt_key"],
            "contact_id": r["contact_id"],
            "record": {
                "attempt_key": r["attempt_key"],
                "now": r["ended_at"],
                "result": DialResult(
                    outcome=CallOutcome(r["outcome"]),
                    disconnection_reason=r["disconnection_reason"] or "",
                    started_at=r["started_at"],
                    answered_at=r["answered_at"],
                    ended_at=r["ended_at"],
                    duration_s=r["duration_s"] or 0.0,
                    extracted=r["extracted"],
                ),
            },
        }
        for r in rows
    }


# -- after the call (real Temporal) ----------------------------------------------------

STARTED = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # a Monday: "el viernes" is the 27th
PROMISING = [
    ("Sí, con ella habla.", "Gracias, María. Le llamo por su deuda."),
    ("Le puedo pagar doscientos mil pesos el viernes.", "Perfecto, queda registrado."),
]


@pytest.fixture
async def post_call(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[Worker]:
    queue = f"post-call-{uuid.uuid4().hex[:8]}"
    async with build_post_call_worker(dev_env.client, queue, pool, stt=WhisperSTT()) as worker:
        yield worker


async def _analyse(env: WorkflowEnvironment, worker: Worker, key: str, run: str) -> None:
    await env.client.execute_workflow(
        PostCallWorkflow.run,
        PostCallInput(call_key=key),
        id=f"{post_call_workflow_id(key)}-{run}",
        task_queue=worker.task_queue,
    )


async def test_the_analysis_announces_a_promise_no_tool_registered_once(
    dev_env: WorkflowEnvironment, post_call: Worker, pool: Pool
) -> None:
    campaign_id = await insert_campaign(pool, "analysed")
    stored = await store_answered_call(pool, campaign_id, PROMISING, started=STARTED)
    await _analyse(dev_env, post_call, stored.key, "first")
    await _analyse(dev_env, post_call, stored.key, "again")  # a re-analysis

    promises = [
        e
        for e in await _events(pool, call_subject(stored.key))
        if e["type"] == "promise_registered"
    ]
    assert [e["id"] for e in promises] == [event_id("promise_registered", stored.key)]
    assert promises[0]["call_id"] == stored.call_id
    assert promises[0]["payload"] == {
        "call_key": stored.key,
        "call_id": stored.call_id,
        "campaign_id": campaign_id,
        "contact_id": stored.contact_id,
        "amount": 200000,
        "currency": "CLP",
        "pay_date": "2026-11-27",
        "source": "analysis",
    }


async def test_the_analysis_stays_quiet_about_a_promise_a_tool_already_reported(
    dev_env: WorkflowEnvironment, post_call: Worker, pool: Pool
) -> None:
    campaign_id = await insert_campaign(pool, "registered")
    key, contact_id = await _attempt(pool, campaign_id)
    record = CallRecord(call_id=key, language="es")
    for index, (user, agent) in enumerate(PROMISING):
        record.turns.append(TurnMetrics(index, user, agent, stt_confidence=0.9))
    record.event(
        "tool_call",
        name="register_promise",
        arguments={"amount": "200000", "currency": "CLP", "pay_date": "2026-11-27"},
        result={"registered": True},
        success=True,
        duration_ms=0.3,
    )
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
        started_at=STARTED,
        ended_at=STARTED + timedelta(seconds=30),
        duration_s=30.0,
    )
    await save_call(pool, request, record, result)
    await _analyse(dev_env, post_call, key, "first")

    types = [e["type"] for e in await _events(pool, call_subject(key))]
    assert types == ["call_ended", "call_analyzed"]  # the live path told of the promise
