"""SQL for webhook subscriptions, their deliveries, the attempt log, and the dispatcher's
reading of the outbox (its cursor, its lock).

Every function takes an open connection, so a caller groups writes in one transaction
where they must agree (disabling an endpoint settles its pending deliveries with it).
Queries that a person's request reaches take the tenant id; the activity's queries go
by delivery id, which the dispatcher planned inside one tenant.

Secrets (`secret`, `previous_secret`) are sealed with the key ring on write and opened
on read here, each bound to its column and row (`centralita.kernel.stored_secrets`);
nothing else reads them, and no listing selects them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from centralita.kernel.db import Conn
from centralita.kernel.events import NOTIFY_CHANNEL
from centralita.kernel.key_ring import TEXT_PREFIX, KeyRing
from centralita.kernel.stored_secrets import (
    open_secret,
    reseal_secret,
    seal_secret,
    secret_context,
)
from centralita.webhooks.models import (
    ALL_EVENTS,
    Delivery,
    DeliveryPage,
    DeliveryStatus,
    EventRow,
    PlannedDelivery,
    Webhook,
    WebhookPage,
)
from centralita.webhooks.sender import AttemptOutcome


class DeliveryConflictError(RuntimeError):
    """A replay that cannot start now (still being delivered, or the endpoint is off)."""


_WEBHOOK = (
    "SELECT id::text AS id, url, events, description, active, disabled_reason, "
    "disabled_at, CASE WHEN previous_secret_expires_at > now() "
    "THEN previous_secret_expires_at END AS previous_secret_valid_until, "
    "created_at, updated_at FROM webhooks"
)
_WEBHOOK_RETURNING = (
    "RETURNING id::text AS id, url, events, description, active, disabled_reason, "
    "disabled_at, CASE WHEN previous_secret_expires_at > now() "
    "THEN previous_secret_expires_at END AS previous_secret_valid_until, "
    "created_at, updated_at"
)
_DELIVERY_COLUMNS = (
    "d.id::text AS id, d.webhook_id::text AS webhook_id, d.event_id, d.event_type, d.subject, "
    "d.status, d.attempts, d.replays, d.last_status_code, d.last_error, d.next_attempt_at, "
    "d.delivered_at, d.created_at"
)
_ATTEMPT_LOG = (
    "COALESCE((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, "
    "'started_at', a.started_at, 'finished_at', a.finished_at, 'verdict', a.verdict, "
    "'status_code', a.status_code, 'latency_ms', a.latency_ms, 'error', a.error, "
    "'retry_after_s', a.retry_after_s) ORDER BY a.attempt) "
    "FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'::jsonb) AS attempt_log"
)


def _secret_context(tenant_id: str, webhook_id: str) -> str:
    return secret_context("webhooks.secret", tenant_id, webhook_id)


def _previous_context(tenant_id: str, webhook_id: str) -> str:
    return secret_context("webhooks.previous_secret", tenant_id, webhook_id)


def _webhook(row: dict[str, Any]) -> Webhook:
    # Stored as an empty array, shown as ["*"]: "every type", now and added later.
    return Webhook(**{**row, "events": list(row["events"]) or [ALL_EVENTS]})


# -- subscriptions ----------------------------------------------------------------------


async def create_webhook(
    conn: Conn,
    ring: KeyRing,
    tenant_id: str,
    *,
    url: str,
    events: list[str],
    description: str | None,
    active: bool,
    secret: str,
) -> Webhook:
    """Store a subscription with its secret sealed; `events` empty means every type."""
    webhook_id = str(uuid.uuid4())  # chosen here: the sealed secret is bound to it
    sealed = seal_secret(ring, secret, _secret_context(tenant_id, webhook_id))
    cur = await conn.execute(
        "INSERT INTO webhooks (id, tenant_id, url, events, description, active, secret) "
        f"VALUES (%s::uuid, %s::uuid, %s, %s, %s, %s, %s) {_WEBHOOK_RETURNING}",
        (webhook_id, tenant_id, url, events, description, active, sealed),
    )
    row = await cur.fetchone()
    assert row is not None  # INSERT ... RETURNING always returns the row
    return _webhook(row)


async def get_webhook(conn: Conn, tenant_id: str, webhook_id: str) -> Webhook | None:
    """One subscription of the tenant (None: no such id)."""
    cur = await conn.execute(
        f"{_WEBHOOK} WHERE tenant_id = %s::uuid AND id = %s::uuid", (tenant_id, webhook_id)
    )
    row = await cur.fetchone()
    return _webhook(row) if row else None


async def list_webhooks(conn: Conn, tenant_id: str, *, limit: int, offset: int) -> WebhookPage:
    """The tenant's subscriptions, oldest first."""
    cur = await conn.execute(
        f"{_WEBHOOK} WHERE tenant_id = %s::uuid ORDER BY created_at, id LIMIT %s OFFSET %s",
        (tenant_id, limit, offset),
    )
    items = [_webhook(r) for r in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT count(*) AS n FROM webhooks WHERE tenant_id = %s::uuid", (tenant_id,)
    )
    total = await cur.fetchone()
    assert total is not None
    return WebhookPage(total=int(total["n"]), items=items)


async def delete_webhook(conn: Conn, tenant_id: str, webhook_id: str) -> bool:
    """Remove a subscription with its deliveries and their log (False: no such id).

    Workflows still holding its deliveries find them gone and stop.
    """
    cur = await conn.execute(
        "DELETE FROM webhooks WHERE tenant_id = %s::uuid AND id = %s::uuid",
        (tenant_id, webhook_id),
    )
    return cur.rowcount > 0


async def set_active(
    conn: Conn, tenant_id: str, webhook_id: str, active: bool | None, reason: str
) -> Webhook | None:
    """Switch a subscription on or off (`active` None: the opposite of now).

    Switching off records `reason` and settles its pending deliveries as 'disabled' in
    the same transaction: an inactive endpoint gets nothing more, and its delivery
    workflows find nothing pending when they wake. Switching on clears the reason; the
    deliveries settled meanwhile can be replayed.
    """
    async with conn.transaction():
        cur = await conn.execute(
            "UPDATE webhooks SET active = COALESCE(%(active)s, NOT active), "
            "disabled_reason = CASE WHEN COALESCE(%(active)s, NOT active) THEN NULL "
            "ELSE %(reason)s END, "
            "disabled_at = CASE WHEN COALESCE(%(active)s, NOT active) THEN NULL ELSE now() END, "
            "updated_at = now() WHERE tenant_id = %(tenant)s::uuid AND id = %(id)s::uuid "
            f"{_WEBHOOK_RETURNING}",
            {"active": active, "reason": reason, "tenant": tenant_id, "id": webhook_id},
        )
        row = await cur.fetchone()
        if row is None:
            return None
        if not row["active"]:
            await conn.execute(
                "UPDATE webhook_deliveries SET status = 'disabled', last_error = %s, "
                "next_attempt_at = NULL, updated_at = now() "
                "WHERE webhook_id = %s::uuid AND status = 'pending'",
                (f"endpoint disabled: {reason}", webhook_id),
            )
    return _webhook(row)


async def rotate_secret(
    conn: Conn,
    ring: KeyRing,
    tenant_id: str,
    webhook_id: str,
    new_secret: str,
    overlap: timedelta,
) -> Webhook | None:
    """Sign with `new_secret` from now on, and with the current one too for `overlap`.

    The current secret is opened and sealed again for the `previous_secret` column (a
    sealed value opens only in its own column), in one transaction with the row locked.

    Raises:
        KeyRingError: the current secret cannot be opened (only with an overlap).
    """
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT secret FROM webhooks WHERE tenant_id = %s::uuid AND id = %s::uuid FOR UPDATE",
            (tenant_id, webhook_id),
        )
        current = await cur.fetchone()
        if current is None:
            return None
        previous = None
        if overlap > timedelta(0):
            clear = open_secret(ring, current["secret"], _secret_context(tenant_id, webhook_id))
            previous = seal_secret(ring, clear, _previous_context(tenant_id, webhook_id))
        cur = await conn.execute(
            "UPDATE webhooks SET previous_secret = %(previous)s, "
            "previous_secret_expires_at = CASE WHEN %(previous)s::text IS NOT NULL "
            "THEN now() + %(overlap)s END, "
            "secret = %(secret)s, updated_at = now() "
            f"WHERE tenant_id = %(tenant)s::uuid AND id = %(id)s::uuid {_WEBHOOK_RETURNING}",
            {
                "previous": previous,
                "overlap": overlap,
                "secret": seal_secret(ring, new_secret, _secret_context(tenant_id, webhook_id)),
                "tenant": tenant_id,
                "id": webhook_id,
            },
        )
        row = await cur.fetchone()
    return _webhook(row) if row else None


# -- key rotation -----------------------------------------------------------------------


async def secret_key_ids(conn: Conn) -> set[str]:
    """The ids of the keys that sealed any stored webhook secret."""
    cur = await conn.execute(
        "SELECT DISTINCT split_part(s, ':', 3) AS key_id FROM webhooks, "
        "unnest(ARRAY[secret, previous_secret]) AS s WHERE starts_with(s, 'enc:v1:')"
    )
    return {str(r["key_id"]) for r in await cur.fetchall()}


async def reseal_secrets(
    conn: Conn, ring: KeyRing, *, after: str | None, limit: int
) -> tuple[int, str | None]:
    """Seal with the active key the secrets of up to `limit` subscriptions past `after`
    (by id) that are clear or sealed with another key, in one transaction.

    Returns:
        How many values were sealed again, and the last id seen (None: no more rows).
    """
    prefix = f"{TEXT_PREFIX}{ring.active_id}:"
    resealed = 0
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT id::text AS id, tenant_id::text AS tenant_id, secret, previous_secret "
            "FROM webhooks WHERE (%(after)s::uuid IS NULL OR id > %(after)s::uuid) "
            "AND (NOT starts_with(secret, %(prefix)s) "
            "OR NOT starts_with(previous_secret, %(prefix)s)) "
            "ORDER BY id LIMIT %(limit)s FOR UPDATE",
            {"after": after, "prefix": prefix, "limit": limit},
        )
        rows = await cur.fetchall()
        for row in rows:
            tenant_id, webhook_id = row["tenant_id"], row["id"]
            secret = reseal_secret(ring, row["secret"], _secret_context(tenant_id, webhook_id))
            previous = None
            if row["previous_secret"] is not None:
                context = _previous_context(tenant_id, webhook_id)
                previous = reseal_secret(ring, row["previous_secret"], context)
            await conn.execute(
                "UPDATE webhooks SET secret = COALESCE(%s, secret), "
                "previous_secret = COALESCE(%s, previous_secret) WHERE id = %s::uuid",
                (secret, previous, webhook_id),
            )
            resealed += (secret is not None) + (previous is not None)
    return resealed, rows[-1]["id"] if rows else None


# -- deliveries -------------------------------------------------------------------------


async def plan_deliveries(conn: Conn, event: EventRow) -> list[PlannedDelivery]:
    """Record one delivery of `event` per active subscription that wants it; the pending
    ones, those recorded now and any recorded before (a dispatcher restarted between
    recording and handing them over), come back to be handed to Temporal.

    A subscription gets only events recorded after it was created.
    """
    cur = await conn.execute(
        "WITH inserted AS ("
        " INSERT INTO webhook_deliveries "
        " (webhook_id, event_id, event_type, payload, event_seq, subject, occurred_at) "
        " SELECT w.id, %(id)s, %(type)s, %(payload)s, %(seq)s, %(subject)s, %(occurred_at)s "
        " FROM webhooks w WHERE w.tenant_id = %(tenant)s::uuid AND w.active "
        " AND w.created_at <= %(created_at)s "
        " AND (cardinality(w.events) = 0 OR %(type)s = ANY(w.events)) "
        " ON CONFLICT (webhook_id, event_id) DO NOTHING "
        " RETURNING id, webhook_id, event_seq, subject) "
        "SELECT id::text AS delivery_id, webhook_id::text AS webhook_id, event_seq, subject "
        "FROM inserted UNION ALL "
        "SELECT id::text, webhook_id::text, event_seq, subject FROM webhook_deliveries "
        "WHERE event_id = %(id)s AND status = 'pending'",
        {
            "id": event.id,
            "type": event.type,
            "payload": Jsonb(event.payload),
            "seq": event.seq,
            "subject": event.subject,
            "occurred_at": event.occurred_at,
            "tenant": event.tenant_id,
            "created_at": event.created_at,
        },
    )
    return [PlannedDelivery(**r) for r in await cur.fetchall()]


async def list_deliveries(
    conn: Conn,
    tenant_id: str,
    webhook_id: str,
    *,
    status: DeliveryStatus | None,
    limit: int,
    offset: int,
) -> DeliveryPage:
    """A subscription's deliveries, newest first, each with its attempts."""
    where = "w.tenant_id = %(tenant)s::uuid AND d.webhook_id = %(webhook)s::uuid"
    if status is not None:
        where += " AND d.status = %(status)s"
    params = {"tenant": tenant_id, "webhook": webhook_id, "status": status}
    cur = await conn.execute(
        f"SELECT {_DELIVERY_COLUMNS}, {_ATTEMPT_LOG} FROM webhook_deliveries d "
        f"JOIN webhooks w ON w.id = d.webhook_id WHERE {where} "
        "ORDER BY d.created_at DESC, d.event_seq DESC NULLS LAST, d.id "
        "LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset},
    )
    items = [Delivery(**r) for r in await cur.fetchall()]
    cur = await conn.execute(
        f"SELECT count(*) AS n FROM webhook_deliveries d JOIN webhooks w "
        f"ON w.id = d.webhook_id WHERE {where}",
        params,
    )
    total = await cur.fetchone()
    assert total is not None
    return DeliveryPage(total=int(total["n"]), items=items)


async def get_delivery(conn: Conn, tenant_id: str, delivery_id: str) -> Delivery | None:
    """One delivery of the tenant with its attempts (None: no such id)."""
    cur = await conn.execute(
        f"SELECT {_DELIVERY_COLUMNS}, {_ATTEMPT_LOG} FROM webhook_deliveries d "
        "JOIN webhooks w ON w.id = d.webhook_id "
        "WHERE w.tenant_id = %s::uuid AND d.id = %s::uuid",
        (tenant_id, delivery_id),
    )
    row = await cur.fetchone()
    return Delivery(**row) if row else None


async def record_test_delivery(
    conn: Conn,
    webhook_id: str,
    *,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
    occurred_at: datetime,
) -> str:
    """A pending delivery for a test send (no domain event behind it); its id."""
    cur = await conn.execute(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload, occurred_at) "
        "VALUES (%s::uuid, %s, %s, %s, %s) RETURNING id::text AS id",
        (webhook_id, event_id, event_type, Jsonb(payload), occurred_at),
    )
    row = await cur.fetchone()
    assert row is not None
    return str(row["id"])


async def start_replay(conn: Conn, tenant_id: str, delivery_id: str) -> tuple[int, str] | None:
    """Make a settled delivery pending again; (its replay number, the status it had).

    Returns None for an unknown id.

    Raises:
        DeliveryConflictError: it is still pending, or its endpoint is inactive.
    """
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT d.status, w.active FROM webhook_deliveries d "
            "JOIN webhooks w ON w.id = d.webhook_id "
            "WHERE w.tenant_id = %s::uuid AND d.id = %s::uuid FOR UPDATE OF d",
            (tenant_id, delivery_id),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        if row["status"] == "pending":
            raise DeliveryConflictError(f"delivery {delivery_id} is still being delivered")
        if not row["active"]:
            raise DeliveryConflictError(
                f"the endpoint of delivery {delivery_id} is inactive; enable it first"
            )
        cur = await conn.execute(
            "UPDATE webhook_deliveries SET status = 'pending', replays = replays + 1, "
            "next_attempt_at = now(), updated_at = now() WHERE id = %s::uuid "
            "RETURNING replays",
            (delivery_id,),
        )
        replayed = await cur.fetchone()
    assert replayed is not None
    return int(replayed["replays"]), str(row["status"])


async def undo_replay(conn: Conn, delivery_id: str, previous_status: str) -> None:
    """Put back a replay that could not be handed to Temporal."""
    await conn.execute(
        "UPDATE webhook_deliveries SET status = %s, replays = replays - 1, "
        "next_attempt_at = NULL, updated_at = now() WHERE id = %s::uuid AND status = 'pending'",
        (previous_status, delivery_id),
    )


# -- attempts (the delivery activity) ---------------------------------------------------


@dataclass(frozen=True)
class AttemptTarget:
    """What one attempt needs: the delivery's body parts and the endpoint's secrets."""

    delivery_id: str
    webhook_id: str
    tenant_id: str
    status: str
    event_id: str
    event_type: str
    payload: dict[str, Any]
    occurred_at: datetime
    url: str
    active: bool
    secrets: tuple[str, ...]  # newest first; two during a rotation's overlap


async def attempt_target(conn: Conn, ring: KeyRing, delivery_id: str) -> AttemptTarget | None:
    """The delivery and its endpoint as they are now (None: deleted meanwhile), its
    secrets opened.

    Raises:
        KeyRingError: a secret was sealed with a key the ring lacks, or was altered.
    """
    cur = await conn.execute(
        "SELECT d.id::text AS delivery_id, d.webhook_id::text AS webhook_id, "
        "w.tenant_id::text AS tenant_id, d.status, d.event_id, d.event_type, d.payload, "
        "d.occurred_at, w.url, w.active, w.secret, "
        "CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END "
        "AS previous_secret "
        "FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
        "WHERE d.id = %s::uuid",
        (delivery_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    tenant_id, webhook_id = row["tenant_id"], row["webhook_id"]
    secret = open_secret(ring, row.pop("secret"), _secret_context(tenant_id, webhook_id))
    previous = row.pop("previous_secret")
    if previous is None:
        return AttemptTarget(**row, secrets=(secret,))
    previous = open_secret(ring, previous, _previous_context(tenant_id, webhook_id))
    secrets = (secret, previous)
    return AttemptTarget(**row, secrets=secrets)


async def begin_attempt(conn: Conn, delivery_id: str) -> int:
    """Log an attempt as started before its request goes out; its number."""
    cur = await conn.execute(
        "WITH bumped AS (UPDATE webhook_deliveries SET attempts = attempts + 1, "
        "last_attempt_at = now(), updated_at = now() WHERE id = %s::uuid "
        "RETURNING id, attempts) "
        "INSERT INTO webhook_attempts (delivery_id, attempt) "
        "SELECT id, attempts FROM bumped RETURNING attempt",
        (delivery_id,),
    )
    row = await cur.fetchone()
    assert row is not None, "begin_attempt on a delivery that does not exist"
    return int(row["attempt"])


async def finish_attempt(
    conn: Conn,
    delivery_id: str,
    attempt: int,
    outcome: AttemptOutcome,
    *,
    status: DeliveryStatus,
    next_attempt_at: datetime | None,
) -> None:
    """Complete the attempt's log line and move the delivery to `status`.

    A delivery settled meanwhile (its endpoint switched off) keeps its status and its
    reason unless this attempt delivered it: the receiver got it, and the log says so.
    """
    retry_after_s = outcome.retry_after.total_seconds() if outcome.retry_after else None
    async with conn.transaction():
        await conn.execute(
            "UPDATE webhook_attempts SET finished_at = now(), verdict = %s, status_code = %s, "
            "error = %s, latency_ms = %s, retry_after_s = %s, response_excerpt = %s "
            "WHERE delivery_id = %s::uuid AND attempt = %s",
            (
                outcome.verdict,
                outcome.status_code,
                outcome.error,
                outcome.latency_ms,
                retry_after_s,
                outcome.response_excerpt,
                delivery_id,
                attempt,
            ),
        )
        await conn.execute(
            "UPDATE webhook_deliveries SET "
            "status = CASE WHEN status = 'pending' OR %(status)s = 'delivered' "
            "THEN %(status)s ELSE status END, "
            "last_status_code = %(code)s, "
            "last_error = CASE WHEN status = 'pending' OR %(status)s = 'delivered' "
            "THEN %(error)s ELSE last_error END, "
            "next_attempt_at = CASE WHEN status = 'pending' THEN %(next)s::timestamptz END, "
            "delivered_at = CASE WHEN %(status)s = 'delivered' THEN now() "
            "ELSE delivered_at END, updated_at = now() WHERE id = %(id)s::uuid",
            {
                "status": status,
                "code": outcome.status_code,
                "error": outcome.error,
                "next": next_attempt_at,
                "id": delivery_id,
            },
        )


async def settle(conn: Conn, delivery_id: str, status: DeliveryStatus, reason: str) -> None:
    """Settle a still-pending delivery without an attempt (its endpoint is inactive)."""
    await conn.execute(
        "UPDATE webhook_deliveries SET status = %s, last_error = %s, next_attempt_at = NULL, "
        "updated_at = now() WHERE id = %s::uuid AND status = 'pending'",
        (status, reason, delivery_id),
    )


# -- the dispatcher: the outbox read, its cursor, its lock ------------------------------


async def listen_for_events(conn: AsyncConnection[Any]) -> None:
    """Have `conn` (autocommit) receive a notice whenever an event is recorded."""
    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")


async def try_dispatch_lock(conn: AsyncConnection[Any], key: str) -> bool:
    """Take the session advisory lock named `key` on `conn` if free; whether it holds it.

    The lock lasts as long as the session: one dispatcher per key and database.
    """
    cur = await conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS got", (key,))
    row = await cur.fetchone()
    return row is not None and bool(row[0])


async def read_outbox(
    conn: Conn, after: int, gaps: Sequence[int], limit: int
) -> tuple[list[EventRow], int, int]:
    """Events past `after` and any of `gaps`, in seq order (at most `limit`), with the
    snapshot's xmin and xmax: one snapshot, so a gap judged over is judged on the same rows.

    Call it first thing in a transaction of its own (it sets its isolation level).
    """
    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    cur = await conn.execute(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, "
        "pg_snapshot_xmax(pg_current_snapshot())::text AS xmax"
    )
    snapshot = await cur.fetchone()
    assert snapshot is not None
    cur = await conn.execute(
        "SELECT seq, id, tenant_id::text AS tenant_id, type, subject, payload, "
        "occurred_at, created_at FROM domain_events "
        "WHERE seq > %s OR seq = ANY(%s) ORDER BY seq LIMIT %s",
        (after, list(gaps), limit),
    )
    rows = await cur.fetchall()
    return [EventRow(**r) for r in rows], int(snapshot["xmin"]), int(snapshot["xmax"])


async def read_cursor(conn: Conn, name: str) -> int:
    """The last seq the dispatcher `name` settled (0 before its first pass)."""
    cur = await conn.execute(
        "SELECT last_seq FROM webhook_dispatch_cursor WHERE name = %s", (name,)
    )
    row = await cur.fetchone()
    return int(row["last_seq"]) if row else 0


async def write_cursor(conn: Conn, name: str, seq: int) -> None:
    """Move the dispatcher `name`'s cursor to `seq` (no write when it is there already)."""
    await conn.execute(
        "INSERT INTO webhook_dispatch_cursor (name, last_seq) VALUES (%s, %s) "
        "ON CONFLICT (name) DO UPDATE SET last_seq = EXCLUDED.last_seq, "
        "updated_at = now() WHERE webhook_dispatch_cursor.last_seq <> EXCLUDED.last_seq",
        (name, seq),
    )
