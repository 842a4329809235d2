"""When no media worker has room, a call waits (never fails), visibly (issue 20).

A real Temporal dev server and Postgres; the production orchestrator worker; one
"media worker": the production call activity behind a `CallAdmission` of one call, on
a task queue of its own, registered and heartbeating as `MediaMembership` does (its
calls are the simulated carrier's, in-process). Three contacts are due at once: one
call runs, two wait. Their attempts show why in Temporal (the placement activity's
last failure) and count in the campaign's `calls_waiting_for_media`; then they run,
one after another, and the campaign completes with three results and no failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.calls import CallActivities
from activities.placement import CallAdmission
from centralita.campaigns.messages import CampaignStatus, campaign_workflow_id
from centralita.campaigns.policy import CampaignPolicy, CampaignResult, CampaignRunInput
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from centralita.telephony.media_workers import MediaWorker
from centralita.telephony.store import media_workers
from realtime.carrier.simulated import SimulatedCarrier
from tests.support.campaigns import ALWAYS_OPEN, Population, new_campaign, step
from tests.support.histories import records_histories
from tests.support.servers import orchestrator_worker, task_queue
from workflows.attempt import attempt_workflow_id
from workflows.campaign import CampaignWorkflow

pytestmark = pytest.mark.integration

TALK_S = 2.0
PLACED_HISTORY = Path(__file__).resolve().parents[1] / "histories" / "attempt_v3_placed.json"


@contextlib.asynccontextmanager
async def one_call_media_worker(
    client: Client, pool: Pool, carrier: SimulatedCarrier
) -> AsyncIterator[CallAdmission]:
    """A registered worker that holds one call at a time, heartbeating its load."""
    queue = task_queue()
    admission = CallAdmission(max_calls=1)
    announcement = MediaWorker(
        worker_id=f"solo-{queue}", task_queue=queue, address="http://127.0.0.1:9", max_calls=1
    )
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM media_workers")
        await media_workers.register(conn, announcement)

    async def heartbeats() -> None:
        while True:
            await asyncio.sleep(0.5)
            async with pool.connection() as conn:
                await media_workers.heartbeat(
                    conn, announcement.worker_id, active_calls=admission.active, draining=False
                )

    beating = asyncio.create_task(heartbeats())
    activities = CallActivities(pool, carrier, admission=admission)
    try:
        async with Worker(client, task_queue=queue, activities=[activities.place_call]):
            yield admission
    finally:
        beating.cancel()


async def test_calls_wait_for_room_visibly_and_then_all_run(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    campaign_id, waiting_seen, reasons, result = await waiting_campaign(dev_env, pool)

    assert waiting_seen == 2, waiting_seen
    assert any("no media worker has room: 1 live (0 draining), 1 of 1" in r for r in reasons), (
        reasons
    )
    assert result.status is CampaignStatus.COMPLETED
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT status, outcome FROM call_attempts WHERE campaign_id = %s", (campaign_id,)
        )
        attempts = await cur.fetchall()
        left = await media_workers.waiting_counts(conn, [campaign_id])
    assert attempts == [{"status": "completed", "outcome": "promise_to_pay"}] * 3
    assert left == {campaign_id: 0}  # each placed call stopped counting


@records_histories
async def test_record_a_placed_attempt_history(dev_env: WorkflowEnvironment, pool: Pool) -> None:
    """tests/histories/attempt_v3_placed.json: an attempt that waited, then was placed."""
    campaign_id, _, _, _ = await waiting_campaign(dev_env, pool)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT attempt_key FROM call_attempts WHERE campaign_id = %s "
            "ORDER BY started_at DESC LIMIT 1",
            (campaign_id,),
        )
        last = await cur.fetchone()
    assert last is not None
    history = await dev_env.client.get_workflow_handle(last["attempt_key"]).fetch_history()
    PLACED_HISTORY.write_text(json.dumps(history.to_json_dict()))


async def waiting_campaign(
    dev_env: WorkflowEnvironment, pool: Pool
) -> tuple[str, int, list[str], CampaignResult]:
    """Three calls due at once on a worker with room for one, run to the end."""
    population = Population()
    population.add("pays", 3, [step(CallOutcome.PROMISE_TO_PAY, talk_seconds=TALK_S)])
    policy = CampaignPolicy.model_validate({**ALWAYS_OPEN, "concurrency": 3})
    campaign_id = await new_campaign(pool, population, policy)
    client = dev_env.client
    queue = task_queue()
    carrier = SimulatedCarrier(population.personas)
    async with (
        one_call_media_worker(client, pool, carrier),
        orchestrator_worker(client, queue, pool, carrier),
    ):
        handle = await client.start_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(campaign_id=campaign_id, media_placement=True),
            id=campaign_workflow_id(campaign_id),
            task_queue=queue,
        )
        waiting_seen, reasons = await watch_waiting(pool, client, campaign_id)
        result = await asyncio.wait_for(handle.result(), 60)
    return campaign_id, waiting_seen, reasons, result


async def watch_waiting(pool: Pool, client: Client, campaign_id: str) -> tuple[int, list[str]]:
    """The most calls seen waiting at once, and what Temporal says of a waiting attempt."""
    most, reasons = 0, []
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id::text AS id FROM contacts WHERE campaign_id = %s", (campaign_id,)
        )
        contacts = [r["id"] for r in await cur.fetchall()]
    for _ in range(60):
        async with pool.connection() as conn:
            waiting = (await media_workers.waiting_counts(conn, [campaign_id]))[campaign_id]
        most = max(most, waiting)
        for contact in contacts:
            with contextlib.suppress(Exception):  # not started yet
                described = await client.get_workflow_handle(
                    attempt_workflow_id(campaign_id, contact, 1)
                ).describe()
                for pending in described.raw_description.pending_activities:
                    # Failure messages are encrypted too (the payload codec): decoded here
                    # as the Temporal UI decodes them through the codec endpoint.
                    failure = await client.data_converter.decode_failure(pending.last_failure)
                    reasons.append(str(failure))
        if most == 2 and any(reasons):
            break
        await asyncio.sleep(0.2)
    return most, reasons
