"""The webhooks worker: delivery workflows and attempts, and the outbox dispatcher.

Its own process and task queue: an endpoint that hangs costs this process's sockets and
activity slots, never the orchestrator's (calls) or the post-call worker's. The
dispatcher runs here as an asyncio task beside the Temporal worker (see
`workers.webhook_dispatch` for why it is not a workflow); SIGINT/SIGTERM stop both,
the dispatcher between passes, the worker after its in-flight attempts.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from activities.webhooks import WebhookActivities, activity_methods
from centralita.kernel.db import Pool, open_pool
from centralita.kernel.settings import Settings
from centralita.kernel.temporal import connect_temporal
from workers.database import database_url
from workers.webhook_dispatch import Dispatcher, DispatchOptions
from workflows.webhook_delivery import WebhookDeliveryWorkflow

log = logging.getLogger(__name__)

# Attempts wait on the network, not the CPU: many run at once. An endpoint may hold at
# most `endpoint_concurrency` of them (see activities/webhooks.py).
MAX_CONCURRENT_ATTEMPTS = 100


def build_webhook_worker(
    client: Client,
    task_queue: str,
    pool: Pool,
    activities: WebhookActivities,
    *,
    max_concurrent_activities: int = MAX_CONCURRENT_ATTEMPTS,
) -> Worker:
    """The delivery worker (shared by the process and the tests)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[WebhookDeliveryWorkflow],
        activities=activity_methods(activities),
        max_concurrent_activities=max_concurrent_activities,
    )


def activities_for(
    settings: Settings, pool: Pool, http: httpx.AsyncClient | None = None
) -> WebhookActivities:
    """The attempt activity as the settings configure it."""
    return WebhookActivities(
        pool,
        keys=settings.key_ring(),
        schedule=settings.webhook_retry_schedule,
        max_attempts=settings.webhook_max_attempts,
        timeout_s=settings.webhook_timeout_s,
        allow_hosts=settings.webhook_allow_hosts,
        client=http,
    )


def dispatch_options(settings: Settings) -> DispatchOptions:
    """The dispatcher as the settings configure it."""
    return DispatchOptions(
        task_queue=settings.webhook_task_queue,
        attempt_timeout_s=settings.webhook_timeout_s,
        poll_s=settings.webhook_poll_s,
    )


async def run_webhooks(settings: Settings) -> None:
    """Serve the webhooks task queue and dispatch the outbox until SIGINT/SIGTERM."""
    client = await connect_temporal(settings)
    url = database_url(settings)
    pool = await open_pool(url, min_size=1, max_size=max(2, settings.db_pool_max // 2))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # One client for every attempt (connections kept alive between deliveries); no
    # proxy from the environment, which would undo the SSRF address pinning.
    async with httpx.AsyncClient(trust_env=False) as http:
        worker = build_webhook_worker(
            client, settings.webhook_task_queue, pool, activities_for(settings, pool, http)
        )
        dispatcher = Dispatcher(pool, client, url, dispatch_options(settings))
        log.info("webhooks worker serving task queue %r", settings.webhook_task_queue)
        try:
            async with worker:
                await dispatcher.run(stop)
        finally:
            await pool.close()
