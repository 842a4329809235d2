"""HumanCallbackWorkflow on Temporal's time-skipping server, run by the production
orchestrator worker (its real activity writes to the test database).

Each callback is stored as the media worker stores it and its workflow started as the
media worker starts it (`HumanCallbackStarter`); the API settles it as an operator's page
does (`POST /human-callbacks/{id}/done` or `/cancel`, which update the table and signal
the workflow). Hours and days pass as `env.sleep` skips them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.human_callbacks import HumanCallbackActivities
from centralita.handoff import callbacks_store
from centralita.handoff.callback_messages import HumanCallbackResult
from centralita.handoff.models import HandoffContext, NewHumanCallback
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from tests.support.servers import (
    AppClients,
    instant_carrier,
    orchestrator_worker,
    settings_for,
    task_queue,
    until,
)
from workers.human_callback_starter import HumanCallbackStarter
from workers.human_callback_sweeper import HumanCallbackSweeper
from workflows.human_callback import EXPIRES_AFTER, HumanCallbackWorkflow

pytestmark = pytest.mark.integration

DUE_IN = timedelta(hours=2)
Handle = WorkflowHandle[HumanCallbackWorkflow, HumanCallbackResult]


@pytest.fixture
async def worker(time_skipping_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[Worker]:
    orchestrator = orchestrator_worker(
        time_skipping_env.client, task_queue(), pool, instant_carrier([])
    )
    async with orchestrator:
        yield orchestrator


@pytest.fixture
async def api(
    database_url: str, time_skipping_env: WorkflowEnvironment, app_clients: AppClients
) -> httpx.AsyncClient:
    settings = settings_for(database_url, "127.0.0.1:1")
    return await app_clients.open(settings, time_skipping_env.client)


async def stored_callback(pool: Pool, due_at: datetime | None = None) -> str:
    """A callback owed to María, stored as the media worker stores it; its id."""
    new = NewHumanCallback(
        tenant_id=DEFAULT_TENANT_ID,
        call_key=f"campaign-c-contact-{uuid.uuid4().hex[:8]}-attempt-1",
        phone="+56961234567",
        name="María González",
        reason="nadie estaba libre: pidió hablar con una persona",
        due_at=due_at or datetime.now(UTC) + DUE_IN,
        context=HandoffContext(name="María González", phone_masked="•••• 4567"),
    )
    async with pool.connection() as conn:
        return (await callbacks_store.insert(conn, new)).id


async def owed(env: WorkflowEnvironment, pool: Pool, worker: Worker) -> tuple[str, Handle]:
    """A callback owed to María, due in two hours of the server's time, and its workflow
    started as the media worker starts it: (callback id, its workflow's handle)."""
    callback_id = await stored_callback(pool, await env.get_current_time() + DUE_IN)
    async with pool.connection() as conn:
        callback = await callbacks_store.get(conn, callback_id)
    assert callback is not None

    await HumanCallbackStarter.using(env.client, worker.task_queue).start(
        DEFAULT_TENANT_ID, callback
    )
    handle = env.client.get_workflow_handle_for(HumanCallbackWorkflow.run, callback.workflow_id)
    return callback.id, handle


async def state_of(pool: Pool, callback_id: str) -> str:
    async with pool.connection() as conn:
        callback = await callbacks_store.get(conn, callback_id, DEFAULT_TENANT_ID)
    assert callback is not None
    return callback.state


async def activities_scheduled(handle: Handle) -> int:
    history = await handle.fetch_history()
    return sum(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED for e in history.events)


async def test_a_callback_is_due_at_its_time_and_done_when_an_operator_says_so(
    time_skipping_env: WorkflowEnvironment, pool: Pool, worker: Worker, api: httpx.AsyncClient
) -> None:
    env = time_skipping_env
    callback_id, handle = await owed(env, pool, worker)
    await env.sleep(DUE_IN - timedelta(minutes=1))
    assert await handle.query(HumanCallbackWorkflow.state) == "scheduled"
    assert await state_of(pool, callback_id) == "scheduled"

    await env.sleep(timedelta(minutes=2))

    async def marked_due() -> bool:
        return await state_of(pool, callback_id) == "due"

    await until(marked_due)
    assert await handle.query(HumanCallbackWorkflow.state) == "due"
    name = f"Ana {uuid.uuid4().hex[:4]}"
    signed = await api.post("/operators/sign-in", json={"name": name})
    assert signed.status_code == 200, signed.text
    done = {"operator_id": signed.json()["id"], "disposition": "promise_to_pay"}
    reported = await api.post(f"/human-callbacks/{callback_id}/done", json=done)
    assert reported.status_code == 200, reported.text

    assert await handle.result() == HumanCallbackResult(state="done", by=name)
    assert await state_of(pool, callback_id) == "done"
    assert await activities_scheduled(handle) == 1


async def test_a_callback_cancelled_before_its_time_ends_without_being_due(
    time_skipping_env: WorkflowEnvironment, pool: Pool, worker: Worker, api: httpx.AsyncClient
) -> None:
    env = time_skipping_env
    callback_id, handle = await owed(env, pool, worker)
    await env.sleep(timedelta(minutes=30))
    cancelled = await api.post(f"/human-callbacks/{callback_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    started = await env.get_current_time()

    assert await handle.result() == HumanCallbackResult(state="cancelled")
    assert await env.get_current_time() - started < DUE_IN  # it did not wait for the time
    assert await state_of(pool, callback_id) == "cancelled"
    assert await activities_scheduled(handle) == 0  # never marked due


async def test_a_callback_nobody_settles_expires_a_week_after_its_time(
    time_skipping_env: WorkflowEnvironment, pool: Pool, worker: Worker
) -> None:
    env = time_skipping_env
    callback_id, handle = await owed(env, pool, worker)
    started = await env.get_current_time()
    await env.sleep(DUE_IN + timedelta(minutes=1))

    async def marked_due() -> bool:
        return await state_of(pool, callback_id) == "due"

    await until(marked_due)
    await env.sleep(EXPIRES_AFTER - timedelta(hours=1))
    described = await handle.describe()
    assert (
        described.status == WorkflowExecutionStatus.RUNNING
    )  # an hour short of a week after its time

    # The starter's handle is not the test client's: its result does not skip time itself.
    await env.sleep(timedelta(hours=1, minutes=1))
    assert await handle.result() == HumanCallbackResult(state="expired")
    assert await env.get_current_time() - started >= DUE_IN + EXPIRES_AFTER
    assert await state_of(pool, callback_id) == "due"  # left for a person to see


async def test_a_callback_settled_while_temporal_was_away_ends_at_its_time(
    time_skipping_env: WorkflowEnvironment,
    pool: Pool,
    worker: Worker,
    database_url: str,
    app_clients: AppClients,
) -> None:
    """The API settles the table even when it cannot signal the workflow: at its time the
    workflow finds it settled and ends (it once waited a week and reported `expired`)."""
    env = time_skipping_env
    callback_id, handle = await owed(env, pool, worker)
    cut_off = await app_clients.open(settings_for(database_url, "127.0.0.1:1"))
    cancelled = await cut_off.post(f"/human-callbacks/{callback_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert await handle.query(HumanCallbackWorkflow.state) == "scheduled"  # not told

    await env.sleep(DUE_IN + timedelta(minutes=1))

    async def ended() -> bool:
        return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING

    await until(ended)
    assert await handle.result() == HumanCallbackResult(state="settled")
    assert await state_of(pool, callback_id) == "cancelled"  # never marked due over it


async def test_marking_due_twice_is_still_due_and_a_settled_one_is_not(pool: Pool) -> None:
    """An activity retried after it marked the callback (its completion lost) still says
    due: only a settled callback answers False."""
    env = ActivityEnvironment()
    callback_id = await stored_callback(pool)
    mark = HumanCallbackActivities(pool).mark_callback_due
    assert await env.run(mark, callback_id) is True
    assert await env.run(mark, callback_id) is True
    async with pool.connection() as conn:
        await callbacks_store.settle(conn, DEFAULT_TENANT_ID, callback_id, state="cancelled")
    assert await env.run(mark, callback_id) is False
    assert await state_of(pool, callback_id) == "cancelled"


async def workflow_status(env: WorkflowEnvironment, callback_id: str) -> str | None:
    """The callback's workflow's status, None when it was never started."""
    handle = env.client.get_workflow_handle(f"human-callback-{callback_id}")
    try:
        described = await handle.describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return None if described.status is None else described.status.name


async def test_the_sweep_starts_callbacks_stored_while_temporal_was_away(
    time_skipping_env: WorkflowEnvironment, pool: Pool, worker: Worker
) -> None:
    """Three callbacks the media worker stored without reaching Temporal, and one settled
    meanwhile: the sweep (read a page of two at a time) starts the three, not the settled
    one; a second sweep, or a restarted orchestrator's, starts nothing again."""
    env = time_skipping_env
    now = await env.get_current_time()
    missing = [await stored_callback(pool, now + DUE_IN) for _ in range(3)]
    settled = await stored_callback(pool, now + DUE_IN)
    async with pool.connection() as conn:
        await callbacks_store.settle(conn, DEFAULT_TENANT_ID, settled, state="cancelled")
    starter = HumanCallbackStarter.using(env.client, worker.task_queue)
    sweeper = HumanCallbackSweeper(pool, starter, page=2)

    assert await sweeper.sweep_once() >= 3
    assert [await workflow_status(env, c) for c in missing] == ["RUNNING"] * 3
    assert await workflow_status(env, settled) is None
    assert await sweeper.sweep_once() == 0
    assert await HumanCallbackSweeper(pool, starter).sweep_once() == 0

    await env.sleep(DUE_IN + timedelta(minutes=1))

    async def all_due() -> bool:
        return [await state_of(pool, c) for c in missing] == ["due"] * 3

    await until(all_due)


async def test_the_orchestrators_sweep_starts_a_callback_once_temporal_is_back(
    time_skipping_env: WorkflowEnvironment, pool: Pool, worker: Worker
) -> None:
    """The sweep runs on in the orchestrator: a sweep that cannot reach Temporal is
    logged, and the next one starts the stored callback's workflow."""
    env = time_skipping_env
    callback_id = await stored_callback(pool, await env.get_current_time() + DUE_IN)
    tries = 0

    async def connect_on_the_third_try() -> Client:
        nonlocal tries
        tries += 1
        if tries < 3:
            raise RuntimeError("Failed client connect: Connection refused")
        return env.client

    sweeper = HumanCallbackSweeper(
        pool, HumanCallbackStarter(connect_on_the_third_try, worker.task_queue)
    )
    stop = asyncio.Event()
    sweeping = asyncio.create_task(sweeper.run(0.05, stop))
    try:

        async def started() -> bool:
            return await workflow_status(env, callback_id) == "RUNNING"

        await until(started)
    finally:
        stop.set()
        await asyncio.wait_for(sweeping, timeout=5)
    assert tries == 3
