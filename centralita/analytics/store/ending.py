"""Where a call that is not stored yet stands: dialling, started live, ended live.

Inbound calls have no attempt; their live events (`live_call_events`) show them. The
live event types are bound from `centralita/kernel/call_events.py`.
"""

from __future__ import annotations

from typing import Any

from centralita.kernel.call_events import CallEventType
from centralita.kernel.db import Pool

_STATE = (
    "SELECT EXISTS (SELECT 1 FROM call_attempts WHERE attempt_key = %(key)s "
    "  AND tenant_id = %(tenant)s AND status = 'dialing') AS dialing, "
    "EXISTS (SELECT 1 FROM live_call_events WHERE call_key = %(key)s "
    "  AND type = %(call_started)s) AS started, "
    "EXISTS (SELECT 1 FROM live_call_events WHERE call_key = %(key)s "
    "  AND type = %(call_ended)s) AS ended"
)


async def call_flags(pool: Pool, tenant_id: str, key: str) -> dict[str, Any]:
    """`dialing` (its attempt is), `started` and `ended` (live events say so) of `key`."""
    params = {
        "key": key,
        "tenant": tenant_id,
        "call_started": CallEventType.CALL_STARTED.value,
        "call_ended": CallEventType.CALL_ENDED.value,
    }
    async with pool.connection() as conn:
        cur = await conn.execute(_STATE, params)
        row = await cur.fetchone()
    assert row is not None  # EXISTS always answers
    return row
