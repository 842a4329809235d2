"""A campaign's tool calls, counted and timed per tool and overall.

Read from the `tool_call` events of the campaign's stored calls (name, arguments,
result, success, duration_ms: `centralita/kernel/call_events.py`). A call without a
boolean `success` counts in `calls` but in neither `succeeded` nor `failed`; a duration
that is not a number is left out of the latency. Percentiles are Postgres
`percentile_cont` (interpolating, like the campaign latency).
"""

from __future__ import annotations

import uuid
from typing import Any

from centralita.kernel.call_events import CallEventType
from centralita.kernel.db import Conn

_DURATION = (
    "(CASE WHEN jsonb_typeof(e.payload->'duration_ms') = 'number' "
    "THEN (e.payload->>'duration_ms')::float8 END)"
)

_TOOLS = f"""
SELECT GROUPING(e.payload->>'name') AS overall,
       coalesce(e.payload->>'name', '') AS name,
       count(e.id) AS calls,
       count(e.id) FILTER (WHERE e.payload->'success' = 'true'::jsonb) AS succeeded,
       count(e.id) FILTER (WHERE e.payload->'success' = 'false'::jsonb) AS failed,
       avg({_DURATION}) AS avg_ms,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {_DURATION}) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY {_DURATION}) AS p95_ms,
       max({_DURATION}) AS max_ms
FROM call_attempts a
JOIN calls c ON c.attempt_id = a.id AND c.deleted_at IS NULL
JOIN call_events e ON e.call_id = c.id AND e.type = %(tool_call)s
WHERE a.campaign_id = %(campaign)s AND a.tenant_id = %(tenant)s
GROUP BY GROUPING SETS ((), (e.payload->>'name'))
"""


async def tool_rows(conn: Conn, tenant_id: str, campaign_id: uuid.UUID) -> list[dict[str, Any]]:
    """One row per tool (`overall` 0, its `name`) and one for all of them (`overall` 1)."""
    params = {
        "tool_call": CallEventType.TOOL_CALL.value,
        "campaign": campaign_id,
        "tenant": tenant_id,
    }
    cur = await conn.execute(_TOOLS, params)
    return await cur.fetchall()
