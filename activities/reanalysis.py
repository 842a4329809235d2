"""The bulk re-analysis's reads: how many calls match, and the next page of them.

The queries, keyset pages over (started_at, id), are `centralita.postcall.reanalysis_store`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from centralita.kernel.db import Pool
from centralita.postcall import reanalysis_store
from centralita.postcall.reanalysis_messages import (
    CallCursor,
    CallPage,
    PageRequest,
    ReanalysisFilter,
)


class ReanalysisActivities:
    """Reads for `ReanalysisWorkflow`, bound to the database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @activity.defn
    async def count_calls(self, where: ReanalysisFilter) -> int:
        """How many stored (not deleted) calls match `where` now."""
        async with self._pool.connection() as conn:
            return await reanalysis_store.count_calls(conn, where)

    @activity.defn
    async def page_calls(self, request: PageRequest) -> CallPage:
        """The next `request.limit` matching calls after `request.cursor`, oldest first."""
        async with self._pool.connection() as conn:
            calls = await reanalysis_store.page_calls(
                conn, request.filter, request.cursor, request.limit
            )
        last = calls[-1] if len(calls) == request.limit else None
        return CallPage(
            calls=calls,
            next_cursor=(
                CallCursor(started_at=last.started_at, call_id=last.call_id) if last else None
            ),
        )


def reanalysis_activity_methods(activities: ReanalysisActivities) -> list[Callable[..., Any]]:
    """Everything a worker registers for the re-analysis workflow."""
    return [activities.count_calls, activities.page_calls]


__all__ = ["ReanalysisActivities", "reanalysis_activity_methods"]
