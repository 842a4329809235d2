"""The orchestrator worker: campaign, contact and attempt workflows with their activities,
the knowledge base's document ingestion, and human callbacks (with the sweep that starts
those stored while Temporal was away)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.attempts import AttemptActivities
from activities.calls import CallActivities
from activities.campaigns import CampaignActivities
from activities.human_callbacks import HumanCallbackActivities
from activities.knowledge import KnowledgeActivities, knowledge_activity_methods
from activities.placement import PlacementActivities
from centralita.kernel.calls import Dialer
from centralita.kernel.db import Pool, open_pool
from centralita.kernel.settings import Settings
from centralita.kernel.temporal import connect_temporal
from realtime.carrier.http_dialer import HttpDialer
from workers.database import database_url
from workers.human_callback_starter import HumanCallbackStarter
from workers.human_callback_sweeper import HumanCallbackSweeper
from workflows.attempt import CallAttemptWorkflow
from workflows.campaign import CampaignWorkflow
from workflows.human_callback import HumanCallbackWorkflow
from workflows.knowledge_ingestion import KnowledgeIngestionWorkflow

log = logging.getLogger(__name__)

WORKFLOWS: Sequence[type[Any]] = (
    CampaignWorkflow,
    CallAttemptWorkflow,
    KnowledgeIngestionWorkflow,
    HumanCallbackWorkflow,
)


def activities_for(pool: Pool, dialer: Dialer) -> list[Any]:
    """Every activity the orchestrator's workflows call, bound to their clients."""
    campaign = CampaignActivities(pool)
    attempt = AttemptActivities(pool)
    placement = PlacementActivities(pool)
    return [
        campaign.load_policy,
        campaign.store_policy,
        campaign.set_campaign_status,
        campaign.plan_dispatch,
        campaign.broadcast_opt_out,
        attempt.finish_attempt,
        attempt.cancel_attempt,
        # Calls of campaigns without placement, and of runs from before it.
        CallActivities(pool, dialer).place_call,
        placement.choose_media_worker,
        placement.record_dropped_call,
        *knowledge_activity_methods(KnowledgeActivities(pool)),
        HumanCallbackActivities(pool).mark_callback_due,
    ]


def build_worker(client: Client, task_queue: str, pool: Pool, dialer: Dialer) -> Worker:
    """The orchestrator's Temporal worker (shared by the process and the tests)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=activities_for(pool, dialer),
        # Hundreds of short attempt workflows: more pollers keep the worker fed
        # (measured: about 44 -> 50 attempts/s on 2 cores; bench/campaign.py).
        max_concurrent_workflow_task_polls=10,
        max_concurrent_activity_task_polls=10,
    )


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
    # Dials leave this process: a killed orchestrator loses no call, and its retry
    # joins the call already placed (same idempotency key) instead of ringing again.
    dialer = HttpDialer(settings.effective_carrier_url)
    worker = build_worker(client, settings.task_queue, pool, dialer)
    log.info(
        "orchestrator serving task queue %r, dialling through %s",
        settings.task_queue,
        settings.effective_carrier_url,
    )
    sweeper = HumanCallbackSweeper(pool, HumanCallbackStarter.using(client, settings.task_queue))
    try:
        async with worker:
            await sweeper.run(settings.human_callback_sweep_s, stop)
    finally:
        await dialer.aclose()
        await pool.close()
    log.info("orchestrator stopped")
