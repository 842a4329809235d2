"""Retention of the tenant's action logs on real Postgres: tenant tool calls and WhatsApp
messages (with their delivery statuses) go when they are older than
`retention_actions_days`, and with a purged call whatever its age; another tenant's rows
under the same call key stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from centralita.kernel.db import Conn, Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.tenants.store.keys import create_tenant
from centralita.tenants.store.retention import RetentionPolicy, purge

pytestmark = pytest.mark.integration

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


async def _tool_call(conn: Conn, tenant: str, key: str, age_days: float) -> None:
    await conn.execute(
        "INSERT INTO tool_invocations (tenant_id, call_key, tool, kind, arguments, result, "
        "latency_ms, success, created_at) "
        "VALUES (%s, %s, 'crear_link', 'http', '{\"rut\": \"•••• 5678\"}', '{}', 12, true, %s)",
        (tenant, key, NOW - timedelta(days=age_days)),
    )


async def _message(conn: Conn, tenant: str, key: str, age_days: float) -> None:
    at = NOW - timedelta(days=age_days)
    cur = await conn.execute(
        "INSERT INTO whatsapp_messages (tenant_id, provider, provider_message_id, call_key, "
        "contact_phone, body, status, created_at) "
        "VALUES (%s, 'twilio', %s, %s, '+56961234567', 'Hola María, su link: https://x', "
        "'delivered', %s) RETURNING id",
        (tenant, "SM" + uuid.uuid4().hex, key, at),
    )
    row = await cur.fetchone()
    assert row is not None
    await conn.execute(
        "INSERT INTO whatsapp_message_statuses (message_id, status, occurred_at) "
        "VALUES (%s, 'delivered', %s)",
        (row["id"], at),
    )


async def _count(conn: Conn, table: str, key: str) -> int:
    cur = await conn.execute(f"SELECT count(*) AS n FROM {table} WHERE call_key = %s", (key,))
    row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


async def _logs(pool: Pool, key: str) -> tuple[int, int]:
    async with pool.connection() as conn:
        return (
            await _count(conn, "tool_invocations", key),
            await _count(conn, "whatsapp_messages", key),
        )


async def _deleted_call(conn: Conn, key: str, deleted_days_ago: float) -> None:
    await conn.execute(
        "INSERT INTO calls (tenant_id, direction, status, started_at, metadata, deleted_at) "
        "VALUES (%s, 'outbound', 'ended', %s, %s, %s)",
        (
            DEFAULT_TENANT_ID,
            NOW - timedelta(days=30),
            f'{{"idempotency_key": "{key}"}}',
            NOW - timedelta(days=deleted_days_ago),
        ),
    )


async def test_action_logs_age_out_and_go_with_a_purged_call(pool: Pool) -> None:
    aged, young, purged = (f"call-{uuid.uuid4().hex[:8]}" for _ in range(3))
    async with pool.connection() as conn:
        other = (await create_tenant(conn, f"otra-{uuid.uuid4().hex[:6]}")).id
        for key, age in ((aged, 91.0), (young, 89.0), (purged, 10.0)):
            await _tool_call(conn, DEFAULT_TENANT_ID, key, age)
            await _message(conn, DEFAULT_TENANT_ID, key, age)
        # Another tenant's logs under the deleted call's key are not that call's.
        await _tool_call(conn, other, purged, 10.0)
        await _message(conn, other, purged, 10.0)
        await _deleted_call(conn, purged, deleted_days_ago=8)

    report = await purge(pool, RetentionPolicy(deleted_days=7, actions_days=90), now=NOW)

    assert report.deleted_calls_purged == 1
    assert (report.tool_calls_pruned, report.whatsapp_messages_pruned) == (1, 1)
    assert await _logs(pool, aged) == (0, 0)
    assert await _logs(pool, young) == (1, 1)
    assert await _logs(pool, purged) == (1, 1)  # the other tenant's pair
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) AS n FROM whatsapp_message_statuses s "
            "WHERE NOT EXISTS (SELECT 1 FROM whatsapp_messages m WHERE m.id = s.message_id)"
        )
        orphans = await cur.fetchone()
    assert orphans is not None
    assert orphans["n"] == 0  # statuses went with their messages

    again = await purge(pool, RetentionPolicy(deleted_days=7, actions_days=90), now=NOW)
    assert (again.tool_calls_pruned, again.whatsapp_messages_pruned) == (0, 0)
    later = await purge(pool, RetentionPolicy(actions_days=90), now=NOW + timedelta(days=2))
    assert (later.tool_calls_pruned, later.whatsapp_messages_pruned) == (1, 1)
    assert await _logs(pool, young) == (0, 0)
