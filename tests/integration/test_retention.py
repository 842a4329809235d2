"""Retention on real Postgres: soft delete hides a call, the purge removes what is due.

Rows are seeded at chosen ages around a fixed `NOW`, each call with a recording on
disk, a turn, a transcript, live events and an attempt carrying its transcript; the
purge must remove exactly the due calls (and everything hanging off them), prune exactly
the old live events, and leave the rest as it was.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from centralita.kernel.db import Pool
from centralita.kernel.events import emit, event_id
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.tenants.store.retention import RetentionPolicy, purge
from tests.support.servers import AppClients, bearer, free_port, settings_for

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "admin-key-for-the-retention-tests"
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    call_id: str
    call_key: str
    attempt_id: str
    campaign_id: str
    recording: Path


async def _seed(
    pool: Pool,
    folder: Path,
    *,
    started: datetime,
    deleted: datetime | None = None,
    live_event_ages_days: tuple[float, ...] = (1.0,),
) -> Seeded:
    """A campaign's answered call started at `started` (soft-deleted at `deleted`)."""
    campaign_id, contact_id = str(uuid.uuid4()), str(uuid.uuid4())
    key = f"campaign-{campaign_id}-contact-{contact_id}-attempt-1"
    recording = folder / f"{uuid.uuid4().hex}.wav"
    recording.write_bytes(b"RIFF....WAVE")
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO campaigns (id, tenant_id, name, status) VALUES (%s, %s, 'r', 'running')",
            (campaign_id, DEFAULT_TENANT_ID),
        )
        await conn.execute(
            "INSERT INTO contacts (id, tenant_id, campaign_id, position, name, phones) "
            "VALUES (%s, %s, %s, 0, 'Ana', %s)",
            (contact_id, DEFAULT_TENANT_ID, campaign_id, ["+56961234567"]),
        )
        cur = await conn.execute(
            "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, status, started_at, transcript) "
            "VALUES (%s, %s, %s, %s, 1, '+56961234567', 'completed', %s, 'hola') "
            "RETURNING id::text AS id",
            (key, DEFAULT_TENANT_ID, campaign_id, contact_id, started),
        )
        attempt = await cur.fetchone()
        assert attempt is not None
        cur = await conn.execute(
            "INSERT INTO calls (tenant_id, attempt_id, direction, status, started_at, "
            "recording_path, metadata, deleted_at) "
            "VALUES (%s, %s, 'outbound', 'ended', %s, %s, %s, %s) RETURNING id::text AS id",
            (
                DEFAULT_TENANT_ID,
                attempt["id"],
                started,
                str(recording),
                f'{{"idempotency_key": "{key}"}}',
                deleted,
            ),
        )
        call = await cur.fetchone()
        assert call is not None
        await conn.execute(
            "INSERT INTO call_turns (call_id, turn_index, user_text) VALUES (%s, 0, 'hola')",
            (call["id"],),
        )
        await conn.execute(
            "INSERT INTO transcripts (call_id, kind, text) VALUES (%s, 'online', 'hola')",
            (call["id"],),
        )
        for seq, age in enumerate(live_event_ages_days):
            await conn.execute(
                "INSERT INTO live_call_events (call_key, seq, type, at_s, created_at) "
                "VALUES (%s, %s, 'transcript_final', 0, %s)",
                (key, seq, NOW - timedelta(days=age)),
            )
    return Seeded(call["id"], key, attempt["id"], campaign_id, recording)


async def _state(pool: Pool, seeded: Seeded) -> dict[str, object]:
    """What exists of a seeded call: rows per table, the attempt's transcript, the file."""
    async with pool.connection() as conn:
        counts: dict[str, object] = {}
        for table in ("calls", "call_turns", "transcripts"):
            column = "id" if table == "calls" else "call_id"
            cur = await conn.execute(
                f"SELECT count(*) AS n FROM {table} WHERE {column} = %s::uuid", (seeded.call_id,)
            )
            row = await cur.fetchone()
            assert row is not None
            counts[table] = row["n"]
        cur = await conn.execute(
            "SELECT count(*) AS n FROM live_call_events WHERE call_key = %s", (seeded.call_key,)
        )
        row = await cur.fetchone()
        assert row is not None
        counts["live_call_events"] = row["n"]
        cur = await conn.execute(
            "SELECT transcript FROM call_attempts WHERE id = %s::uuid", (seeded.attempt_id,)
        )
        row = await cur.fetchone()
        assert row is not None  # the attempt itself always stays
        counts["attempt_transcript"] = row["transcript"]
    counts["recording"] = seeded.recording.exists()
    return counts


def _kept(live_events: int) -> dict[str, object]:
    return {
        "calls": 1,
        "call_turns": 1,
        "transcripts": 1,
        "live_call_events": live_events,
        "attempt_transcript": "hola",
        "recording": True,
    }


GONE: dict[str, object] = {
    "calls": 0,
    "call_turns": 0,
    "transcripts": 0,
    "live_call_events": 0,
    "attempt_transcript": None,
    "recording": False,
}


async def test_the_purge_removes_exactly_what_is_due_and_a_second_one_nothing(
    pool: Pool, tmp_path: Path
) -> None:
    recent = NOW - timedelta(days=3)
    due = await _seed(pool, tmp_path, started=recent, deleted=NOW - timedelta(days=8))
    not_yet = await _seed(pool, tmp_path, started=recent, deleted=NOW - timedelta(days=6))
    old = await _seed(pool, tmp_path, started=NOW - timedelta(days=400))
    # 31 and 45 days old: pruned; 29 days and 1 day: kept (the 30-day default).
    live = await _seed(pool, tmp_path, started=recent, live_event_ages_days=(45, 31, 29, 1))
    policy = RetentionPolicy(deleted_days=7, live_events_days=30)

    report = await purge(pool, policy, now=NOW)

    assert report.deleted_calls_purged == 1
    assert report.expired_calls_purged == 0  # retention_calls_days unset: calls stay
    assert report.recordings_removed == 1
    assert report.live_events_pruned == 2
    assert await _state(pool, due) == GONE
    assert await _state(pool, not_yet) == _kept(1)
    assert await _state(pool, old) == _kept(1)
    assert await _state(pool, live) == _kept(2)

    again = await purge(pool, policy, now=NOW)
    assert again.model_dump(exclude={"ran_at"}) == {
        "deleted_calls_purged": 0,
        "expired_calls_purged": 0,
        "recordings_removed": 0,
        "live_events_pruned": 0,
        "webhook_deliveries_pruned": 0,
        "domain_events_pruned": 0,
        "tool_calls_pruned": 0,
        "whatsapp_messages_pruned": 0,
    }
    # A week later the other deleted call is due too, and only it.
    later = await purge(pool, policy, now=NOW + timedelta(days=2))
    assert later.deleted_calls_purged == 1
    assert await _state(pool, not_yet) == GONE
    assert await _state(pool, old) == _kept(1)


async def test_calls_older_than_the_calls_retention_go_with_their_recordings(
    pool: Pool, tmp_path: Path
) -> None:
    old = await _seed(pool, tmp_path, started=NOW - timedelta(days=400))
    young = await _seed(pool, tmp_path, started=NOW - timedelta(days=300))
    old.recording.unlink()  # already gone from disk: the purge goes on

    report = await purge(pool, RetentionPolicy(calls_days=365), now=NOW)

    assert report.expired_calls_purged >= 1
    assert await _state(pool, old) == GONE
    assert await _state(pool, young) == _kept(1)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) AS n FROM calls WHERE started_at < %s", (NOW - timedelta(days=365),)
        )
        row = await cur.fetchone()
    assert row is not None
    assert row["n"] == 0


async def test_a_deleted_call_is_gone_from_the_api_and_purged_by_the_api_and_the_cli(
    pool: Pool, database_url: str, app_clients: AppClients, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    target = await _seed(pool, tmp_path, started=now - timedelta(hours=1))
    bystander = await _seed(pool, tmp_path, started=now - timedelta(hours=1))
    settings = settings_for(
        database_url,
        f"127.0.0.1:{free_port()}",
        retention_deleted_days=0,
        admin_api_key=ADMIN_KEY,
    )
    api = await app_clients.open(settings)
    assert (await api.get(f"/calls/{target.call_id}")).status_code == 200

    assert (await api.delete(f"/calls/{target.call_id}")).status_code == 204

    assert (await api.get(f"/calls/{target.call_id}")).status_code == 404
    assert (await api.get(f"/calls/by-attempt/{target.call_key}")).status_code == 404
    listed = await api.get("/calls", params={"campaign_id": target.campaign_id})
    assert listed.json() == []
    assert (await api.get(f"/calls/{bystander.call_id}")).status_code == 200
    others = await api.get("/calls", params={"campaign_id": bystander.campaign_id})
    assert [row["attempt_key"] for row in others.json()] == [bystander.call_key]
    assert (await api.delete(f"/calls/{target.call_id}")).status_code == 404  # already
    assert (await api.delete(f"/calls/{uuid.uuid4()}")).status_code == 404
    assert await _state(pool, target) == _kept(1)  # hidden, not yet purged

    # The purge covers every tenant: a tenant's key may not ask for it, the admin key may.
    assert (await api.post("/retention/purge")).status_code == 403
    purged = await api.post("/retention/purge", headers=bearer(ADMIN_KEY))
    assert purged.status_code == 200
    assert purged.json()["deleted_calls_purged"] == 1
    assert await _state(pool, target) == GONE
    assert await _state(pool, bystander) == _kept(1)

    # The CLI, as cron runs it: the bystander deleted now is purged at once (0 days).
    assert (await api.delete(f"/calls/{bystander.call_id}")).status_code == 204
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from workers.cli import main; sys.exit(main(['purge']))",
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "CENTRALITA_DATABASE_URL": database_url,
            "CENTRALITA_RETENTION_DELETED_DAYS": "0",
        },
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode == 0
    assert "purged: 1 deleted calls" in out.decode()
    assert await _state(pool, bystander) == GONE


async def _event(pool: Pool, name: str, age_days: int) -> tuple[str, int]:
    """A campaign-less event recorded `age_days` before NOW: (id, seq)."""
    async with pool.connection() as conn:
        await emit(
            conn,
            event_id=event_id("retention-test", name),
            tenant_id=DEFAULT_TENANT_ID,
            type="opt_out",
            data={"name": name},
        )
        cur = await conn.execute(
            "UPDATE domain_events SET created_at = %s WHERE id = %s RETURNING seq",
            (NOW - timedelta(days=age_days), event_id("retention-test", name)),
        )
        row = await cur.fetchone()
    assert row is not None
    return event_id("retention-test", name), int(row["seq"])


async def test_settled_webhook_deliveries_and_dispatched_events_age_out(pool: Pool) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO webhooks (tenant_id, url, secret) "
            "VALUES (%s, 'http://127.0.0.1:9/h', 'whsec_x') RETURNING id",
            (DEFAULT_TENANT_ID,),
        )
        row = await cur.fetchone()
    assert row is not None
    webhook = row["id"]
    delivered = await _event(pool, "delivered-long-ago", 40)
    pending = await _event(pool, "still-retrying", 40)
    unplanned = await _event(pool, "past-the-cursor", 40)
    recent = await _event(pool, "recent", 3)
    async with pool.connection() as conn:
        for (eid, seq), status in ((delivered, "delivered"), (pending, "pending")):
            await conn.execute(
                "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload, "
                "status, event_seq, created_at) VALUES (%s, %s, 'opt_out', '{}', %s, %s, %s)",
                (webhook, eid, status, seq, NOW - timedelta(days=40)),
            )
        await conn.execute(
            "INSERT INTO webhook_dispatch_cursor (name, last_seq) VALUES ('retention-test', %s) "
            "ON CONFLICT (name) DO UPDATE SET last_seq = EXCLUDED.last_seq",
            (unplanned[1] - 1,),
        )

    report = await purge(pool, RetentionPolicy(webhook_days=30), now=NOW)

    async with pool.connection() as conn:
        cur = await conn.execute("SELECT event_id FROM webhook_deliveries")
        deliveries = {r["event_id"] for r in await cur.fetchall()}
        cur = await conn.execute("SELECT id FROM domain_events WHERE id LIKE 'evt_%%'")
        events = {r["id"] for r in await cur.fetchall()}
        await conn.execute("DELETE FROM webhook_dispatch_cursor WHERE name = 'retention-test'")
    assert report.webhook_deliveries_pruned == 1
    assert deliveries == {pending[0]}  # a delivery still retrying is never cut short
    assert delivered[0] not in events
    assert {pending[0], unplanned[0], recent[0]} <= events  # needed, unplanned, young
