"""The human callback workflow's one side effect: mark the callback due when its time
comes (operator pages ring for it; `centralita.handoff.callbacks_store`)."""

from __future__ import annotations

from temporalio import activity

from centralita.handoff import callbacks_store
from centralita.kernel.db import Pool


class HumanCallbackActivities:
    """Writes for `HumanCallbackWorkflow`, bound to the database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @activity.defn
    async def mark_callback_due(self, callback_id: str) -> bool:
        """The callback is due now; False when it was settled already (done or cancelled,
        perhaps while its workflow could not be told)."""
        async with self._pool.connection() as conn:
            return await callbacks_store.mark_due(conn, callback_id)
