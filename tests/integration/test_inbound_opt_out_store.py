"""Storing an inbound call whose caller opted out opts the number out, once (real Postgres).

The whole path, a real WebRTC call to an agent's number, is in
tests/e2e/test_inbound_opt_out.py; here the store is retried, and fed caller ids that
are no number, which a real softphone call does not give.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from centralita.kernel.db import Pool
from centralita.kernel.events import call_subject
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.session.record import CallRecord
from realtime.store.calls import save_call
from tests.support.events import AGENT, subject_events
from tests.support.stored_calls import insert_campaign

pytestmark = pytest.mark.integration

AGENT_NUMBER = "+56229990000"
STARTED = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


def _inbound(outcome: CallOutcome, **extracted: Any) -> tuple[DialRequest, DialResult]:
    request = DialRequest(
        idempotency_key=f"inbound-{uuid.uuid4()}",
        to_number=AGENT_NUMBER,
        campaign_id="",
        contact_id="",
        attempt_number=1,
        agent=AGENT,
    )
    result = DialResult(
        outcome=outcome,
        disconnection_reason="remote_hangup",
        started_at=STARTED,
        answered_at=STARTED,
        ended_at=STARTED + timedelta(seconds=20),
        duration_s=20.0,
        extracted=extracted,
    )
    return request, result


async def _opt_outs(pool: Pool, phone: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT tenant_id::text AS tenant_id, reason, source FROM opt_outs WHERE phone = %s",
            (phone,),
        )
        return [dict(r) for r in await cur.fetchall()]


async def _contact_with(pool: Pool, phone: str) -> str:
    campaign_id = await insert_campaign(pool, "inbound-opt-out")
    contact_id = str(uuid.uuid4())
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO contacts (id, tenant_id, campaign_id, position, name, phones) "
            "VALUES (%s, %s, %s, 0, 'María', %s)",
            (contact_id, DEFAULT_TENANT_ID, campaign_id, [phone]),
        )
    return contact_id


async def _contact_state(pool: Pool, contact_id: str) -> str:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT state FROM contacts WHERE id = %s", (contact_id,))
        row = await cur.fetchone()
    assert row is not None
    return str(row["state"])


async def test_a_retried_store_opts_the_caller_out_once(pool: Pool) -> None:
    caller = "+56961115501"
    contact_id = await _contact_with(pool, caller)
    request, result = _inbound(CallOutcome.OPT_OUT, opt_out_reason="ya pagué")
    record = CallRecord(call_id=request.idempotency_key, language="es")

    call_id = await save_call(
        pool, request, record, result, direction="inbound", from_number=caller
    )
    again = await save_call(pool, request, record, result, direction="inbound", from_number=caller)

    assert again == call_id
    assert await _opt_outs(pool, caller) == [
        {"tenant_id": DEFAULT_TENANT_ID, "reason": "ya pagué", "source": "inbound_call"}
    ]
    events = await subject_events(pool, call_subject(request.idempotency_key))
    [opt_out] = [e for e in events if e["type"] == "opt_out"]
    assert opt_out["tenant_id"] == DEFAULT_TENANT_ID
    assert opt_out["payload"]["phone"] == caller
    assert opt_out["payload"]["source"] == "inbound_call"
    assert opt_out["payload"]["call_key"] == request.idempotency_key
    assert await _contact_state(pool, contact_id) == "opted_out"


async def test_a_caller_id_in_national_form_is_stored_in_e164(pool: Pool) -> None:
    request, result = _inbound(CallOutcome.OPT_OUT)
    record = CallRecord(call_id=request.idempotency_key, language="es")
    await save_call(
        pool, request, record, result, direction="inbound", from_number="+56 9 6111 5502"
    )
    assert await _opt_outs(pool, "+56961115502") == [
        {
            "tenant_id": DEFAULT_TENANT_ID,
            "reason": "asked during an inbound call",
            "source": "inbound_call",
        }
    ]


async def test_a_withheld_caller_id_stores_the_call_and_opts_nothing_out(
    pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    request, result = _inbound(CallOutcome.OPT_OUT)
    record = CallRecord(call_id=request.idempotency_key, language="es")
    caplog.set_level(logging.WARNING)

    await save_call(pool, request, record, result, direction="inbound", from_number="anonymous")

    assert await _opt_outs(pool, "anonymous") == []
    events = await subject_events(pool, call_subject(request.idempotency_key))
    assert [e["type"] for e in events] == ["call_ended"]
    assert "no usable caller number" in caplog.text
