"""Stores, the campaign and the post-call analysis record their webhook events once.

Real Postgres; the campaign and the analysis run on real Temporal. Each producer also
runs a second time (a repeated opt-out, a re-run campaign step, a re-analysis) to show
it records nothing twice. Calls' own events are in test_event_producers_calls.py.
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
from centralita.campaigns.messages import AttemptRecord, CampaignStatus
from centralita.campaigns.policy import CampaignPolicy
from centralita.campaigns.store import opt_outs
from centralita.campaigns.store.campaigns import set_campaign_status
from centralita.kernel.call_events import CallEventType
from centralita.kernel.calls import CallOutcome, ContactState, DialRequest, DialResult
from centralita.kernel.db import Pool
from centralita.kernel.events import call_subject, campaign_subject, event_id
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.postcall.messages import PostCallInput
from realtime.providers.whisper import WhisperSTT
from realtime.session.record import CallRecord, TurnMetrics
from realtime.store.calls import save_call
from tests.support.campaigns import (
    ALWAYS_OPEN,
    Population,
    instant_carrier,
    new_campaign,
    run_campaign,
    step,
)
from tests.support.events import AGENT, dialling_attempt, subject_events
from tests.support.stored_calls import PHONE, insert_campaign, store_answered_call
from workers.post_call import build_post_call_worker
from workflows.post_call import PostCallWorkflow, post_call_workflow_id

pytestmark = pytest.mark.integration


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

    campaign_events = await subject_events(pool, campaign_subject(campaign_id))
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
    [callback] = await subject_events(pool, call_subject(callback_key))
    assert callback["type"] == "callback_scheduled"
    data = callback["payload"]
    assert data["source"] == "campaign"
    assert data["call_id"] is None  # the carrier held this call: nothing was stored here
    assert data["contact_id"] == attempts[("callback", 1)]["contact_id"]
    asked = datetime.fromisoformat(data["callback_at"])
    assert asked - callback["occurred_at"] == timedelta(minutes=90)
    assert datetime.fromisoformat(data["next_attempt_at"]) >= asked

    [promised] = await subject_events(pool, call_subject(attempts[("payer", 1)]["attempt_key"]))
    assert promised["type"] == "promise_registered"
    assert {k: promised["payload"][k] for k in ("amount", "currency", "pay_date", "source")} == {
        "amount": 150000,
        "currency": "CLP",
        "pay_date": "2026-12-01",
        "source": "call_result",
    }
    [opted] = await subject_events(pool, call_subject(attempts[("refuser", 1)]["attempt_key"]))
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
        for e in await subject_events(pool, call_subject(stored.key))
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
    key, contact_id = await dialling_attempt(pool, campaign_id)
    record = CallRecord(call_id=key, language="es")
    for index, (user, agent) in enumerate(PROMISING):
        record.turns.append(TurnMetrics(index, user, agent, stt_confidence=0.9))
    record.event(
        CallEventType.TOOL_CALL,
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

    types = [e["type"] for e in await subject_events(pool, call_subject(key))]
    assert types == ["call_ended", "call_analyzed"]  # the live path told of the promise
