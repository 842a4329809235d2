"""How a campaign's tool calls went: success rate and latency, per tool and overall.

The media worker stores each tool call the agent made as a `tool_call` event of the
call (`centralita/kernel/call_events.py`): name, arguments, result, success, duration_ms.
No new storage is needed. A call without a boolean `success` counts in `calls` but in
neither side of the success rate; a duration that is not a number is left out of the
latency. Percentiles are Postgres `percentile_cont` (interpolating, like the campaign
latency); the query is `store/tools.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from centralita.analytics.store import tools as store
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


async def campaign_tools(conn: Conn, tenant_id: str, campaign_id: uuid.UUID) -> ToolStats:
    """The tool figures of the campaign's stored calls."""
    overall = _figures({})
    by_tool: list[NamedToolFigures] = []
    for row in await store.tool_rows(conn, tenant_id, campaign_id):
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
