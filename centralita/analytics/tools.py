"""How a campaign's tool calls went: success rate and latency, per tool and overall.

The media worker stores each tool call the agent made as a `tool_call` event of the
call (`realtime/session/call_session.py`): name, arguments, result, success, duration_ms. No new
storage is needed. A call without a boolean `success` counts in `calls` but in neither
side of the success rate; a duration that is not a number is left out of the latency.
Percentiles are Postgres `percentile_cont` (interpolating, like the campaign latency).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from centralita.kernel.db import Conn


class ToolFigures(BaseModel):
    """Tool calls counted and timed (milliseconds)."""

    calls: int
    succeeded: int
    failed: int
    success_rate: float | None = Field(description="succeeded / (succeeded + failed).")
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None


class NamedToolFigures(ToolFigures):
    """One tool's figures."""

    name: str


class ToolStats(BaseModel):
    """Every tool together, and each tool (most called first)."""

    overall: ToolFigures
    by_tool: list[NamedToolFigures]


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
JOIN call_events e ON e.call_id = c.id AND e.type = 'tool_call'
WHERE a.campaign_id = %s AND a.tenant_id = %s
GROUP BY GROUPING SETS ((), (e.payload->>'name'))
"""


async def campaign_tools(conn: Conn, tenant_id: str, campaign_id: uuid.UUID) -> ToolStats:
    """The tool figures of the campaign's stored calls."""
    cur = await conn.execute(_TOOLS, (campaign_id, tenant_id))
    overall = _figures({})
    by_tool: list[NamedToolFigures] = []
    for row in await cur.fetchall():
        if row["overall"]:
            overall = _figures(row)
        else:
            by_tool.append(NamedToolFigures(name=row["name"], **_figures(row).model_dump()))
    by_tool.sort(key=lambda t: (-t.calls, t.name))
    return ToolStats(overall=overall, by_tool=by_tool)


def _figures(row: Mapping[str, Any]) -> ToolFigures:
    succeeded, failed = int(row.get("succeeded", 0)), int(row.get("failed", 0))
    decided = succeeded + failed
    return ToolFigures(
        calls=row.get("calls", 0),
        succeeded=succeeded,
        failed=failed,
        success_rate=succeeded / decided if decided else None,
        avg_ms=row.get("avg_ms"),
        p50_ms=row.get("p50_ms"),
        p95_ms=row.get("p95_ms"),
        max_ms=row.get("max_ms"),
    )
