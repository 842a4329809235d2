"""Storing a finished call: its row in `calls`, its turns and its events.

Written by the media worker when a conversation ends, keyed by the attempt's
idempotency key: a retried dial that joins the same call stores it once. The same
transaction records the `call_ended` webhook event (once per call key), so subscribers
hear of a call exactly when it is stored. An inbound caller who asked not to be called
again is opted out in that transaction too (an outbound one is, by its attempt).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict
from datetime import datetime, timedelta

from psycopg import OperationalError
from psycopg.types.json import Jsonb

from centralita.campaigns.store import opt_outs
from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from centralita.kernel.db import Conn, Pool
from centralita.kernel.events import call_subject, emit, event_id
from centralita.kernel.privacy import mask_phone
from centralita.telephony.numbers import InvalidNumberError, to_e164
from centralita.tenants.store.call_owners import call_key_tenant
from realtime.session.record import CallRecord
from realtime.store.call_events import call_ended_data

log = logging.getLogger(__name__)

# How long a finished call waits for Postgres to come back before it is given up (and
# logged): a restart or a failover takes seconds; the media worker holds the call's
# record in memory meanwhile.
STORE_PATIENCE_S = 60.0


async def save_call(
    pool: Pool,
    request: DialRequest,
    record: CallRecord,
    result: DialResult,
    *,
    direction: str = "outbound",
    from_number: str | None = None,
) -> str:
    """Insert (or find) the call of `request.idempotency_key` with its turns and events.

    An inbound call has no attempt: `request.to_number` is the agent's number and
    `from_number` the caller's.

    Returns:
        The call's id.
    """
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT id::text AS id, tenant_id::text AS tenant_id, "
            "campaign_id::text AS campaign_id, contact_id::text AS contact_id "
            "FROM call_attempts WHERE attempt_key = %s",
            (request.idempotency_key,),
        )
        attempt = await cur.fetchone()
        # An inbound call's tenant is the one its key names (a routed phone number's),
        # else the default tenant (`centralita.tenants.store.call_owners`).
        if attempt is None and (stored := await _stored_inbound(conn, request.idempotency_key)):
            return stored
        tenant = (
            attempt["tenant_id"]
            if attempt
            else await call_key_tenant(conn, request.idempotency_key)
        )
        cur = await conn.execute(
            "INSERT INTO calls (tenant_id, attempt_id, direction, from_number, to_number, "
            "status, started_at, answered_at, ended_at, duration_s, outcome, "
            "disconnection_reason, recording_path, usage, cost, metadata) "
            "VALUES (%s::uuid, %s::uuid, %s, %s, %s, 'ended', %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s) "
            "ON CONFLICT (attempt_id) DO UPDATE SET ended_at = EXCLUDED.ended_at "
            "RETURNING id::text AS id, (xmax = 0) AS inserted",
            (
                tenant,
                attempt["id"] if attempt else None,
                direction,
                from_number,
                request.to_number,
                result.started_at,
                result.answered_at,
                result.ended_at,
                result.duration_s,
                result.outcome.value,
                result.disconnection_reason,
                record.recording_path,
                Jsonb(result.cost_breakdown),
                result.cost,
                Jsonb(
                    {
                        "idempotency_key": request.idempotency_key,
                        "agent": request.agent,
                        "language": record.language,
                        "timezone": record.timezone,
                        "phone_masked": mask_phone(request.to_number),
                    }
                ),
            ),
        )
        row = await cur.fetchone()
        assert row is not None
        call_id = str(row["id"])
        if row["inserted"]:
            await _insert_turns(conn, call_id, record)
            await _insert_events(conn, call_id, record, result.started_at)
            data = call_ended_data(
                call_key=request.idempotency_key,
                call_id=call_id,
                record=record,
                result=result,
                direction=direction,
                number=from_number if direction == "inbound" else request.to_number,
                agent=request.agent,
                campaign_id=attempt["campaign_id"] if attempt else None,
                contact_id=attempt["contact_id"] if attempt else None,
            )
            await emit(
                conn,
                event_id=event_id("call_ended", request.idempotency_key),
                tenant_id=tenant,
                type="call_ended",
                data=data,
                call_id=call_id,
                subject=call_subject(request.idempotency_key),
                occurred_at=result.ended_at,
            )
            if direction == "inbound" and result.outcome is CallOutcome.OPT_OUT:
                await _opt_out_caller(conn, tenant, request.idempotency_key, result, from_number)
    return call_id


async def _stored_inbound(conn: Conn, call_key: str) -> str | None:
    """The id of the call already stored under `call_key`, for a call with no attempt.

    An attempt's call is found again by the unique `attempt_id` (the upsert below); an
    inbound call has none, so a retried store would otherwise insert it a second time.
    A call key is stored by the one call that holds it, so no two stores race here.
    """
    cur = await conn.execute(
        "SELECT id::text AS id FROM calls WHERE metadata->>'idempotency_key' = %s "
        "AND attempt_id IS NULL",
        (call_key,),
    )
    row = await cur.fetchone()
    return None if row is None else str(row["id"])


async def _opt_out_caller(
    conn: Conn, tenant_id: str, call_key: str, result: DialResult, from_number: str | None
) -> None:
    """Opt the inbound caller's number out, with its `opt_out` event, as an outbound call's.

    Only when the call row is new: a retried store adds nothing (and `opt_outs.add`
    records its event only for a number not already out). A withheld or malformed
    caller id has no number to stop calling: logged, the call stays stored.
    """
    try:
        phone = to_e164(from_number or "")
    except InvalidNumberError:
        log.warning("inbound call %s asked to opt out with no usable caller number", call_key)
        return
    await opt_outs.add(
        conn,
        tenant_id,
        phone,
        reason=str(result.extracted.get("opt_out_reason") or "asked during an inbound call"),
        source="inbound_call",
        at=result.ended_at,
        call_key=call_key,
    )


async def save_call_retrying(
    pool: Pool,
    request: DialRequest,
    record: CallRecord,
    result: DialResult,
    *,
    direction: str = "outbound",
    from_number: str | None = None,
    patience_s: float = STORE_PATIENCE_S,
) -> str:
    """`save_call`, tried again while Postgres cannot be reached, for up to `patience_s`.

    A call that ends while Postgres restarts would otherwise lose its row, turns and
    events for good: nothing else holds them. Retrying is safe because `save_call` is
    idempotent (a commit whose answer was lost is found again, not stored twice).

    Raises:
        psycopg.OperationalError: Postgres still unreachable after `patience_s`.
    """
    deadline = time.monotonic() + patience_s
    delay = 0.2
    while True:
        try:
            # Bounded: waiting for a pool connection alone could outlast the patience.
            async with asyncio.timeout(max(deadline - time.monotonic(), 0.1)):
                return await save_call(
                    pool, request, record, result, direction=direction, from_number=from_number
                )
        except (OperationalError, TimeoutError) as exc:  # the server, not the data
            if time.monotonic() + delay > deadline:
                raise OperationalError(
                    f"call {request.idempotency_key} not stored in {patience_s:.0f} s: {exc}"
                ) from exc
            log.warning(
                "call %s not stored yet (retrying in %.1f s): %s",
                request.idempotency_key,
                delay,
                exc,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _insert_turns(conn: Conn, call_id: str, record: CallRecord) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO call_turns (call_id, turn_index, user_text, agent_text, "
            "endpointing_ms, stt_ms, brain_ms, tts_first_audio_ms, voice_to_voice_ms, "
            "sentiment, interrupted, stt_confidence) "
            "VALUES (%s::uuid, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (call_id, turn_index) DO NOTHING",
            [
                (
                    call_id,
                    t.index,
                    t.user_text,
                    t.agent_text,
                    t.endpointing_ms,
                    t.stt_ms,
                    t.brain_ms,
                    t.tts_first_audio_ms,
                    t.voice_to_voice_ms,
                    t.sentiment,
                    t.interrupted,
                    t.stt_confidence,
                )
                for t in record.turns
            ],
        )


async def _insert_events(
    conn: Conn, call_id: str, record: CallRecord, started_at: datetime
) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO call_events (call_id, seq, type, payload, created_at) "
            "VALUES (%s::uuid, %s, %s, %s, %s) ON CONFLICT (call_id, seq) DO NOTHING",
            [
                (
                    call_id,
                    e.seq,
                    str(e.type),
                    Jsonb(asdict(e)["payload"]),
                    started_at + timedelta(seconds=e.at),
                )
                for e in record.events
            ],
        )
