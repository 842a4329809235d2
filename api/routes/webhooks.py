"""Webhook subscriptions: register, list, switch, rotate, test; deliveries and replays.

A subscription's secret (``whsec_...``) is shown once, in the response that creates or
rotates it; it signs every delivery as Standard Webhooks describes. URLs pass the SSRF
guard here and again at every attempt.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.auth import TenantId
from api.deps import Services
from api.limits import PageOffset
from api.services import TemporalUnavailableError
from centralita.kernel.events import EVENT_TYPES
from centralita.kernel.ids import is_uuid
from centralita.webhooks import store
from centralita.webhooks.delivery import UnsignableDeliveryError, logged_attempt
from centralita.webhooks.messages import DeliveryRunInput, QueuedDelivery
from centralita.webhooks.models import (
    ALL_EVENTS,
    TEST_EVENT_TYPE,
    AttemptVerdict,
    Delivery,
    DeliveryPage,
    DeliveryStatus,
    Webhook,
    WebhookPage,
)
from centralita.webhooks.signing import new_secret, parse_secret
from centralita.webhooks.ssrf import UnsafeUrl, check_url
from workflows.webhook_delivery import WebhookDeliveryWorkflow, single_workflow_id

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such webhook"}}
_KEY_FORMAT = "whsec_ followed by the base64 of 24 to 64 random bytes"


class WebhookCreate(BaseModel):
    """A new subscription."""

    url: str = Field(min_length=1, max_length=2048, description="http(s) URL, publicly routed")
    events: list[str] = Field(
        default_factory=lambda: [ALL_EVENTS],
        description='Event types to receive. "*" or an empty list: every type, including '
        "types added later. Known: " + ", ".join(EVENT_TYPES),
    )
    description: str | None = Field(default=None, max_length=500)
    active: bool = True
    secret: str | None = Field(default=None, description=f"Unset: generated. Else {_KEY_FORMAT}.")


class WebhookCreated(Webhook):
    """The stored subscription with its secret: the only response that shows it."""

    secret: str


class Toggle(BaseModel):
    """Set the state; without a body (or `active` null) the toggle flips it."""

    active: bool | None = None


class Rotation(BaseModel):
    """A new secret, and how long the current one keeps signing beside it."""

    overlap_s: int = Field(
        default=24 * 3600,
        ge=0,
        le=7 * 24 * 3600,
        description="Seconds both secrets sign every delivery (default 24 h; 0: switch now)",
    )
    secret: str | None = Field(default=None, description=f"Unset: generated. {_KEY_FORMAT}.")


class SecretRotated(BaseModel):
    """The new secret (shown only here) and the subscription."""

    secret: str
    webhook: Webhook


class TestSent(BaseModel):
    """What the endpoint made of a signed `webhook_test` event, sent just now."""

    delivery_id: str
    event_id: str
    verdict: AttemptVerdict
    status_code: int | None
    latency_ms: float
    error: str | None
    retry_after_s: float | None
    response_excerpt: str | None


def _found(webhook: Webhook | None, webhook_id: str) -> Webhook:
    if webhook is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no webhook {webhook_id}")
    return webhook


def _check_id(value: str, what: str) -> None:
    # A malformed id names nothing: 404, like an unknown one.
    if not is_uuid(value):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no {what} {value}")


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


def _events(requested: list[str]) -> list[str]:
    """Stored form: [] for every type, else the distinct known types asked for."""
    if not requested or ALL_EVENTS in requested:
        return []
    unknown = sorted(set(requested) - set(EVENT_TYPES))
    if unknown:
        raise _unprocessable(
            f"unknown event type(s): {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}"
        )
    return list(dict.fromkeys(requested))


def _secret(given: str | None) -> str:
    if given is None:
        return new_secret()
    try:
        parse_secret(given)
    except ValueError as exc:
        raise _unprocessable(str(exc)) from exc
    return given


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses={422: {"description": "bad or refused URL (SSRF), unknown event, bad secret"}},
)
async def create_webhook(
    request: WebhookCreate, services: Services, tenant: TenantId
) -> WebhookCreated:
    """Subscribe a URL to events. Keep the `secret` from this response: it is not shown
    again (rotate it to get a new one)."""
    events = _events(request.events)
    secret = _secret(request.secret)
    try:  # last: it may ask DNS
        await check_url(request.url, allow_hosts=services.settings.webhook_allow_hosts)
    except UnsafeUrl as exc:
        raise _unprocessable(str(exc)) from exc
    async with services.pool.connection() as conn:
        webhook = await store.create_webhook(
            conn,
            services.keys,
            tenant,
            url=request.url,
            events=events,
            description=request.description,
            active=request.active,
            secret=secret,
        )
    return WebhookCreated(**webhook.model_dump(), secret=secret)


@router.get("", response_model=WebhookPage)
async def list_webhooks(
    services: Services,
    tenant: TenantId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: PageOffset = 0,
) -> WebhookPage:
    """Subscriptions, oldest first (secrets are never listed)."""
    async with services.pool.connection() as conn:
        return await store.list_webhooks(conn, tenant, limit=limit, offset=offset)


@router.get("/{webhook_id}", response_model=Webhook, responses=_NOT_FOUND)
async def get_webhook(webhook_id: str, services: Services, tenant: TenantId) -> Webhook:
    """One subscription."""
    _check_id(webhook_id, "webhook")
    async with services.pool.connection() as conn:
        return _found(await store.get_webhook(conn, tenant, webhook_id), webhook_id)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND)
async def delete_webhook(webhook_id: str, services: Services, tenant: TenantId) -> Response:
    """Remove a subscription with its deliveries and their log; pending ones stop."""
    _check_id(webhook_id, "webhook")
    async with services.pool.connection() as conn:
        if not await store.delete_webhook(conn, tenant, webhook_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no webhook {webhook_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch("/{webhook_id}/toggle", response_model=Webhook, responses=_NOT_FOUND)
async def toggle_webhook(
    webhook_id: str, services: Services, tenant: TenantId, body: Toggle | None = None
) -> Webhook:
    """Switch a subscription off (its pending deliveries are settled as 'disabled') or on
    (new events flow again; replay what was missed)."""
    _check_id(webhook_id, "webhook")
    active = body.active if body else None
    async with services.pool.connection() as conn:
        webhook = await store.set_active(
            conn, tenant, webhook_id, active, "switched off through the API"
        )
    return _found(webhook, webhook_id)


@router.post("/{webhook_id}/rotate-secret", response_model=SecretRotated, responses=_NOT_FOUND)
async def rotate_secret(
    webhook_id: str, services: Services, tenant: TenantId, body: Rotation | None = None
) -> SecretRotated:
    """A new secret, shown once. The previous one keeps signing beside it (two
    signatures in `webhook-signature`) for `overlap_s`, so receivers can switch over."""
    _check_id(webhook_id, "webhook")
    rotation = body or Rotation()
    secret = _secret(rotation.secret)
    async with services.pool.connection() as conn:
        webhook = await store.rotate_secret(
            conn, services.keys, tenant, webhook_id, secret, timedelta(seconds=rotation.overlap_s)
        )
    return SecretRotated(secret=secret, webhook=_found(webhook, webhook_id))


@router.post("/{webhook_id}/test", response_model=TestSent, responses=_NOT_FOUND)
async def test_webhook(webhook_id: str, services: Services, tenant: TenantId) -> TestSent:
    """Send a signed `webhook_test` event now, once, and report what the endpoint said.

    The attempt is logged among the deliveries; it is not retried, and a 410 here does
    not disable the endpoint (a test is a question, not a delivery).
    """
    _check_id(webhook_id, "webhook")
    now = datetime.now(UTC)
    event_id = f"evt_test_{uuid.uuid4().hex}"
    async with services.pool.connection() as conn:
        _found(await store.get_webhook(conn, tenant, webhook_id), webhook_id)
        delivery_id = await store.record_test_delivery(
            conn,
            webhook_id,
            event_id=event_id,
            event_type=TEST_EVENT_TYPE,
            payload={"webhook_id": webhook_id, "message": "A test event from Centralita."},
            occurred_at=now,
        )
        target = await store.attempt_target(conn, services.keys, delivery_id)
    assert target is not None  # recorded just above
    settings = services.settings
    try:
        number, outcome = await logged_attempt(
            services.pool,
            target,
            timeout_s=settings.webhook_timeout_s,
            allow_hosts=settings.webhook_allow_hosts,
        )
    except UnsignableDeliveryError as exc:
        raise _unprocessable(f"the stored secret cannot sign: {exc}") from exc
    final: DeliveryStatus = "delivered" if outcome.verdict == "delivered" else "failed"
    async with services.pool.connection() as conn:
        await store.finish_attempt(
            conn, delivery_id, number, outcome, status=final, next_attempt_at=None
        )
    return TestSent(
        delivery_id=delivery_id,
        event_id=event_id,
        verdict=outcome.verdict,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        error=outcome.error,
        retry_after_s=outcome.retry_after.total_seconds() if outcome.retry_after else None,
        response_excerpt=outcome.response_excerpt,
    )


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage, responses=_NOT_FOUND)
async def list_deliveries(
    webhook_id: str,
    services: Services,
    tenant: TenantId,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: PageOffset = 0,
) -> DeliveryPage:
    """A subscription's deliveries, newest first, each with every attempt (status code,
    latency, error, Retry-After asked)."""
    _check_id(webhook_id, "webhook")
    async with services.pool.connection() as conn:
        _found(await store.get_webhook(conn, tenant, webhook_id), webhook_id)
        return await store.list_deliveries(
            conn, tenant, webhook_id, status=status_, limit=limit, offset=offset
        )


@router.post(
    "/deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Delivery,
    responses={
        404: {"description": "no such delivery"},
        409: {"description": "still being delivered, or the endpoint is switched off"},
        503: {"description": "Temporal is down"},
    },
)
async def replay_delivery(delivery_id: str, services: Services, tenant: TenantId) -> Delivery:
    """Deliver a settled delivery again, with the same `webhook-id` (receivers that saw
    it deduplicate) and a fresh run of the retry schedule."""
    _check_id(delivery_id, "delivery")
    async with services.pool.connection() as conn:
        try:
            started = await store.start_replay(conn, tenant, delivery_id)
        except store.DeliveryConflictError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
        if started is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no delivery {delivery_id}")
        replay, previous = started
        delivery = await store.get_delivery(conn, tenant, delivery_id)
    assert delivery is not None
    try:
        await _start_replay(services, delivery, replay)
    except (TemporalUnavailableError, RPCError) as exc:
        async with services.pool.connection() as conn:
            await store.undo_replay(conn, delivery_id, previous)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    return delivery


async def _start_replay(services: Services, delivery: Delivery, replay: int) -> None:
    settings = services.settings
    client = await services.temporal.get()
    # Already started: an earlier try of this same replay reached Temporal after all.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            WebhookDeliveryWorkflow.run,
            DeliveryRunInput(
                webhook_id=delivery.webhook_id,
                queue=[QueuedDelivery(delivery_id=delivery.id, seq=None)],
                attempt_timeout_s=settings.webhook_timeout_s,
            ),
            id=single_workflow_id(delivery.id, replay),
            task_queue=settings.webhook_task_queue,
        )
