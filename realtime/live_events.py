"""A call's events, published while it runs: batched into Postgres, announced by NOTIFY.

Every `CallRecord.event` of a live call goes through `LiveEvents.publish`; a background
task writes what accumulated every `flush_s` (100 ms) in one statement and NOTIFYs
channel `call_events` once per call in the batch, so a busy call costs ten writes a
second, not one per event. API processes LISTEN and stream the rows
(`api/live_stream.py`). A failed write keeps its events for the next flush (up to
`max_pending`), so a database blip delays the live view instead of losing its events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg.types.json import Jsonb

from centralita.db import Pool
from realtime.call_record import CallEvent

log = logging.getLogger(__name__)

CHANNEL = "call_events"


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)  # dates, decimals as text


@dataclass(frozen=True)
class _Pending:
    call_key: str
    event: CallEvent


class LiveEvents:
    """Publishes live call events for one process; `start` it, `close` it at shutdown."""

    def __init__(self, pool: Pool, *, flush_s: float = 0.1, max_pending: int = 10_000) -> None:
        self._pool = pool
        self.flush_s = flush_s
        self._max_pending = max_pending
        self._pending: list[_Pending] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self.dropped = 0  # events given up on after the backlog filled

    def start(self) -> None:
        """Begin flushing in the background (idempotent)."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="live-events")

    def publish(self, call_key: str, event: CallEvent) -> None:
        """Queue one event (never blocks the call); starts the flusher on first use."""
        self.start()
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            return
        self._pending.append(_Pending(call_key, event))
        if event.type == "call_ended":
            self._wake.set()  # a finished call is worth flushing at once

    async def close(self) -> None:
        """Flush what is left, then stop.

        The flusher is asked to stop rather than cancelled: a write cancelled halfway
        would hand its connection back to the pool mid-transaction.
        """
        if self._task is not None:
            self._closing = True
            self._wake.set()
            await self._task
            self._task = None
        await self.flush()

    async def flush(self) -> int:
        """Write what is pending now; how many events were written."""
        batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            await self._write(batch)
        except Exception as exc:  # keep them for the next flush: nothing lost to a blip
            log.warning("live events not written (%d kept): %s", len(batch), exc)
            self._pending = batch + self._pending
            del self._pending[self._max_pending :]
            return 0
        return len(batch)

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_s)
            self._wake.clear()
            await self.flush()

    async def _write(self, batch: Sequence[_Pending]) -> None:
        rows = [
            (
                p.call_key,
                p.event.seq,
                p.event.type,
                Jsonb(p.event.payload, dumps=_dumps),
                p.event.at,
            )
            for p in batch
        ]
        async with self._pool.connection() as conn, conn.transaction():
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO live_call_events (call_key, seq, type, payload, at_s) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (call_key, seq) DO NOTHING",
                    rows,
                )
            for key in dict.fromkeys(p.call_key for p in batch):
                await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, key))
