"""What the webhook delivery tests share: a CRM-like receiver, tenants, events, workers.

The receiver listens on 127.0.0.1, verifies every request with the `standardwebhooks`
library (as a CRM would, against each secret it holds) and deduplicates by
`webhook-id`, which is what the at-least-once delivery relies on. Its answers are
scripted: a status, headers, and optionally a hold (the request waits for an event).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from fastapi import Request, Response
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError
from temporalio.client import Client

from activities.webhooks import WebhookActivities
from centralita.kernel.db import Pool
from centralita.kernel.events import EventType, emit
from centralita.webhooks import store
from centralita.webhooks.models import EventRow, PlannedDelivery, Webhook
from centralita.webhooks.signing import new_secret
from tests.support.encryption import fixed_ring
from tests.support.fakes.loopback import LoopbackServer
from workers.webhook_dispatch import Dispatcher, DispatchOptions
from workers.webhooks import build_webhook_worker

LOCAL = ("127.0.0.1",)
QUICK_SCHEDULE = (timedelta(0), timedelta(seconds=1), timedelta(seconds=1))


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hold: asyncio.Event | None = None  # answer only once this is set
    body: str = "ok"


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    at: float  # time.time() on arrival
    headers: dict[str, str]
    body: bytes
    verified_by: tuple[str, ...]  # which of the receiver's secrets verify it

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def event(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


class WebhookReceiver(LoopbackServer):
    """A CRM endpoint: answers from `replies` in order, then `default`."""

    def __init__(
        self,
        secrets: Sequence[str] = (),
        replies: Iterable[Reply] = (),
        default: Reply | None = None,
    ) -> None:
        super().__init__()
        self.secrets = list(secrets)
        self.received: list[Received] = []
        self.answered = 0  # requests answered so far (a held one is not, yet)
        self._replies = deque(replies)
        self._default = default or Reply()
        self._arrived = asyncio.Condition()
        self.app.add_api_route("/{path:path}", self._answer, methods=["POST"])

    @property
    def url(self) -> str:
        return f"{self.origin}/hooks"

    def script(self, *replies: Reply) -> None:
        """Answer with these next."""
        self._replies.extend(replies)

    @property
    def unique(self) -> list[Received]:
        """What a receiver deduplicating by webhook-id keeps (first of each), in order."""
        firsts: dict[str, Received] = {}
        for request in self.received:
            firsts.setdefault(request.webhook_id, request)
        return list(firsts.values())

    async def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Received]:
        """Until `count` distinct webhook-ids arrived; those."""
        async with asyncio.timeout(timeout_s), self._arrived:
            await self._arrived.wait_for(lambda: len(self.unique) >= count)
        return self.unique

    async def _answer(self, path: str, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        verified = tuple(s for s in self.secrets if _verifies(s, body, headers))
        self.received.append(Received(time.time(), headers, body, verified))
        async with self._arrived:
            self._arrived.notify_all()
        reply = self._replies.popleft() if self._replies else self._default
        if reply.hold is not None:
            await reply.hold.wait()
        self.answered += 1
        return Response(reply.body, status_code=reply.status, headers=reply.headers)


def _verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        StandardWebhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


async def new_tenant(pool: Pool) -> str:
    """A tenant of its own, so no other test's subscriptions see this test's events."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO tenants (name) VALUES (%s) RETURNING id::text AS id",
            (f"t-{uuid.uuid4().hex[:12]}",),
        )
        row = await cur.fetchone()
    assert row is not None
    return str(row["id"])


async def subscribe(
    pool: Pool,
    tenant_id: str,
    url: str,
    *,
    events: list[str] | None = None,
    secret: str | None = None,
) -> tuple[Webhook, str]:
    """A stored subscription (events None: all) and its secret."""
    secret = secret or new_secret()
    async with pool.connection() as conn:
        webhook = await store.create_webhook(
            conn,
            fixed_ring(),
            tenant_id,
            url=url,
            events=events or [],
            description=None,
            active=True,
            secret=secret,
        )
    return webhook, secret


async def record_event(
    pool: Pool,
    tenant_id: str,
    type: EventType,
    *,
    subject: str | None = None,
    data: dict[str, Any] | None = None,
) -> str:
    """One domain event, recorded the way producers do; its id."""
    event_id = f"evt_{uuid.uuid4().hex}"
    async with pool.connection() as conn, conn.transaction():
        await emit(
            conn,
            event_id=event_id,
            tenant_id=tenant_id,
            type=type,
            data=data or {"n": 1},
            subject=subject,
        )
    return event_id


async def deliveries(pool: Pool, webhook_id: str) -> list[dict[str, Any]]:
    """The subscription's delivery rows, oldest event first."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id::text AS id, event_id, event_type, status, attempts, last_status_code, "
            "last_error FROM webhook_deliveries WHERE webhook_id = %s::uuid "
            "ORDER BY event_seq NULLS LAST, created_at",
            (webhook_id,),
        )
        return [dict(r) for r in await cur.fetchall()]


async def attempts(pool: Pool, delivery_id: str) -> list[dict[str, Any]]:
    """A delivery's attempt log."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT attempt, verdict, status_code, error, latency_ms, retry_after_s, started_at "
            "FROM webhook_attempts WHERE delivery_id = %s::uuid ORDER BY attempt",
            (delivery_id,),
        )
        return [dict(r) for r in await cur.fetchall()]


async def until(check: Any, timeout_s: float = 20.0, every_s: float = 0.05) -> None:
    """Poll the async `check` until it returns truthy."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(every_s)


@contextlib.asynccontextmanager
async def delivering(
    client: Client,
    pool: Pool,
    database_url: str,
    *,
    schedule: Sequence[timedelta] = QUICK_SCHEDULE,
    max_attempts: int = 5,
    timeout_s: float = 2.0,
    allow_hosts: Sequence[str] = LOCAL,
    heartbeat_timeout_s: float = 2.0,
    idle_s: float = 2.0,
    dispatch: bool = True,
) -> AsyncIterator[Dispatcher]:
    """A webhook worker on a fresh queue and, with `dispatch`, a dispatcher feeding it
    (its own cursor, so tests of one module do not share one)."""
    queue = f"webhooks-{uuid.uuid4().hex[:8]}"
    options = DispatchOptions(
        task_queue=queue,
        attempt_timeout_s=timeout_s,
        heartbeat_timeout_s=heartbeat_timeout_s,
        idle_s=idle_s,
        poll_s=0.5,
        name=f"test-{uuid.uuid4().hex[:8]}",
    )
    dispatcher = Dispatcher(pool, client, database_url, options)
    stop = asyncio.Event()
    async with httpx.AsyncClient(trust_env=False) as http:
        activities = WebhookActivities(
            pool,
            keys=fixed_ring(),
            schedule=schedule,
            max_attempts=max_attempts,
            timeout_s=timeout_s,
            allow_hosts=allow_hosts,
            client=http,
        )
        async with build_webhook_worker(client, queue, pool, activities):
            task = asyncio.create_task(dispatcher.run(stop)) if dispatch else None
            try:
                yield dispatcher
            finally:
                stop.set()
                if task is not None:
                    await asyncio.wait_for(task, 10)


async def plan_latest(pool: Pool, webhook_id: str) -> PlannedDelivery:
    """Plan the latest event's delivery to the webhook, as the dispatcher does."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT seq, id, tenant_id::text AS tenant_id, type, subject, payload, "
            "occurred_at, created_at FROM domain_events ORDER BY seq DESC LIMIT 1"
        )
        row = await cur.fetchone()
        assert row is not None
        planned = await store.plan_deliveries(conn, EventRow(**row))
    [item] = [p for p in planned if p.webhook_id == webhook_id]
    return item
