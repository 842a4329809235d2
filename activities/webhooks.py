"""The webhook attempt activity: one signed POST of one delivery, logged.

It reads the delivery and its endpoint as they are now (a rotated secret, a switched-off
endpoint or a deleted subscription take effect at the next attempt), makes one logged
attempt (`centralita.webhooks.delivery`) and records what came back; then it decides
the delivery's status and, when it stays pending, the delay before the next attempt
(`delay_before`, jitter seeded by the workflow).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio import activity

from centralita.kernel.db import Pool
from centralita.kernel.key_ring import KeyRing
from centralita.kernel.tasks import stop_tasks
from centralita.kernel.tracing_http import client_span, record_response
from centralita.kernel.tracing_links import trace_link
from centralita.webhooks import store
from centralita.webhooks.delivery import UnsignableDeliveryError, logged_attempt
from centralita.webhooks.messages import AttemptInput, AttemptResult, DeliveryState
from centralita.webhooks.models import DeliveryStatus
from centralita.webhooks.retry_schedule import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_SCHEDULE,
    delay_before,
)
from centralita.webhooks.sender import AttemptOutcome

log = logging.getLogger(__name__)

# An endpoint may hold this many of a worker's activity slots at once; beyond it its
# attempts wait (without using a step of the schedule) so that a hanging endpoint cannot
# starve the others.
DEFAULT_ENDPOINT_CONCURRENCY = 10
DEFERRED_S = (1.0, 3.0)  # how long a deferred attempt waits, spread at random


class WebhookActivities:
    """Attempts bound to the database and the delivery settings.

    Args:
        pool: the database.
        keys: the key ring that opens the endpoints' stored secrets.
        schedule: the retry schedule (`webhook_schedule`).
        max_attempts: attempts per run of the schedule before a delivery fails.
        timeout_s: the HTTP timeout of one attempt.
        allow_hosts: the SSRF allow-list (local development).
        endpoint_concurrency: requests in flight per endpoint on this worker.
        client: a shared HTTP client (no proxy); None: one per attempt.
    """

    def __init__(
        self,
        pool: Pool,
        *,
        keys: KeyRing,
        schedule: Sequence[timedelta] = DEFAULT_SCHEDULE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        timeout_s: float = 10.0,
        allow_hosts: Collection[str] = (),
        endpoint_concurrency: int = DEFAULT_ENDPOINT_CONCURRENCY,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._pool = pool
        self._keys = keys
        self._schedule = tuple(schedule)
        self._max_attempts = max_attempts
        self._timeout_s = timeout_s
        self._allow_hosts = tuple(allow_hosts)
        self._endpoint_concurrency = endpoint_concurrency
        self._client = client
        self._in_flight: Counter[str] = Counter()

    @activity.defn(name="webhook_attempt")
    async def attempt(self, request: AttemptInput) -> AttemptResult:
        """Try the delivery once (or settle it without trying, when nothing is left to do)."""
        async with _heartbeating():
            async with self._pool.connection() as conn:
                # A secret that will not open raises: an operator's missing key is fixed by
                # adding it, and the activity's retries then find it.
                target = await store.attempt_target(conn, self._keys, request.delivery_id)
                if target is None:
                    return AttemptResult(state="deleted", attempted=False)
                if target.status != "pending":
                    return AttemptResult(state=_state(target.status), attempted=False)
                if not target.active:
                    await store.settle(conn, target.delivery_id, "disabled", "endpoint inactive")
                    return AttemptResult(state="disabled", attempted=False)
            if self._in_flight[target.webhook_id] >= self._endpoint_concurrency:
                wait = random.Random(request.rng_seed).uniform(*DEFERRED_S)  # noqa: S311
                return AttemptResult(
                    state="pending", attempted=False, retry_in_s=wait, counts=False
                )
            self._in_flight[target.webhook_id] += 1
            try:
                return await self._attempt(target, request)
            finally:
                self._in_flight[target.webhook_id] -= 1

    async def _attempt(self, target: store.AttemptTarget, request: AttemptInput) -> AttemptResult:
        try:
            number, outcome = await self._traced_attempt(target)
        except UnsignableDeliveryError as exc:  # retrying cannot help
            async with self._pool.connection() as conn:
                await store.settle(conn, target.delivery_id, "failed", f"cannot sign: {exc}")
            return AttemptResult(state="failed", attempted=False)
        state, retry_in = self._judge(outcome, request)
        next_at = datetime.now(UTC) + retry_in if retry_in is not None else None
        async with self._pool.connection() as conn, conn.transaction():
            await store.finish_attempt(
                conn,
                target.delivery_id,
                number,
                outcome,
                status=state,
                next_attempt_at=next_at,
            )
            if outcome.verdict == "gone":
                reason = f"HTTP 410 Gone on {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
                await store.set_active(conn, target.tenant_id, target.webhook_id, False, reason)
        log.info(
            "webhook %s delivery %s attempt %d: %s %s (%.0f ms)",
            target.webhook_id,
            target.delivery_id,
            number,
            outcome.verdict,
            outcome.status_code or outcome.error,
            outcome.latency_ms,
        )
        return AttemptResult(
            state=state,
            attempted=True,
            attempt=number,
            verdict=outcome.verdict,
            status_code=outcome.status_code,
            retry_in_s=retry_in.total_seconds() if retry_in is not None else None,
        )

    async def _traced_attempt(self, target: store.AttemptTarget) -> tuple[int, AttemptOutcome]:
        """The logged attempt, as a client span linked to the span that recorded its event.

        Linked, not parented: the attempt runs in its delivery workflow's trace, begun by
        the outbox dispatcher (`centralita.kernel.tracing_links` says why).
        """
        link = trace_link(target.payload)
        attributes: dict[str, str | int] = {
            "centralita.webhook_id": target.webhook_id,
            "centralita.delivery_id": target.delivery_id,
            "centralita.event_id": target.event_id,
            "centralita.event_type": target.event_type,
        }
        for field in ("call_key", "campaign_id"):
            value = target.payload.get(field)
            if isinstance(value, str) and value:
                attributes[f"centralita.{field}"] = value
        with client_span(
            "POST", target.url, attributes=attributes, links=[link] if link else []
        ) as (span, _):
            number, outcome = await logged_attempt(
                self._pool,
                target,
                timeout_s=self._timeout_s,
                allow_hosts=self._allow_hosts,
                client=self._client,
            )
            span.set_attribute("centralita.webhook.attempt", number)
            span.set_attribute("centralita.webhook.verdict", outcome.verdict)
            no_reply = "no_response" if outcome.status_code is None else None
            record_response(span, outcome.status_code, no_reply)
        return number, outcome

    def _judge(
        self, outcome: AttemptOutcome, request: AttemptInput
    ) -> tuple[DeliveryStatus, timedelta | None]:
        """The delivery's status after this outcome, and the wait before the next try."""
        if outcome.verdict == "delivered":
            return "delivered", None
        if outcome.verdict == "gone":
            return "disabled", None
        if outcome.verdict == "refused" or request.schedule_attempt >= self._max_attempts:
            return "failed", None
        delay = delay_before(
            request.schedule_attempt + 1,
            self._schedule,
            rng=random.Random(request.rng_seed),  # noqa: S311 - jitter, seeded by the workflow
            retry_after=outcome.retry_after,
        )
        return "pending", delay


_SETTLED: dict[str, DeliveryState] = {
    "delivered": "delivered",
    "failed": "failed",
    "disabled": "disabled",
}


def _state(status: str) -> DeliveryState:
    return _SETTLED[status]


@contextlib.asynccontextmanager
async def _heartbeating() -> AsyncIterator[None]:
    """Heartbeat while the body runs, so a dead worker is noticed within the heartbeat
    timeout rather than after the whole start-to-close timeout."""
    timeout = activity.info().heartbeat_timeout
    interval = timeout.total_seconds() / 3 if timeout else 5.0

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval)
            activity.heartbeat()

    beating = asyncio.create_task(beat())
    try:
        yield
    finally:
        await stop_tasks((beating,), what="the heartbeat")


def activity_methods(activities: WebhookActivities) -> list[Callable[..., Any]]:
    """The activity callables a worker registers."""
    return [activities.attempt]
