"""A call's events, published while it runs: batched into Postgres, announced by NOTIFY.

Every `CallRecord.event` of a live call goes through `LiveEvents.publish`; a background
task writes what accumulated every `flush_s` (100 ms) in one statement and NOTIFYs
channel `call_events` once per call in the batch, so a busy call costs ten writes a
second, not one per event. API processes LISTEN and stream the rows
(`api/live_stream.py`). A failed write keeps its events for the next flush (up to
`max_pending`), so a database blip delays the live view instead of losing its events.

The same transaction records the webhook events the batch carries (call_started,
turn_completed, interruption, a promise...; `realtime/store/call_events.py`) in the
outbox, so each commits exactly when the live row reporting it does, and a batch
written again records none twice. They cost the call nothing: they ride the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import psycopg
from opentelemetry import context as otel_context
from psycopg.types.json import Jsonb

from centralita.kernel.call_events import CallEventType
from centralita.kernel.db import Conn, Pool
from centralita.kernel.events import call_subject, emit
from centralita.kernel.telemetry import detached
from realtime.session.record import CallEvent
from realtime.store.call_events import (
    CallFacts,
    LiveCall,
    is_webhook_source,
    live_call,
    webhook_events,
)

log = logging.getLogger(__name__)

CHANNEL = "call_events"
# Calls whose webhook context is kept at once; a call's is dropped when it ends (this
# bounds what calls that never ended cleanly leave behind).
MAX_CALLS = 10_000
_V = TypeVar("_V")


# Events that say what happened in the call (what was said, a key, a tool's effect, its
# end) are written at once rather than at the next tick: a media worker killed between
# two ticks then loses none of them, and the call's dropped record (issue 20) has every
# line said. Interim transcripts, sentiment and the like still ride the 100 ms batch.
_AT_ONCE = frozenset(
    {
        CallEventType.CALL_ENDED,
        CallEventType.TURN_COMPLETED,
        CallEventType.DTMF,
        CallEventType.TOOL_CALL,
        CallEventType.TRANSFER,
    }
)


def _worth_keeping_at_once(event: CallEvent) -> bool:
    if event.type == CallEventType.TRANSCRIPT:
        return bool(event.payload.get("final"))
    return event.type in _AT_ONCE


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)  # dates, decimals as text


@dataclass(frozen=True)
class _Pending:
    call_key: str
    event: CallEvent
    # The media worker's clock when it happened: a webhook event's occurred_at.
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The call's trace where it happened: the webhook event it becomes links back there.
    trace: otel_context.Context = field(default_factory=otel_context.get_current)


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
        # One flush at a time: a batch written beside an older one could commit first,
        # and readers that resume after the newer rows would miss the older ones.
        self._flushing = asyncio.Lock()
        self._facts: OrderedDict[str, CallFacts] = OrderedDict()  # told at call start
        self._calls: OrderedDict[str, LiveCall] = OrderedDict()  # resolved once per call

    def start(self) -> None:
        """Begin flushing in the background (idempotent)."""
        if self._task is None:
            self._closing = False
            # Started by the first call's first event, it serves every call after it:
            # outside that call's trace (see `_record_webhook_events` for each event's).
            with detached():
                self._task = asyncio.create_task(self._run(), name="live-events")

    def open_call(self, call_key: str, facts: CallFacts) -> None:
        """Who the call of `call_key` is with (its webhook events carry it)."""
        _remember(self._facts, call_key, facts)

    def publish(self, call_key: str, event: CallEvent) -> None:
        """Queue one event (never blocks the call); starts the flusher on first use."""
        self.start()
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            return
        self._pending.append(_Pending(call_key, event))
        if _worth_keeping_at_once(event):
            self._wake.set()

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
        """Write what is pending now; how many events were written.

        Waits for a flush under way first, so batches commit in the order they were taken.
        """
        async with self._flushing:
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
            for p in batch:
                if p.event.type == CallEventType.CALL_ENDED:  # its context is no longer needed
                    self._facts.pop(p.call_key, None)
                    self._calls.pop(p.call_key, None)
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
                str(p.event.type),
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
            await self._record_webhook_events(conn, batch)
            for key in dict.fromkeys(p.call_key for p in batch):
                await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, key))

    async def _record_webhook_events(self, conn: Conn, batch: Sequence[_Pending]) -> None:
        """The batch's webhook events, in the batch's transaction (a savepoint of it).

        A connection failure fails the whole batch, which is written again later (the
        ids make that harmless). Any other failure is a defect here: it costs these
        webhook events (logged), never the live rows or the call.
        """
        carried = [p for p in batch if is_webhook_source(p.event)]
        if not carried:
            return
        try:
            async with conn.transaction():
                calls = await self._resolve(conn, [p.call_key for p in carried])
                for p in carried:
                    call = calls[p.call_key]
                    for out in webhook_events(call, p.event):
                        token = otel_context.attach(p.trace)  # recorded in the call's trace
                        try:
                            await emit(
                                conn,
                                event_id=out.id,
                                tenant_id=call.tenant_id,
                                type=out.type,
                                data=out.data,
                                subject=call_subject(p.call_key),
                                occurred_at=p.at,
                            )
                        finally:
                            otel_context.detach(token)
        except psycopg.OperationalError:
            raise
        except Exception:  # no phone numbers in the log: only how many were lost
            log.exception("webhook events of %d live events not recorded", len(carried))

    async def _resolve(self, conn: Conn, keys: Sequence[str]) -> dict[str, LiveCall]:
        """Each call's tenant, campaign and contact, read from its attempt once per call."""
        missing = [k for k in dict.fromkeys(keys) if k not in self._calls]
        if missing:
            cur = await conn.execute(
                "SELECT attempt_key, tenant_id::text AS tenant_id, "
                "campaign_id::text AS campaign_id, contact_id::text AS contact_id, phone "
                "FROM call_attempts WHERE attempt_key = ANY(%s)",
                (missing,),
            )
            attempts = {r["attempt_key"]: dict(r) for r in await cur.fetchall()}
            for key in missing:
                _remember(self._calls, key, live_call(key, attempts.get(key), self._facts.get(key)))
        return {k: self._calls[k] for k in keys}


def _remember(cache: OrderedDict[str, _V], key: str, value: _V) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > MAX_CALLS:
        cache.popitem(last=False)
