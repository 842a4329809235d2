"""A production orchestrator worker in its own process, for the knowledge kill test.

`python -m tests.integration.knowledge_worker_proc TEMPORAL_ADDRESS DATABASE_URL QUEUE`:
serves QUEUE with the orchestrator's workflows and activities (the knowledge ingestion
among them) until it is killed. The test SIGKILLs it while it embeds a document's chunks.
"""

from __future__ import annotations

import asyncio
import sys

from temporalio.client import Client

from centralita.kernel.db import open_pool
from centralita.kernel.temporal import DATA_CONVERTER, temporal_plugins
from tests.support.servers import instant_carrier, orchestrator_worker


async def main(address: str, database_url: str, queue: str) -> None:
    client = await Client.connect(
        address, data_converter=DATA_CONVERTER, plugins=temporal_plugins()
    )
    pool = await open_pool(database_url, min_size=1, max_size=2)
    async with orchestrator_worker(client, queue, pool, instant_carrier([])):
        print("serving", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
