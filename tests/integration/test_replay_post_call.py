"""Replay committed post-call and re-analysis histories: determinism guard for those workflows.

Like tests/integration/test_replay.py for the campaign engine: the histories were recorded
from real runs on the dev server (`CENTRALITA_RECORD_HISTORIES=1` re-records them; only
for a deliberate, `workflow.patched()`-guarded change), and replaying them with today's
workflow code must not hit a non-determinism error.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.temporal import DATA_CONVERTER
from centralita.postcall.messages import PostCallInput
from centralita.postcall.reanalysis_messages import ReanalysisFilter, ReanalysisInput
from realtime.providers.whisper import WhisperSTT
from tests.support.histories import records_histories
from tests.support.stored_calls import insert_campaign, store_answered_call
from workers.post_call import build_post_call_worker
from workflows.post_call import PostCallWorkflow, post_call_workflow_id
from workflows.reanalysis import ReanalysisWorkflow

pytestmark = pytest.mark.integration

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
POST_CALL_HISTORY = HISTORIES / "post_call_v1.json"
REANALYSIS_HISTORY = HISTORIES / "reanalysis_v1.json"
# Child workflow ids derive from the parent's id: replay under the recorded one.
REANALYSIS_ID = "reanalysis-replay"
STARTED = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
TURNS = [
    ("Sí, con ella habla.", "Le llamo por su deuda de doscientos mil pesos."),
    ("Le puedo pagar loscientos mil pesos el viernes.", "Perfecto, queda registrado."),
]


async def _record(env: WorkflowEnvironment, pool: Pool) -> None:
    campaign_id = await insert_campaign(pool, "replay", "completed")
    stored = [
        await store_answered_call(
            pool, campaign_id, TURNS, started=STARTED + timedelta(minutes=n), position=n
        )
        for n in range(3)
    ]
    queue = f"replay-post-call-{uuid.uuid4().hex[:8]}"
    async with build_post_call_worker(env.client, queue, pool, stt=WhisperSTT()):
        post_call = await env.client.start_workflow(
            PostCallWorkflow.run,
            PostCallInput(call_key=stored[0].key),
            id=f"{post_call_workflow_id(stored[0].key)}-replay",
            task_queue=queue,
        )
        await post_call.result()
        # Pages of 2 and a history budget of 1: the recorded run continues as new.
        reanalysis = await env.client.start_workflow(
            ReanalysisWorkflow.run,
            ReanalysisInput(
                filter=ReanalysisFilter(tenant_id=DEFAULT_TENANT_ID, campaign_id=campaign_id),
                analysis_version=2,
                page_size=2,
                max_history_events=1,
            ),
            id=REANALYSIS_ID,
            task_queue=queue,
        )
        first_run = env.client.get_workflow_handle(reanalysis.id, run_id=reanalysis.result_run_id)
        await reanalysis.result()
    HISTORIES.mkdir(exist_ok=True)
    POST_CALL_HISTORY.write_text(json.dumps((await post_call.fetch_history()).to_json_dict()))
    REANALYSIS_HISTORY.write_text(json.dumps((await first_run.fetch_history()).to_json_dict()))


@records_histories
async def test_record_post_call_histories(dev_env: WorkflowEnvironment, pool: Pool) -> None:
    await _record(dev_env, pool)
    assert POST_CALL_HISTORY.exists()
    assert REANALYSIS_HISTORY.exists()


@pytest.mark.parametrize(
    ("path", "workflow_id", "min_events"),
    [(POST_CALL_HISTORY, "post-call", 20), (REANALYSIS_HISTORY, REANALYSIS_ID, 10)],
)
async def test_committed_post_call_history_replays(
    path: Path, workflow_id: str, min_events: int
) -> None:
    history = WorkflowHistory.from_json(workflow_id, await asyncio.to_thread(path.read_text))
    assert len(history.events) > min_events  # a real run, not an empty file
    replayer = Replayer(
        workflows=[PostCallWorkflow, ReanalysisWorkflow], data_converter=DATA_CONVERTER
    )
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
