"""The outbox dispatcher and ordered delivery on the real Temporal dev server.

Events are recorded the way producers record them (`emit`, NOTIFY); the dispatcher
(`Dispatcher.run`, woken by NOTIFY) plans deliveries and the real worker sends them to
receivers on 127.0.0.1 that verify signatures with `standardwebhooks` and deduplicate
by `webhook-id`. Each test has a tenant of its own, so only its subscriptions match.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from centralita.kernel.db import Pool
from centralita.kernel.events import call_subject, campaign_subject, emit
from centralita.webhooks import store
from centralita.webhooks.models import EventRow
from tests.support.webhooks import (
    Reply,
    WebhookReceiver,
    deliveries,
    delivering,
    new_tenant,
    record_event,
    subscribe,
    until,
)
from workers.webhook_dispatch import Dispatcher, DispatchOptions

pytestmark = pytest.mark.integration


async def test_a_calls_events_arrive_in_order_even_when_the_first_needs_a_retry(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    tenant = await new_tenant(pool)
    # call_started's first attempt is held until call_ended is planned, then fails: the
    # later event is queued while the earlier one is still being retried.
    release = asyncio.Event()
    async with WebhookReceiver(replies=[Reply(500, hold=release)]) as crm:
        webhook, secret = await subscribe(pool, tenant, crm.url)
        crm.secrets.append(secret)
        async with delivering(dev_env.client, pool, database_url):
            subject = call_subject(f"attempt-{uuid.uuid4().hex[:8]}")
            started = await record_event(pool, tenant, "call_started", subject=subject)
            await crm.wait_for(1)
            ended = await record_event(pool, tenant, "call_ended", subject=subject)

            async def both_planned() -> bool:
                return len(await deliveries(pool, webhook.id)) == 2

            await until(both_planned)
            await asyncio.sleep(0.2)  # the signal reaches the workflow
            release.set()
            got = await crm.wait_for(2)
    assert [(r.webhook_id, r.event["type"]) for r in got] == [
        (started, "call_started"),
        (ended, "call_ended"),
    ]
    # What the endpoint saw: call_started failed once, was retried, then call_ended.
    assert [r.event["type"] for r in crm.received] == ["call_started"] * 2 + ["call_ended"]
    assert all(r.verified_by == (secret,) for r in crm.received)
    rows = await deliveries(pool, webhook.id)
    assert [(r["event_type"], r["status"], r["attempts"]) for r in rows] == [
        ("call_started", "delivered", 2),
        ("call_ended", "delivered", 1),
    ]


async def test_dead_endpoints_do_not_delay_another_endpoints_deliveries(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    tenant = await new_tenant(pool)
    never = asyncio.Event()
    async with (
        WebhookReceiver(default=Reply(200, hold=never)) as hanging,
        WebhookReceiver(default=Reply(500)) as failing,
        WebhookReceiver() as healthy,
    ):
        for endpoint in (hanging, failing, healthy):
            await subscribe(pool, tenant, endpoint.url)
        # Attempts to the hanging endpoint only end at this timeout: far past the test.
        async with delivering(dev_env.client, pool, database_url, timeout_s=30.0):
            recorded: dict[str, float] = {}
            for n in range(12):
                subject = call_subject(f"call-{n % 4}") if n % 3 else None
                event_id = await record_event(
                    pool, tenant, "turn_completed", subject=subject, data={"n": n}
                )
                recorded[event_id] = time.time()
            await hanging.wait_for(1)
            await failing.wait_for(1)
            got = await healthy.wait_for(len(recorded))
            # Every event reached the healthy endpoint while the hanging one had answered
            # none of its requests and the failing one only failures.
            assert hanging.answered == 0
            assert failing.received
            never.set()
    assert {r.webhook_id for r in got} == recorded.keys()
    latency_ms = [(r.at - recorded[r.webhook_id]) * 1000 for r in got]
    print(
        f"\nwebhook latency, event recorded -> healthy endpoint got it, beside a hanging "
        f"and a failing endpoint ({len(latency_ms)} events): median "
        f"{statistics.median(latency_ms):.0f} ms, max {max(latency_ms):.0f} ms"
    )


async def test_switching_an_endpoint_off_stops_its_retries(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    tenant = await new_tenant(pool)
    async with WebhookReceiver(default=Reply(500)) as crm:
        webhook, _ = await subscribe(pool, tenant, crm.url)
        async with delivering(dev_env.client, pool, database_url, max_attempts=10):
            await record_event(pool, tenant, "error")
            await crm.wait_for(1)
            async with pool.connection() as conn:
                await store.set_active(conn, tenant, webhook.id, False, "paused by the CRM team")
            tried = len(crm.received)
            await asyncio.sleep(1.5)  # the schedule's next step is 1 s: it would be here
    assert len(crm.received) == tried
    [delivery] = await deliveries(pool, webhook.id)
    assert delivery["status"] == "disabled"
    assert "paused by the CRM team" in delivery["last_error"]


async def test_deliveries_planned_before_a_crash_are_handed_over_after_the_restart(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    tenant = await new_tenant(pool)
    async with WebhookReceiver() as crm:
        webhook, _ = await subscribe(pool, tenant, crm.url)
        event_id = await record_event(pool, tenant, "callback_scheduled")
        # A dispatcher died right after recording the delivery, before handing it over
        # (and before moving its cursor).
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT seq, id, tenant_id::text AS tenant_id, type, subject, payload, "
                "occurred_at, created_at FROM domain_events WHERE id = %s",
                (event_id,),
            )
            row = await cur.fetchone()
            assert row is not None
            [planned] = await store.plan_deliveries(conn, EventRow(**row))
        async with delivering(dev_env.client, pool, database_url):
            [got] = await crm.wait_for(1)
            await asyncio.sleep(0.5)  # room for a duplicate to show up
    assert got.webhook_id == event_id
    assert len(crm.received) == 1
    [delivery] = await deliveries(pool, webhook.id)
    assert (delivery["id"], delivery["status"]) == (planned.delivery_id, "delivered")


async def test_the_cursor_waits_for_an_uncommitted_event_and_passes_a_rolled_back_one(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    tenant = await new_tenant(pool)
    options = DispatchOptions(task_queue="unused", gap_grace_s=0.2, name=f"gaps-{tenant}")
    dispatcher = Dispatcher(pool, dev_env.client, database_url, options)
    await dispatcher.dispatch_once()
    start = await _cursor(pool, options.name)
    async with pool.connection() as slow:
        async with slow.transaction():
            await _emit(slow, tenant, "slow")  # takes seq start+1, commits last
            await record_event(pool, tenant, "opt_out")  # seq start+2, committed now
            await dispatcher.dispatch_once()
            assert await _cursor(pool, options.name) == start  # held below the gap
        await dispatcher.dispatch_once()
        assert await _cursor(pool, options.name) == start + 2  # filled: moves on
        async with slow.transaction(force_rollback=True):
            await _emit(slow, tenant, "doomed")  # takes start+3, rolled back
            await record_event(pool, tenant, "opt_out")  # start+4
    await dispatcher.dispatch_once()
    assert await _cursor(pool, options.name) == start + 2

    async def passed() -> bool:
        await dispatcher.dispatch_once()
        return await _cursor(pool, options.name) == start + 4

    await until(passed, timeout_s=10, every_s=0.1)


async def test_the_dispatcher_stops_cleanly_and_a_new_one_resumes_from_the_cursor(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    tenant = await new_tenant(pool)
    async with WebhookReceiver() as crm:
        await subscribe(pool, tenant, crm.url, events=["campaign_completed"])
        async with delivering(dev_env.client, pool, database_url) as first:
            campaign = campaign_subject(str(uuid.uuid4()))
            await record_event(pool, tenant, "campaign_started", subject=campaign)  # unwanted
            done = await record_event(pool, tenant, "campaign_completed", subject=campaign)
            await crm.wait_for(1)
        name = first.options.name
        cursor = await _cursor(pool, name)
        missed = await record_event(pool, tenant, "campaign_completed")  # while none runs
        stop = asyncio.Event()
        async with delivering(dev_env.client, pool, database_url, dispatch=False) as worker:
            options = DispatchOptions(task_queue=worker.options.task_queue, name=name, poll_s=0.5)
            resumed = Dispatcher(pool, dev_env.client, database_url, options)
            task = asyncio.create_task(resumed.run(stop))
            got = await crm.wait_for(2)

            async def past_missed() -> bool:
                return await _cursor(pool, name) >= await _seq(pool, missed)

            await until(past_missed)  # a gap another test left may hold it a moment
            stop.set()
            await asyncio.wait_for(task, 5)
    assert [r.webhook_id for r in got] == [done, missed]
    assert await _seq(pool, missed) > cursor


async def _cursor(pool: Pool, name: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT last_seq FROM webhook_dispatch_cursor WHERE name = %s", (name,)
        )
        row = await cur.fetchone()
    return int(row["last_seq"]) if row else 0


async def _seq(pool: Pool, event_id: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT seq FROM domain_events WHERE id = %s", (event_id,))
        row = await cur.fetchone()
    assert row is not None
    return int(row["seq"])


async def _emit(conn: object, tenant: str, label: str) -> None:
    await emit(
        conn,  # type: ignore[arg-type]
        event_id=f"evt_{label}_{uuid.uuid4().hex}",
        tenant_id=tenant,
        type="error",
        data={"label": label},
    )


async def test_one_event_at_a_time_latency(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    """Not a timing assertion: prints the figure the README quotes."""
    tenant = await new_tenant(pool)
    async with WebhookReceiver() as crm:
        await subscribe(pool, tenant, crm.url)
        async with delivering(dev_env.client, pool, database_url):
            latency_ms = []
            for n in range(10):
                subject = call_subject(f"latency-{n}") if n % 2 else None
                before = time.time()
                await record_event(pool, tenant, "call_ended", subject=subject)
                [*_, got] = await crm.wait_for(n + 1)
                latency_ms.append((got.at - before) * 1000)
    assert len(crm.unique) == 10
    print(
        f"\nwebhook latency, one event at a time (event recorded -> endpoint got it): "
        f"median {statistics.median(latency_ms):.0f} ms, min {min(latency_ms):.0f} ms, "
        f"max {max(latency_ms):.0f} ms"
    )
