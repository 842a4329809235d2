"""Starting the workflows of human callbacks stored while Temporal was away.

The media worker stores a callback, then starts its workflow; when Temporal cannot be
reached at that moment the callback stays `scheduled` with no workflow to mark it due.
The orchestrator sweeps for them at start-up and then every `human_callback_sweep_s`:
each still-scheduled callback's workflow is started by its id, which is harmless for one
running already (or ended: the id is never reused). A callback found started once is not
asked about again by this process, so a sweep costs one query when nothing is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from centralita.handoff import callbacks_store
from centralita.kernel.db import Pool
from workers.human_callback_starter import HumanCallbackStarter

log = logging.getLogger(__name__)

PAGE = 500


class HumanCallbackSweeper:
    """Starts what `starter` could not, reading the callbacks of every tenant from `pool`."""

    def __init__(self, pool: Pool, starter: HumanCallbackStarter, page: int = PAGE) -> None:
        self._pool = pool
        self._starter = starter
        self._page = page
        self._known: set[str] = set()

    async def sweep_once(self) -> int:
        """Start the missing workflows; how many this started.

        Raises:
            Whatever reading the table or reaching Temporal raises (`run` logs it).
        """
        started = 0
        scheduled: set[str] = set()
        after: str | None = None
        while True:
            async with self._pool.connection() as conn:
                page = await callbacks_store.scheduled_of_every_tenant(
                    conn, after_id=after, limit=self._page
                )
            for tenant_id, callback in page:
                scheduled.add(callback.id)
                if callback.id in self._known:
                    continue
                if await self._starter.start_if_new(tenant_id, callback):
                    started += 1
                    log.info("human callback %s: its missing workflow started", callback.id)
                self._known.add(callback.id)
            if len(page) < self._page:
                self._known &= scheduled  # settled ones leave: the set stays small
                return started
            after = page[-1][1].id

    async def run(self, every_s: float, stop: asyncio.Event) -> None:
        """Sweep now and then every `every_s` until `stop` is set; a failed sweep is
        logged and tried again at the next one."""
        while not stop.is_set():
            try:
                await self.sweep_once()
            except Exception as exc:  # the next sweep tries again; nothing is lost
                log.warning("human callback sweep failed: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)
