"""The orchestrator worker: campaign, contact and attempt workflows with their activities."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.dialing import DialActivities
from activities.store import StoreActivities
from centralita.db import Pool, database_url, open_pool
from centralita.settings import Settings
from centralita.temporal import connect_temporal
from realtime.carrier.dialer import Dialer
from realtime.carrier.simulated import PersonaBook, SimulatedCarrier, packaged_personas
from workflows.attempt import CallAttemptWorkflow
from workflows.campaign import CampaignWorkflow
from workflows.contact import ContactWorkflow

log = logging.getLogger(__name__)

WORKFLOWS: Sequence[type[Any]] = (CampaignWorkflow, ContactWorkflow, CallAttemptWorkflow)


def activities_for(pool: Pool, dialer: Dialer) -> list[Any]:
    """Every activity the orchestrator's workflows call, bound to their clients."""
    store = StoreActivities(pool)
    dialing = DialActivities(dialer)
    return [
        store.load_campaign_plan,
        store.set_campaign_status,
        store.load_contact,
        store.record_contact_state,
        store.record_attempt_started,
        store.record_attempt_result,
        dialing.dial,
    ]


def build_worker(client: Client, task_queue: str, pool: Pool, dialer: Dialer) -> Worker:
    """The orchestrator's Temporal worker (shared by the process and the tests)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=activities_for(pool, dialer),
    )


def simulated_carrier(settings: Settings) -> SimulatedCarrier:
    """The carrier of the embedded stack, playing the configured (or demo) personas."""
    book = PersonaBook.load(settings.carrier_personas or packaged_personas())
    return SimulatedCarrier(book.personas)


async def run_orchestrator(settings: Settings) -> None:
    """Serve the orchestrator task queue until SIGINT/SIGTERM."""
    client = await connect_temporal(settings)
    pool = await open_pool(
        database_url(settings), min_size=settings.db_pool_min, max_size=settings.db_pool_max
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = build_worker(client, settings.task_queue, pool, simulated_carrier(settings))
    log.info("orchestrator serving task queue %r", settings.task_queue)
    try:
        async with worker:
            await stop.wait()
    finally:
        await pool.close()
    log.info("orchestrator stopped")
