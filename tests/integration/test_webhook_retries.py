"""Retries, Retry-After, 410, redirects and delivery-time refusals, on the time-skipping
Temporal server: the workflow's durable timers are read back from its history.

Deliveries are planned as the dispatcher plans them and delivered by the real worker to
receivers on 127.0.0.1 that verify every signature with the `standardwebhooks` library;
the attempt log is read through the API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from centralita.kernel.db import Pool
from centralita.kernel.events import call_subject
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.webhooks.messages import DeliveryRunResult, QueuedDelivery
from centralita.webhooks.retry_schedule import DEFAULT_SCHEDULE
from tests.support.servers import AppClients, settings_for
from tests.support.webhooks import (
    Reply,
    WebhookReceiver,
    attempts,
    deliveries,
    delivering,
    new_tenant,
    plan_latest,
    record_event,
    subscribe,
)
from workers.webhook_dispatch import Dispatcher
from workflows.webhook_delivery import (
    WebhookDeliveryWorkflow,
    ordered_workflow_id,
    single_workflow_id,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as server:
        yield server


async def _deliver(
    dispatcher: Dispatcher, env: WorkflowEnvironment, pool: Pool, webhook_id: str
) -> tuple[WorkflowHandle[WebhookDeliveryWorkflow, DeliveryRunResult], str]:
    """Plan the latest event's delivery and start its workflow from here, with the
    dispatcher's input (a handle started through the time-skipping client skips time
    while its result is awaited)."""
    item = await plan_latest(pool, webhook_id)
    handle = await env.client.start_workflow(
        WebhookDeliveryWorkflow.run,
        dispatcher.run_input(webhook_id, None).model_copy(
            update={"queue": [QueuedDelivery(delivery_id=item.delivery_id, seq=item.event_seq)]}
        ),
        id=single_workflow_id(item.delivery_id),
        task_queue=dispatcher.options.task_queue,
    )
    return handle, item.delivery_id


async def _timers(
    handle: WorkflowHandle[WebhookDeliveryWorkflow, DeliveryRunResult],
) -> list[float]:
    history = await handle.fetch_history()
    return [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
        for e in history.events
        if e.HasField("timer_started_event_attributes")
    ]


async def test_500_then_429_with_retry_after_then_200_follows_the_schedule_and_logs_each(
    time_skipping_env: WorkflowEnvironment,
    pool: Pool,
    database_url: str,
    receiver: WebhookReceiver,
    app_clients: AppClients,
) -> None:
    webhook, secret = await subscribe(pool, DEFAULT_TENANT_ID, receiver.url)
    receiver.secrets.append(secret)
    receiver.script(Reply(500), Reply(429, headers={"retry-after": "120"}), Reply(200))
    async with delivering(
        time_skipping_env.client, pool, database_url, schedule=DEFAULT_SCHEDULE, dispatch=False
    ) as dispatcher:
        event_id = await record_event(pool, DEFAULT_TENANT_ID, "promise_registered")
        handle, delivery_id = await _deliver(dispatcher, time_skipping_env, pool, webhook.id)
        result = await handle.result()

    assert result == DeliveryRunResult(delivered=1)
    first, second = await _timers(handle)
    assert 4.5 <= first <= 5.5  # the schedule's second step, 5 s ± 10 %
    assert 120.0 <= second <= 132.0  # Retry-After replaces the step (jitter only adds)
    assert [r.webhook_id for r in receiver.received] == [event_id] * 3  # one id throughout
    assert all(r.verified_by == (secret,) for r in receiver.received)
    assert receiver.received[0].event["type"] == "promise_registered"

    api = await app_clients.open(settings_for(database_url, "127.0.0.1:1"))
    page = (await api.get(f"/webhooks/{webhook.id}/deliveries")).json()
    [delivery] = page["items"]
    assert (delivery["id"], delivery["status"], delivery["attempts"]) == (
        delivery_id,
        "delivered",
        3,
    )
    log = delivery["attempt_log"]
    assert [a["status_code"] for a in log] == [500, 429, 200]
    assert [a["verdict"] for a in log] == ["retry", "retry", "delivered"]
    assert [a["retry_after_s"] for a in log] == [None, 120.0, None]
    assert all(a["latency_ms"] > 0 for a in log)
    failed = (await api.get(f"/webhooks/{webhook.id}/deliveries?status=failed")).json()
    assert failed == {"total": 0, "items": []}


async def test_a_410_disables_the_endpoint_and_settles_its_pending_deliveries(
    time_skipping_env: WorkflowEnvironment,
    pool: Pool,
    database_url: str,
    receiver: WebhookReceiver,
) -> None:
    tenant = await new_tenant(pool)
    webhook, _ = await subscribe(pool, tenant, receiver.url)
    receiver.script(Reply(410, body="this CRM integration was removed"))
    async with delivering(time_skipping_env.client, pool, database_url, dispatch=False) as d:
        await record_event(pool, tenant, "callback_scheduled")
        waiting = await plan_latest(pool, webhook.id)  # pending, its turn not come yet
        await record_event(pool, tenant, "opt_out")
        handle, delivery_id = await _deliver(d, time_skipping_env, pool, webhook.id)
        assert await handle.result() == DeliveryRunResult(disabled=1)
        await record_event(pool, tenant, "opt_out")  # after: not even planned
        await d.dispatch_once()

    rows = {row["id"]: row for row in await deliveries(pool, webhook.id)}
    assert rows.keys() == {delivery_id, waiting.delivery_id}
    assert (rows[delivery_id]["status"], rows[delivery_id]["attempts"]) == ("disabled", 1)
    assert (rows[waiting.delivery_id]["status"], rows[waiting.delivery_id]["attempts"]) == (
        "disabled",
        0,
    )
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT active, disabled_reason FROM webhooks WHERE id = %s", (webhook.id,)
        )
        row = await cur.fetchone()
    assert row is not None
    assert row["active"] is False
    assert "410" in row["disabled_reason"]
    assert len(receiver.received) == 1


async def test_a_redirect_is_not_followed_and_the_delivery_fails_after_max_attempts(
    time_skipping_env: WorkflowEnvironment,
    pool: Pool,
    database_url: str,
    receiver: WebhookReceiver,
) -> None:
    tenant = await new_tenant(pool)
    async with WebhookReceiver(default=Reply(302, headers={"location": receiver.url})) as mover:
        webhook, _ = await subscribe(pool, tenant, mover.url)
        async with delivering(
            time_skipping_env.client, pool, database_url, max_attempts=2, dispatch=False
        ) as d:
            await record_event(pool, tenant, "payment_link_requested")
            handle, delivery_id = await _deliver(d, time_skipping_env, pool, webhook.id)
            assert await handle.result() == DeliveryRunResult(failed=1)
        assert len(mover.received) == 2
    assert receiver.received == []  # the redirect's target never saw a request
    log = await attempts(pool, delivery_id)
    assert [a["status_code"] for a in log] == [302, 302]
    assert all(f"redirect to {receiver.url} not followed" in a["error"] for a in log)
    [delivery] = await deliveries(pool, webhook.id)
    assert delivery["status"] == "failed"


async def test_an_internal_url_is_refused_at_delivery_without_retrying(
    time_skipping_env: WorkflowEnvironment,
    pool: Pool,
    database_url: str,
    receiver: WebhookReceiver,
) -> None:
    # Stored as if it had passed registration (say DNS answered a public address then):
    # at delivery 127.0.0.1 is not allowed, so nothing is sent.
    tenant = await new_tenant(pool)
    webhook, _ = await subscribe(pool, tenant, receiver.url)
    async with delivering(
        time_skipping_env.client, pool, database_url, allow_hosts=(), dispatch=False
    ) as d:
        await record_event(pool, tenant, "sentiment_alert")
        handle, delivery_id = await _deliver(d, time_skipping_env, pool, webhook.id)
        assert await handle.result() == DeliveryRunResult(failed=1)
    assert receiver.received == []
    [attempt] = await attempts(pool, delivery_id)
    assert attempt["verdict"] == "refused"
    assert "loopback" in attempt["error"]
    assert await _timers(handle) == []


async def test_an_ordered_queue_survives_continue_as_new_in_order(
    time_skipping_env: WorkflowEnvironment,
    pool: Pool,
    database_url: str,
    receiver: WebhookReceiver,
) -> None:
    tenant = await new_tenant(pool)
    webhook, _ = await subscribe(pool, tenant, receiver.url)
    subject = call_subject("long-call")
    receiver.script(Reply(503))  # the first one needs a retry
    async with delivering(time_skipping_env.client, pool, database_url, dispatch=False) as d:
        queued = []
        for n in range(3):
            await record_event(pool, tenant, "turn_completed", subject=subject, data={"n": n})
            item = await plan_latest(pool, webhook.id)
            queued.append(QueuedDelivery(delivery_id=item.delivery_id, seq=item.event_seq))
        handle = await time_skipping_env.client.start_workflow(
            WebhookDeliveryWorkflow.run,
            d.run_input(webhook.id, subject).model_copy(
                update={"queue": queued[1:], "max_history_events": 1}
            ),
            id=ordered_workflow_id(webhook.id, subject),
            task_queue=d.options.task_queue,
            start_signal="enqueue",
            start_signal_args=[queued[0]],  # the earliest, signalled: still first
        )
        result = await handle.result()
    assert result == DeliveryRunResult(delivered=3)
    # Counted across runs: each run after the first got the previous runs' counts.
    first_run = time_skipping_env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
    last = (await first_run.fetch_history()).events[-1]
    assert last.HasField("workflow_execution_continued_as_new_event_attributes")
    assert [r.event["data"]["n"] for r in receiver.received] == [0, 0, 1, 2]
