"""Callbacks a person owes: scheduled when nobody was free, due at their time, done."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg.types.json import Jsonb

from centralita.handoff.models import CallbackState, HumanCallback, NewHumanCallback
from centralita.kernel.db import Conn

_COLUMNS = (
    "id::text AS id, call_key, handoff_id::text AS handoff_id, phone, name, reason, context, "
    "due_at, state, operator_id::text AS operator_id, disposition, notes, created_at, settled_at"
)


async def insert(conn: Conn, new: NewHumanCallback) -> HumanCallback:
    """Store the callback; a call that already owes one keeps the first (idempotent)."""
    await conn.execute(
        "INSERT INTO human_callbacks (tenant_id, call_key, handoff_id, phone, name, reason, "
        "context, due_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (call_key) DO NOTHING",
        (
            new.tenant_id,
            new.call_key,
            new.handoff_id,
            new.phone,
            new.name,
            new.reason,
            Jsonb(new.context.model_dump(mode="json")),
            new.due_at,
        ),
    )
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM human_callbacks WHERE call_key = %s", (new.call_key,)
    )
    row = await cur.fetchone()
    assert row is not None
    return HumanCallback.model_validate(row)


async def get(conn: Conn, callback_id: str, tenant_id: str | None = None) -> HumanCallback | None:
    """A callback by id (of `tenant_id` when given: another tenant's is None)."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM human_callbacks WHERE id::text = %s "
        "AND (%s::uuid IS NULL OR tenant_id = %s::uuid)",
        (callback_id, tenant_id, tenant_id),
    )
    row = await cur.fetchone()
    return None if row is None else HumanCallback.model_validate(row)


async def list_callbacks(
    conn: Conn,
    tenant_id: str,
    *,
    states: Sequence[CallbackState] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[HumanCallback]:
    """The tenant's callbacks, soonest due first."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM human_callbacks WHERE tenant_id = %s "
        "AND (%s::text[] IS NULL OR state = ANY(%s::text[])) "
        "ORDER BY due_at, id LIMIT %s OFFSET %s",
        (
            tenant_id,
            None if states is None else list(states),
            None if states is None else list(states),
            limit,
            offset,
        ),
    )
    return [HumanCallback.model_validate(row) for row in await cur.fetchall()]


async def scheduled_of_every_tenant(
    conn: Conn, *, after_id: str | None = None, limit: int = 500
) -> list[tuple[str, HumanCallback]]:
    """Callbacks still `scheduled`, of every tenant, by id from `after_id`: (tenant id,
    callback). The orchestrator's sweep reads them to start workflows that were never
    started; it is the one cross-tenant reader."""
    cur = await conn.execute(
        f"SELECT tenant_id::text AS tenant_id, {_COLUMNS} FROM human_callbacks "
        "WHERE state = 'scheduled' AND (%s::uuid IS NULL OR id > %s::uuid) "
        "ORDER BY id LIMIT %s",
        (after_id, after_id, limit),
    )
    rows = await cur.fetchall()
    return [(row.pop("tenant_id"), HumanCallback.model_validate(row)) for row in rows]


async def mark_due(conn: Conn, callback_id: str) -> bool:
    """A callback's time came: whether it is owed now (False: it was settled already).

    One marked `due` already counts as owed: the activity that marked it may run again
    when its completion was lost.
    """
    cur = await conn.execute(
        "UPDATE human_callbacks SET state = 'due' "
        "WHERE id::text = %s AND state IN ('scheduled', 'due')",
        (callback_id,),
    )
    return cur.rowcount == 1


async def settle(
    conn: Conn,
    tenant_id: str,
    callback_id: str,
    *,
    state: CallbackState,
    operator_id: str | None = None,
    disposition: str | None = None,
    notes: str | None = None,
) -> HumanCallback | None:
    """Mark an open callback `done` or `cancelled`; None when it is not open (or not
    the tenant's)."""
    cur = await conn.execute(
        "UPDATE human_callbacks SET state = %s, operator_id = %s, disposition = %s, notes = %s, "
        "settled_at = now() WHERE tenant_id = %s AND id::text = %s "
        "AND state IN ('scheduled', 'due') RETURNING id::text",
        (state, operator_id, disposition, notes, tenant_id, callback_id),
    )
    row = await cur.fetchone()
    return None if row is None else await get(conn, row["id"], tenant_id)
