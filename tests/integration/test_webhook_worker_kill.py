"""A webhooks worker killed mid-delivery, on the real Temporal dev server.

The receiver holds the first request open; the worker process making it is SIGKILLed;
a new worker takes over once the attempt's heartbeat stops. The endpoint then sees the
event at most once more, with the same `webhook-id`, so deduplicating by it leaves
exactly one; the attempt log keeps the lost attempt (no verdict) beside the good one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.webhooks import WebhookActivities
from centralita.kernel.db import Pool
from centralita.kernel.events import call_subject
from tests.support.encryption import fixed_ring
from tests.support.webhooks import (
    LOCAL,
    QUICK_SCHEDULE,
    Reply,
    WebhookReceiver,
    attempts,
    deliveries,
    new_tenant,
    record_event,
    subscribe,
    until,
)
from workers.webhook_dispatch import Dispatcher, DispatchOptions
from workers.webhooks import build_webhook_worker

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


async def test_a_worker_killed_mid_request_delivers_once_more_at_most(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    tenant = await new_tenant(pool)
    queue = f"webhooks-kill-{uuid.uuid4().hex[:8]}"
    held = asyncio.Event()
    doomed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.webhook_worker_proc",
        dev_env.client.service_client.config.target_host,
        database_url,
        queue,
        cwd=REPO_ROOT,
        start_new_session=True,
    )
    options = DispatchOptions(
        task_queue=queue,
        heartbeat_timeout_s=2.0,
        attempt_timeout_s=30.0,
        poll_s=0.5,
        name=f"kill-{tenant}",
    )
    stop = asyncio.Event()
    dispatcher = asyncio.create_task(
        Dispatcher(pool, dev_env.client, database_url, options).run(stop)
    )
    try:
        async with WebhookReceiver(replies=[Reply(200, hold=held)]) as crm:
            webhook, secret = await subscribe(pool, tenant, crm.url)
            crm.secrets.append(secret)
            event_id = await record_event(
                pool, tenant, "call_ended", subject=call_subject("killed-worker")
            )

            async def arrived() -> bool:
                return len(crm.received) == 1

            await until(arrived, timeout_s=30)  # the doomed worker's request is held ...
            os.killpg(doomed.pid, signal.SIGKILL)  # ... and the worker dies before the answer
            await doomed.wait()
            activities = WebhookActivities(
                pool, keys=fixed_ring(), schedule=QUICK_SCHEDULE, timeout_s=5.0, allow_hosts=LOCAL
            )
            async with build_webhook_worker(dev_env.client, queue, pool, activities):
                [delivery] = await deliveries(pool, webhook.id)

                async def delivered() -> bool:
                    [row] = await deliveries(pool, webhook.id)
                    return bool(row["status"] == "delivered")

                await until(delivered, timeout_s=30)
            held.set()
    finally:
        stop.set()
        await asyncio.wait_for(dispatcher, 10)
        if doomed.returncode is None:
            os.killpg(doomed.pid, signal.SIGKILL)
    assert len(crm.received) == 2  # once more, not more
    assert [r.webhook_id for r in crm.unique] == [event_id]  # deduplicated: exactly one
    assert all(r.verified_by == (secret,) for r in crm.received)
    log = await attempts(pool, delivery["id"])
    assert [(a["attempt"], a["verdict"]) for a in log] == [(1, None), (2, "delivered")]
