"""The post-call worker: PostCallWorkflow and its activities, on their own task queue.

Re-transcription runs Whisper with beam search for minutes per call, so it does not
share a process with the orchestrator (whose attempts must never wait on it) or with
the media worker (whose turns must never wait on it). One activity at a time by
default: two beam searches on two cores would each take twice as long.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from temporalio.client import Client
from temporalio.worker import Worker

from activities.post_call import PostCallActivities, activity_methods
from activities.reanalysis import ReanalysisActivities, reanalysis_activity_methods
from centralita.analysis import Summarizer
from centralita.analysis.llm_summary import LlmSummarizer
from centralita.kernel.db import Pool, open_pool
from centralita.kernel.llm import LlmEndpoint
from centralita.kernel.settings import Settings
from centralita.kernel.temporal import connect_temporal
from centralita.learning.correctors import tenant_corrector
from centralita.postcall.correction_step import CorrectorFactory
from centralita.postcall.messages import RetranscribePolicy
from realtime.offline.retranscription import offline_stt
from realtime.providers.base import SpeechToText
from workers.database import database_url
from workflows.post_call import PostCallWorkflow
from workflows.reanalysis import ReanalysisWorkflow

log = logging.getLogger(__name__)


def build_post_call_worker(
    client: Client,
    task_queue: str,
    pool: Pool,
    *,
    stt: SpeechToText | None = None,
    corrector_for: CorrectorFactory = tenant_corrector,
    retranscribe: RetranscribePolicy = "always",
    summarizer: Summarizer | None = None,
    analysis_version: int = 1,
    max_concurrent_activities: int = 1,
) -> Worker:
    """The post-call worker (shared by the process and the tests)."""
    activities = PostCallActivities(
        pool,
        stt or offline_stt(),
        corrector_for,
        retranscribe=retranscribe,
        summarizer=summarizer,
        analysis_version=analysis_version,
    )
    return Worker(
        client,
        task_queue=task_queue,
        # Bulk re-analysis runs here: its children are post-call workflows on this queue.
        workflows=[PostCallWorkflow, ReanalysisWorkflow],
        activities=[
            *activity_methods(activities),
            *reanalysis_activity_methods(ReanalysisActivities(pool)),
        ],
        max_concurrent_activities=max_concurrent_activities,
    )


def summarizer_for(settings: Settings) -> Summarizer | None:
    """The LLM summarizer the settings configure (None: summaries stay extractive)."""
    if not settings.post_call_summary_base_url:
        return None
    endpoint = LlmEndpoint(
        base_url=settings.post_call_summary_base_url,
        model=settings.post_call_summary_model,
        api_key=os.environ.get(settings.post_call_summary_api_key_env, "not-needed"),
    )
    return LlmSummarizer(endpoint)


async def run_post_call(settings: Settings) -> None:
    """Serve the post-call task queue until SIGINT/SIGTERM."""
    client = await connect_temporal(settings)
    pool = await open_pool(
        database_url(settings), min_size=1, max_size=max(2, settings.db_pool_max // 2)
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = build_post_call_worker(
        client,
        settings.post_call_task_queue,
        pool,
        retranscribe=settings.post_call_retranscribe,
        summarizer=summarizer_for(settings),
        analysis_version=settings.analysis_version,
    )
    log.info("post-call worker serving task queue %r", settings.post_call_task_queue)
    try:
        async with worker:
            await stop.wait()
    finally:
        await pool.close()
