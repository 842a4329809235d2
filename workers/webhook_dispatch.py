"""The dispatcher: from the `domain_events` outbox to delivery workflows.

A plain asyncio loop in the webhooks worker process, not a Temporal workflow: it is a
tight read-plan-hand-over loop over one Postgres table, woken by NOTIFY; as a workflow
every pass would be activities and history for no gain in durability, because its
durable state is one number, the cursor, kept in Postgres. One dispatcher runs per
database (a session advisory lock; a second process waits as a stand-by).

Each pass reads events after the cursor in `seq` order; for each, every active
subscription of its tenant that wants its type gets a `webhook_deliveries` row
(UNIQUE(webhook_id, event_id)) and the pending rows are handed to Temporal: into the
ordered workflow of (endpoint, subject) by signal-with-start, or a workflow of its own
when the event has no subject. Then the cursor advances. A crash anywhere re-plans from
the cursor: the unique key, the workflow ids and the workflow's own de-duplication
absorb the repeats, and an attempt of an already settled delivery sends nothing.

Sequence numbers are taken when a producer inserts, but become visible when it commits,
so seq 7 can appear after seq 8. Events are planned as soon as they are visible; the
cursor stops below the lowest missing seq (a gap) until the gap fills or can no longer
fill: once every transaction that could have held it has ended (checked with transaction
ids: `pg_snapshot_xmin` has passed the `xmax` seen a grace period after the gap
appeared), it was a rolled-back insert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from centralita.kernel.db import Pool
from centralita.webhooks import store
from centralita.webhooks.messages import DeliveryRunInput, QueuedDelivery
from centralita.webhooks.models import EventRow, PlannedDelivery
from workflows.webhook_delivery import (
    WebhookDeliveryWorkflow,
    ordered_workflow_id,
    single_workflow_id,
)

log = logging.getLogger(__name__)

LOCK_KEY = "centralita.webhook_dispatch"
RECONNECT_S = (0.5, 1.0, 2.0, 5.0)  # then every 5 s while Postgres or Temporal is away


@dataclass(frozen=True)
class DispatchOptions:
    """How the dispatcher reads and what its workflows are told."""

    task_queue: str
    attempt_timeout_s: float = 10.0
    heartbeat_timeout_s: float = 10.0
    idle_s: float = 60.0
    batch: int = 200
    poll_s: float = 5.0  # the safety net under NOTIFY
    gap_grace_s: float = 1.0
    handover_concurrency: int = 16
    name: str = "default"  # the cursor's row (one dispatcher per database)


@dataclass
class _Gap:
    first_seen: float
    xmax: int | None = None  # the snapshot's xmax once the grace period has passed


@dataclass
class GapTracker:
    """Missing seqs below the highest planned one, and when each can be given up."""

    grace_s: float
    gaps: dict[int, _Gap] = field(default_factory=dict)

    def note(self, high_water: int, seqs: Iterable[int], now: float) -> None:
        """Record the seqs missing between `high_water` and the new ones, and forget those
        that appeared."""
        previous = high_water
        for seq in sorted(seqs):
            self.gaps.pop(seq, None)
            if seq > previous:
                for missing in range(previous + 1, seq):
                    self.gaps.setdefault(missing, _Gap(first_seen=now))
                previous = seq

    def expire(self, xmin: int, xmax: int, now: float) -> list[int]:
        """Give up the gaps that can no longer fill; the seqs given up."""
        given_up = []
        for seq, gap in list(self.gaps.items()):
            if gap.xmax is None:
                # Between taking a seq and writing the row a transaction may have no id
                # yet; after the grace period it has one, below the xmax seen now.
                if now - gap.first_seen >= self.grace_s:
                    gap.xmax = xmax
            elif xmin >= gap.xmax:
                del self.gaps[seq]
                given_up.append(seq)
        return given_up

    def cursor(self, high_water: int) -> int:
        """How far every seq is settled (planned, or a gap given up)."""
        return min(self.gaps) - 1 if self.gaps else high_water


class Dispatcher:
    """Plans deliveries from the outbox and hands them to Temporal.

    Args:
        pool: the database.
        client: Temporal.
        conninfo: the database URL, for the connection that LISTENs and holds the lock.
        options: see `DispatchOptions`.
    """

    def __init__(self, pool: Pool, client: Client, conninfo: str, options: DispatchOptions) -> None:
        self._pool = pool
        self._client = client
        self._conninfo = conninfo
        self._options = options
        self._gaps = GapTracker(options.gap_grace_s)
        self._high_water: int | None = None
        self.planned = 0  # deliveries handed over by this dispatcher (a figure for logs)

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set; survives Postgres and Temporal outages."""
        failures = 0
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as listen:
                    if not await self._lock(listen, stop):
                        return
                    await store.listen_for_events(listen)
                    self._high_water = None  # re-read the cursor: another may have moved it
                    log.info("webhook dispatcher running (cursor %r)", self._options.name)
                    while not stop.is_set():
                        read = await self.dispatch_once()
                        failures = 0
                        if read < self._options.batch:
                            await self._wait(listen, stop)
            except Exception as exc:  # the loop must outlive any outage
                delay = RECONNECT_S[min(failures, len(RECONNECT_S) - 1)]
                failures += 1
                log.warning("webhook dispatcher: %s; again in %.1fs", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)

    async def dispatch_once(self) -> int:
        """One pass: plan and hand over what is new; the number of events read."""
        now = time.monotonic()
        if self._high_water is None:
            self._high_water = await self._read_cursor()
            self._gaps.gaps.clear()
        events, xmin, xmax = await self._read(self._high_water, list(self._gaps.gaps))
        planned: list[PlannedDelivery] = []
        async with self._pool.connection() as conn:
            for event in events:
                planned += await store.plan_deliveries(conn, event)
        await self._hand_over(planned)
        self.planned += len(planned)
        self._gaps.note(self._high_water, (e.seq for e in events), now)
        self._high_water = max([self._high_water, *(e.seq for e in events)])
        for seq in self._gaps.expire(xmin, xmax, now):
            log.info("webhook dispatcher: seq %d never committed; moving past it", seq)
        await self._write_cursor(self._gaps.cursor(self._high_water))
        return len(events)

    # -- reading ------------------------------------------------------------------------

    async def _read(self, after: int, gaps: Sequence[int]) -> tuple[list[EventRow], int, int]:
        """Events past `after` and any that filled a gap, with the snapshot's xmin/xmax
        (one snapshot: a gap judged over is judged on the same rows)."""
        async with self._pool.connection() as conn, conn.transaction():
            return await store.read_outbox(conn, after, gaps, self._options.batch)

    async def _read_cursor(self) -> int:
        async with self._pool.connection() as conn:
            return await store.read_cursor(conn, self._options.name)

    async def _write_cursor(self, seq: int) -> None:
        async with self._pool.connection() as conn:
            await store.write_cursor(conn, self._options.name, seq)

    @property
    def options(self) -> DispatchOptions:
        """How this dispatcher reads and what its workflows are told."""
        return self._options

    # -- handing over -------------------------------------------------------------------

    async def _hand_over(self, planned: Sequence[PlannedDelivery]) -> None:
        """Signal each delivery into its workflow: one subject's deliveries in seq order,
        different workflows concurrently.

        Raises:
            Exception: Temporal refused or is unreachable; nothing is marked handed over,
                so the next pass hands these over again.
        """
        groups: dict[str, list[PlannedDelivery]] = {}
        for item in planned:
            key = (
                ordered_workflow_id(item.webhook_id, item.subject)
                if item.subject is not None
                else single_workflow_id(item.delivery_id)
            )
            groups.setdefault(key, []).append(item)
        limit = asyncio.Semaphore(self._options.handover_concurrency)

        async def hand(workflow_id: str, items: list[PlannedDelivery]) -> None:
            async with limit:
                for item in sorted(items, key=lambda i: i.event_seq or 0):
                    await self._start(workflow_id, item)

        async with asyncio.TaskGroup() as group:
            for workflow_id, items in groups.items():
                group.create_task(hand(workflow_id, items))

    async def _start(self, workflow_id: str, item: PlannedDelivery) -> None:
        queued = QueuedDelivery(delivery_id=item.delivery_id, seq=item.event_seq)
        run = self.run_input(item.webhook_id, item.subject)
        if item.subject is not None:
            await self._client.start_workflow(
                WebhookDeliveryWorkflow.run,
                run,
                id=workflow_id,
                task_queue=self._options.task_queue,
                start_signal="enqueue",
                start_signal_args=[queued],
            )
            return
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._client.start_workflow(
                WebhookDeliveryWorkflow.run,
                run.model_copy(update={"queue": [queued]}),
                id=workflow_id,
                task_queue=self._options.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            )

    def run_input(self, webhook_id: str, subject: str | None) -> DeliveryRunInput:
        """A workflow input with this dispatcher's timeouts."""
        return DeliveryRunInput(
            webhook_id=webhook_id,
            subject=subject,
            attempt_timeout_s=self._options.attempt_timeout_s,
            heartbeat_timeout_s=self._options.heartbeat_timeout_s,
            idle_s=self._options.idle_s,
        )

    # -- the lock and the wake-ups ------------------------------------------------------

    async def _lock(self, listen: psycopg.AsyncConnection[Any], stop: asyncio.Event) -> bool:
        """Hold the dispatcher lock on `listen` (False: stopped while waiting for it)."""
        waiting_logged = False
        while not stop.is_set():
            if await store.try_dispatch_lock(listen, f"{LOCK_KEY}:{self._options.name}"):
                return True
            if not waiting_logged:
                log.info("another webhook dispatcher is running; standing by")
                waiting_logged = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._options.poll_s)
        return False

    async def _wait(self, listen: psycopg.AsyncConnection[Any], stop: asyncio.Event) -> None:
        """Until a NOTIFY, the poll interval, or `stop` (checked every second)."""
        deadline = time.monotonic() + self._options.poll_s
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            async for _ in listen.notifies(timeout=min(left, 1.0), stop_after=1):
                return
