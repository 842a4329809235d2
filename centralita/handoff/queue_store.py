"""The human queue in Postgres: calls waiting for a person, claimed one at a time.

Every state change is one UPDATE whose WHERE names the state it leaves, so a call is
claimed by one operator only, and a call that timed out is never claimed (the media
worker's `give_up` and an operator's `claim_next` race on the same row; one wins).
The table's trigger NOTIFYs `handoffs` with the tenant's id on every change.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg.types.json import Jsonb

from centralita.handoff.models import Handoff, HandoffState, NewHandoff
from centralita.kernel.db import Conn

CHANNEL = "handoffs"

_COLUMNS = (
    "h.id::text AS id, h.call_key, h.queue, h.trigger, h.reason, h.priority, h.state, "
    "h.context, h.max_wait_s, h.decided_at, h.created_at, h.operator_id::text AS operator_id, "
    "o.name AS operator_name, h.answered_at, h.connected_at, h.settled_at, h.disposition, "
    "h.notes, h.wrapped_up_at"
)
_FROM = "handoffs h LEFT JOIN operators o ON o.id = h.operator_id"


async def listen(conn: Conn) -> None:
    """LISTEN for queue changes on `conn` (notices carry the tenant's id)."""
    await conn.execute(f"LISTEN {CHANNEL}")


async def insert(conn: Conn, new: NewHandoff) -> Handoff:
    """Queue a call; a call already waiting (or with a person) keeps its handoff."""
    cur = await conn.execute(
        "INSERT INTO handoffs (tenant_id, call_key, queue, trigger, reason, priority, context, "
        "max_wait_s, decided_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (call_key) WHERE state IN ('waiting', 'answered', 'connected') "
        "DO NOTHING RETURNING id::text",
        (
            new.tenant_id,
            new.call_key,
            new.queue,
            new.trigger,
            new.reason,
            new.priority,
            Jsonb(new.context.model_dump(mode="json")),
            new.max_wait_s,
            new.decided_at,
        ),
    )
    row = await cur.fetchone()
    if row is None:
        open_one = await open_for_call(conn, new.call_key)
        assert open_one is not None  # the conflict was this call's open handoff
        return open_one
    stored = await get(conn, new.tenant_id, row["id"])
    assert stored is not None
    return stored


async def get(conn: Conn, tenant_id: str, handoff_id: str) -> Handoff | None:
    """The tenant's handoff, or None (another tenant's is None too)."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE h.tenant_id = %s AND h.id::text = %s",
        (tenant_id, handoff_id),
    )
    row = await cur.fetchone()
    return None if row is None else Handoff.model_validate(row)


async def open_for_call(conn: Conn, call_key: str) -> Handoff | None:
    """The call's handoff still waiting or with a person, if any."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE h.call_key = %s "
        "AND h.state IN ('waiting', 'answered', 'connected')",
        (call_key,),
    )
    row = await cur.fetchone()
    return None if row is None else Handoff.model_validate(row)


async def claim_next(
    conn: Conn, tenant_id: str, operator_id: str, queues: Sequence[str]
) -> Handoff | None:
    """The next waiting call of `queues` (priority, then the longest wait), now the
    operator's; None when nobody waits. Two operators never get the same call."""
    cur = await conn.execute(
        "UPDATE handoffs SET state = 'answered', operator_id = %s, answered_at = now() "
        "WHERE id = (SELECT id FROM handoffs WHERE tenant_id = %s AND state = 'waiting' "
        "AND queue = ANY(%s) ORDER BY priority DESC, created_at LIMIT 1 "
        "FOR UPDATE SKIP LOCKED) AND state = 'waiting' RETURNING id::text",
        (operator_id, tenant_id, list(queues)),
    )
    row = await cur.fetchone()
    return None if row is None else await get(conn, tenant_id, row["id"])


async def move(
    conn: Conn, handoff_id: str, to: HandoffState, *, leaving: Sequence[HandoffState]
) -> bool:
    """Move a handoff to `to` if it is in one of `leaving`; whether it moved.

    `connected` stamps `connected_at`; a final state (`ended`, `timed_out`,
    `abandoned`) stamps `settled_at`; back to `waiting` forgets the operator.
    """
    stamp = {
        "connected": ", connected_at = now()",
        "answered": ", answered_at = now()",
        # Back in the queue it is nobody's call: the next operator's claim sets both.
        "waiting": ", operator_id = NULL, answered_at = NULL",
    }.get(to, ", settled_at = now()" if to in ("ended", "timed_out", "abandoned") else "")
    cur = await conn.execute(
        f"UPDATE handoffs SET state = %s{stamp} WHERE id::text = %s AND state = ANY(%s)",
        (to, handoff_id, list(leaving)),
    )
    return cur.rowcount == 1


async def waiting(conn: Conn, tenant_id: str) -> list[Handoff]:
    """The tenant's calls waiting for a person, in the order they will be answered."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE h.tenant_id = %s AND h.state = 'waiting' "
        "ORDER BY h.priority DESC, h.created_at",
        (tenant_id,),
    )
    return [Handoff.model_validate(row) for row in await cur.fetchall()]


async def recent(
    conn: Conn,
    tenant_id: str,
    *,
    states: Sequence[HandoffState] | None = None,
    operator_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Handoff]:
    """The tenant's handoffs, newest first, optionally of some states or one operator."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE h.tenant_id = %s "
        "AND (%s::text[] IS NULL OR h.state = ANY(%s::text[])) "
        "AND (%s::text IS NULL OR h.operator_id::text = %s) "
        "ORDER BY h.created_at DESC, h.id LIMIT %s OFFSET %s",
        (
            tenant_id,
            None if states is None else list(states),
            None if states is None else list(states),
            operator_id,
            operator_id,
            limit,
            offset,
        ),
    )
    return [Handoff.model_validate(row) for row in await cur.fetchall()]


async def wrap_up(
    conn: Conn,
    tenant_id: str,
    handoff_id: str,
    operator_id: str,
    *,
    disposition: str,
    notes: str | None,
) -> Handoff | None:
    """The operator's disposition of a call they took; None when it is not theirs."""
    cur = await conn.execute(
        "UPDATE handoffs SET disposition = %s, notes = %s, wrapped_up_at = now() "
        "WHERE tenant_id = %s AND id::text = %s AND operator_id::text = %s "
        "AND state IN ('answered', 'connected', 'ended') RETURNING id::text",
        (disposition, notes, tenant_id, handoff_id, operator_id),
    )
    row = await cur.fetchone()
    return None if row is None else await get(conn, tenant_id, row["id"])
