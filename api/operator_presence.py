"""Whether an operator's page is still there: an operator whose page is gone (a closed
tab, a dead laptop, a lost network) must not be left `available`.

An operator page follows `GET /operators/{id}/events`. The stream marks the operator
seen when it opens and at each keep-alive (`keepalive_s`, half of `away_after_s`, at
most 15 s). When it closes, `gone` waits `away_after_s` and then makes an operator still
`available` `offline`, unless a stream has seen them since: a reloaded page, perhaps on
another API process, keeps them available. A busy operator (or one in wrap-up) keeps
their call. The status change notifies, so every page and the dashboard see it.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg_pool import PoolTimeout

from centralita.handoff import operators_store
from centralita.kernel.db import Pool

log = logging.getLogger(__name__)

MAX_KEEPALIVE_S = 15.0


class OperatorPresence:
    """Marks operators seen while their pages stream, and away once they are gone."""

    def __init__(self, pool: Pool, away_after_s: float) -> None:
        self._pool = pool
        self.away_after_s = away_after_s
        self.keepalive_s = min(MAX_KEEPALIVE_S, away_after_s / 2)
        self._checks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def seen(self, tenant_id: str, operator_id: str) -> None:
        """A page follows the operator now."""
        async with self._pool.connection() as conn:
            await operators_store.mark_seen(conn, tenant_id, operator_id)

    def gone(self, tenant_id: str, operator_id: str) -> None:
        """A page stopped following the operator: check them after `away_after_s`."""
        if self._closed:
            return  # the API is stopping: its streams close, their operators stay as set
        check = asyncio.create_task(self._away_later(tenant_id, operator_id))
        self._checks.add(check)
        check.add_done_callback(self._checks.discard)

    async def close(self) -> None:
        """Stop the pending checks (the API is shutting down)."""
        self._closed = True
        for check in list(self._checks):
            check.cancel()
        await asyncio.gather(*self._checks, return_exceptions=True)

    async def _away_later(self, tenant_id: str, operator_id: str) -> None:
        await asyncio.sleep(self.away_after_s)
        try:
            async with self._pool.connection() as conn:
                away = await operators_store.away_if_unseen(
                    conn, tenant_id, operator_id, self.away_after_s
                )
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            # Left as they were: the next page to close checks again.
            log.warning("operator %s: presence not checked: %r", operator_id, exc)
            return
        if away:
            log.info("operator %s: their page is gone; now offline", operator_id)
