"""A post-call worker that stops dead right after the analysis committed (crash tests).

`python -m tests.integration.post_call_worker_proc TEMPORAL_ADDRESS DATABASE_URL QUEUE
MARKER`: serves QUEUE with the production activities, except that `analyse`, once its
rows are committed, touches MARKER and hangs, so the test can SIGKILL this process
between the commit and the activity's completion: the worst moment for duplicates.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.post_call import PostCallActivities, activity_methods
from centralita.kernel.db import open_pool
from centralita.kernel.temporal import DATA_CONVERTER, temporal_plugins
from centralita.learning.correctors import tenant_corrector
from centralita.postcall.messages import Analysed, StepInput
from realtime.providers.whisper import WhisperSTT
from workflows.post_call import PostCallWorkflow


class HangsAfterAnalysis(PostCallActivities):
    """The production activities; `analyse` never reports its (committed) result."""

    def __init__(self, *args: object, marker: Path, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._marker = marker

    @activity.defn(name="analyse")
    async def analyse(self, step: StepInput) -> Analysed:
        await super().analyse(step)
        self._marker.write_text("analysed", encoding="utf-8")
        await asyncio.sleep(3600)
        raise AssertionError("killed long before")


async def main(address: str, database_url: str, queue: str, marker: str) -> None:
    client = await Client.connect(
        address, data_converter=DATA_CONVERTER, plugins=temporal_plugins()
    )
    pool = await open_pool(database_url, min_size=1, max_size=2)
    activities = HangsAfterAnalysis(pool, WhisperSTT(), tenant_corrector, marker=Path(marker))
    async with Worker(
        client,
        task_queue=queue,
        workflows=[PostCallWorkflow],
        activities=activity_methods(activities),
    ):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
