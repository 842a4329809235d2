"""A production webhooks worker in its own process, for the kill test.

`python -m tests.integration.webhook_worker_proc TEMPORAL_ADDRESS DATABASE_URL QUEUE`:
serves QUEUE with the real workflow and attempt activity (loopback allowed) until it is
killed. The test SIGKILLs it while its first request is held by the receiver: the worst
moment, when the endpoint may have the event but nobody heard its answer.
"""

from __future__ import annotations

import asyncio
import sys

from temporalio.client import Client

from activities.webhooks import WebhookActivities
from centralita.kernel.db import open_pool
from centralita.kernel.temporal import DATA_CONVERTER, temporal_plugins
from tests.support.encryption import fixed_ring
from tests.support.webhooks import LOCAL, QUICK_SCHEDULE
from workers.webhooks import build_webhook_worker


async def main(address: str, database_url: str, queue: str) -> None:
    client = await Client.connect(
        address, data_converter=DATA_CONVERTER, plugins=temporal_plugins()
    )
    pool = await open_pool(database_url, min_size=1, max_size=2)
    activities = WebhookActivities(
        pool, keys=fixed_ring(), schedule=QUICK_SCHEDULE, timeout_s=30.0, allow_hosts=LOCAL
    )
    async with build_webhook_worker(client, queue, pool, activities):
        print("serving", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
