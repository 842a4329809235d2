"""What API processes read of the live events `live_events` writes: the channel they
LISTEN on, a call's rows after an id, and the calls under way.

A notice on the channel only says "read again"; the rows are the record (every row's id
is its server-sent event id, so a stream resumes from `Last-Event-ID`).
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from centralita.kernel.call_events import CallEventType
from centralita.kernel.db import Conn
from centralita.tenants.store.call_owners import call_key_tenant_sql
from realtime.store.live_events import CHANNEL


async def listen(conn: AsyncConnection[Any]) -> None:
    """Have `conn` (autocommit) receive a notice naming the call key of each new batch."""
    await conn.execute(f"LISTEN {CHANNEL}")


async def events_after(conn: Conn, call_key: str, after_id: int, limit: int) -> list[DictRow]:
    """The call's rows (id, call_key, seq, type, payload, at_s) with ids above `after_id`,
    oldest first, at most `limit`."""
    cur = await conn.execute(
        "SELECT id, call_key, seq, type, payload, at_s FROM live_call_events "
        "WHERE call_key = %s AND id > %s ORDER BY id LIMIT %s",
        (call_key, after_id, limit),
    )
    return await cur.fetchall()


async def calls_under_way(
    conn: Conn, tenant_id: str, *, limit: int, offset: int, within_hours: float
) -> list[dict[str, Any]]:
    """The tenant's calls that started (in the last `within_hours`) and have not ended,
    newest first: call_key, started_at and the call_started payload as `started`
    (`centralita.tenants.store.call_owners` says whose call a key is)."""
    cur = await conn.execute(
        "SELECT s.call_key, s.created_at AS started_at, s.payload AS started "
        "FROM live_call_events s WHERE s.type = %(call_started)s "
        "AND s.created_at > now() - make_interval(secs => %(secs)s) "
        "AND NOT EXISTS (SELECT 1 FROM live_call_events e "
        "  WHERE e.call_key = s.call_key AND e.type = %(call_ended)s) "
        f"AND {call_key_tenant_sql('s.call_key')} = %(tenant)s::uuid "
        "ORDER BY s.created_at DESC, s.id DESC LIMIT %(limit)s OFFSET %(offset)s",
        {
            "call_started": CallEventType.CALL_STARTED.value,
            "call_ended": CallEventType.CALL_ENDED.value,
            "secs": within_hours * 3600,
            "tenant": tenant_id,
            "limit": limit,
            "offset": offset,
        },
    )
    return [dict(row) for row in await cur.fetchall()]
