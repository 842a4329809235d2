"""Retention: soft delete of a call, and the purge that removes what is due for good.

A deleted call is hidden at once (`calls.deleted_at`; the API and the post-call
pipeline skip it) and purged later, so a mistaken delete can still be recovered from
the database for `retention_deleted_days`. The purge removes:
- calls soft-deleted longer ago than `retention_deleted_days`, with their recordings;
- when `retention_calls_days` is set, every call older than that, with its recording;
- live call events older than `retention_live_events_days` (the stored call keeps its
  own copy of its events, so these are only the live feed's);
- webhook deliveries settled (delivered, failed, disabled) longer ago than
  `retention_webhook_days`, with their attempt log, and the events older than that which
  the dispatcher has already planned and no unsettled delivery still needs;
- the log of tenant tool calls (`tool_invocations`, arguments masked but results kept)
  and the WhatsApp messages sent (phone, link, body; their statuses cascade) older than
  `retention_actions_days`.

A purged call's rows go with it (turns, events, transcripts, corrections, analysis,
document and domain events cascade), its live events, tool calls and WhatsApp messages
too, and its attempt (kept: the
campaign's caps count attempts) loses the transcript it carried. Recordings are removed
before their rows: a purge that dies in between leaves rows that the next purge finds
again, never a recording that nothing points to.

Schedule: run `centralita purge` once a day from cron (or a Kubernetes CronJob), e.g.
`17 3 * * * cd /srv/centralita && .venv/bin/centralita purge`. It is idempotent: a
second run the same day finds nothing due, and two runs at once delete each row once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from psycopg.rows import DictRow
from pydantic import BaseModel, Field

from centralita.kernel.db import Conn, Pool
from centralita.kernel.settings import Settings

log = logging.getLogger(__name__)

# Calls purged per transaction: bounded so a purge of a year of calls never holds one
# huge transaction (and its locks) open.
PURGE_BATCH = 500
# Log rows (tool calls, WhatsApp messages) removed per statement.
LOG_BATCH = 5000
# The per-call logs of the tenant's actions, by call key (tenant-scoped: keys are theirs).
_LogTable = Literal["tool_invocations", "whatsapp_messages"]
_CALL_LOGS: tuple[_LogTable, ...] = ("tool_invocations", "whatsapp_messages")


class RetentionPolicy(BaseModel):
    """How long things are kept, in days."""

    deleted_days: int = Field(default=7, ge=0)
    live_events_days: int = Field(default=30, ge=1)
    calls_days: int | None = Field(default=None, ge=1)
    webhook_days: int = Field(default=30, ge=1)
    actions_days: int = Field(default=90, ge=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        """The policy the settings configure (`retention_*`)."""
        return cls(
            deleted_days=settings.retention_deleted_days,
            live_events_days=settings.retention_live_events_days,
            calls_days=settings.retention_calls_days,
            webhook_days=settings.retention_webhook_days,
            actions_days=settings.retention_actions_days,
        )


class PurgeReport(BaseModel):
    """What one purge removed."""

    deleted_calls_purged: int = Field(description="Soft-deleted calls removed for good")
    expired_calls_purged: int = Field(description="Calls older than retention_calls_days")
    recordings_removed: int
    live_events_pruned: int
    webhook_deliveries_pruned: int = 0
    domain_events_pruned: int = 0
    tool_calls_pruned: int = 0
    whatsapp_messages_pruned: int = 0
    ran_at: datetime


async def soft_delete_call(pool: Pool, tenant_id: str, call_id: uuid.UUID) -> bool:
    """Hide the tenant's call `call_id` now; False if it is unknown or already deleted."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE calls SET deleted_at = now() "
            "WHERE id = %s AND tenant_id = %s::uuid AND deleted_at IS NULL",
            (call_id, tenant_id),
        )
        return cur.rowcount == 1


async def purge(pool: Pool, policy: RetentionPolicy, *, now: datetime | None = None) -> PurgeReport:
    """Remove everything `policy` says is due at `now` (default: the current time).

    Args:
        pool: the database.
        policy: the retention periods.
        now: the moment ages are measured from (tests pass a fixed one).

    Returns:
        The counts of what was removed.
    """
    now = now or datetime.now(UTC)
    deleted, removed = await _purge_calls(
        pool,
        "deleted_at IS NOT NULL AND deleted_at < %s",
        now - timedelta(days=policy.deleted_days),
    )
    expired = 0
    if policy.calls_days is not None:
        expired, more = await _purge_calls(
            pool, "started_at < %s", now - timedelta(days=policy.calls_days)
        )
        removed += more
    async with pool.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM live_call_events WHERE created_at < %s",
            (now - timedelta(days=policy.live_events_days),),
        )
        pruned = cur.rowcount
    deliveries, events = await _prune_webhook_log(pool, now - timedelta(days=policy.webhook_days))
    actions_cutoff = now - timedelta(days=policy.actions_days)
    tool_calls = await _prune_older(pool, "tool_invocations", actions_cutoff)
    messages = await _prune_older(pool, "whatsapp_messages", actions_cutoff)
    report = PurgeReport(
        deleted_calls_purged=deleted,
        expired_calls_purged=expired,
        recordings_removed=removed,
        live_events_pruned=pruned,
        webhook_deliveries_pruned=deliveries,
        domain_events_pruned=events,
        tool_calls_pruned=tool_calls,
        whatsapp_messages_pruned=messages,
        ran_at=now,
    )
    log.info("retention purge: %s", report.model_dump(mode="json"))
    return report


async def _purge_calls(pool: Pool, condition: str, cutoff: datetime) -> tuple[int, int]:
    """Hard-delete the calls matching `condition` (one bound cutoff), in batches.

    Returns:
        (calls deleted, recordings removed from disk).
    """
    calls = recordings = 0
    while True:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, tenant_id, attempt_id, recording_path, "
                "metadata->>'idempotency_key' AS call_key "
                f"FROM calls WHERE {condition} ORDER BY id LIMIT %s",
                (cutoff, PURGE_BATCH),
            )
            rows = await cur.fetchall()
        if not rows:
            return calls, recordings
        for row in rows:
            if row["recording_path"]:
                recordings += await asyncio.to_thread(_remove_file, row["recording_path"])
        async with pool.connection() as conn, conn.transaction():
            calls += await _delete_rows(conn, rows)


async def _delete_rows(conn: Conn, rows: list[DictRow]) -> int:
    ids = [row["id"] for row in rows]
    keys = [row["call_key"] for row in rows if row["call_key"]]
    attempts = [row["attempt_id"] for row in rows if row["attempt_id"]]
    await conn.execute("DELETE FROM live_call_events WHERE call_key = ANY(%s)", (keys,))
    keyed = [row for row in rows if row["call_key"]]
    tenants = [row["tenant_id"] for row in keyed]
    for table in _CALL_LOGS:
        await conn.execute(
            f"DELETE FROM {table} t USING unnest(%s::uuid[], %s::text[]) AS k(tenant, key) "
            "WHERE t.tenant_id = k.tenant AND t.call_key = k.key",
            (tenants, keys),
        )
    await conn.execute("UPDATE call_attempts SET transcript = NULL WHERE id = ANY(%s)", (attempts,))
    cur = await conn.execute("DELETE FROM calls WHERE id = ANY(%s)", (ids,))
    return int(cur.rowcount)


async def _prune_webhook_log(pool: Pool, cutoff: datetime) -> tuple[int, int]:
    """Settled deliveries before `cutoff` (attempts cascade), then events nothing needs.

    An event stays while the dispatcher has not planned it (its seq is past the cursor)
    or any delivery of it is still pending: removing it would lose that delivery.

    Returns:
        (deliveries removed, events removed).
    """
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < %s",
            (cutoff,),
        )
        deliveries = int(cur.rowcount)
        cur = await conn.execute(
            "DELETE FROM domain_events e WHERE e.created_at < %s "
            "AND e.seq <= (SELECT coalesce(min(last_seq), 0) FROM webhook_dispatch_cursor) "
            "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)",
            (cutoff,),
        )
        return deliveries, int(cur.rowcount)


async def _prune_older(pool: Pool, table: _LogTable, cutoff: datetime) -> int:
    """Remove `table`'s rows created before `cutoff`, a batch per transaction."""
    removed = 0
    while True:
        async with pool.connection() as conn:
            cur = await conn.execute(
                f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
                f"SELECT ctid FROM {table} WHERE created_at < %s LIMIT %s))",
                (cutoff, LOG_BATCH),
            )
        removed += cur.rowcount
        if cur.rowcount < LOG_BATCH:
            return removed


def _remove_file(path: str) -> int:
    """Remove a recording; 1 if it was there. Gone already (an earlier purge) is fine."""
    try:
        Path(path).unlink()
    except FileNotFoundError:
        return 0
    return 1


__all__ = ["PurgeReport", "RetentionPolicy", "purge", "soft_delete_call"]
