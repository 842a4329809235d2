"""Replay a committed WebhookDeliveryWorkflow history: the determinism guard for it.

Like tests/integration/test_replay.py: the history was recorded from a real run
(`CENTRALITA_RECORD_HISTORIES=1` re-records it; only for a deliberate,
`workflow.patched()`-guarded change). It holds what a change is most likely to break: a
signal-with-start, a queue of two, a failed attempt and its durable retry timer, a second
signal, and the idle wait that ends the run.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from centralita.kernel.db import Pool
from centralita.kernel.events import call_subject
from centralita.kernel.temporal import DATA_CONVERTER
from centralita.webhooks.messages import DeliveryRunResult, QueuedDelivery
from tests.support.histories import records_histories
from tests.support.webhooks import (
    Reply,
    WebhookReceiver,
    delivering,
    new_tenant,
    plan_latest,
    record_event,
    subscribe,
)
from workflows.webhook_delivery import WebhookDeliveryWorkflow, ordered_workflow_id

pytestmark = pytest.mark.integration

HISTORY = Path(__file__).resolve().parents[1] / "histories" / "webhook_delivery_v1.json"


async def _record(env: WorkflowEnvironment, pool: Pool, database_url: str) -> None:
    tenant = await new_tenant(pool)
    subject = call_subject("replayed-call")
    async with WebhookReceiver(replies=[Reply(500)]) as crm:
        webhook, _ = await subscribe(pool, tenant, crm.url)
        async with delivering(env.client, pool, database_url, dispatch=False) as d:
            queued = []
            for kind in ("call_started", "call_ended"):
                await record_event(pool, tenant, kind, subject=subject)
                item = await plan_latest(pool, webhook.id)
                queued.append(QueuedDelivery(delivery_id=item.delivery_id, seq=item.event_seq))
            handle = await env.client.start_workflow(
                WebhookDeliveryWorkflow.run,
                d.run_input(webhook.id, subject),
                id=ordered_workflow_id(webhook.id, subject),
                task_queue=d.options.task_queue,
                start_signal="enqueue",
                start_signal_args=[queued[0]],
            )
            await handle.signal(WebhookDeliveryWorkflow.enqueue, queued[1])
            assert await handle.result() == DeliveryRunResult(delivered=2)
    HISTORY.write_text(json.dumps((await handle.fetch_history()).to_json_dict()))


@records_histories
async def test_record_webhook_history(
    time_skipping_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    await _record(time_skipping_env, pool, database_url)
    assert HISTORY.exists()


async def test_committed_webhook_history_replays() -> None:
    history = WorkflowHistory.from_json("webhook", await asyncio.to_thread(HISTORY.read_text))
    assert sum(e.HasField("timer_started_event_attributes") for e in history.events) >= 2
    replayer = Replayer(workflows=[WebhookDeliveryWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
