"""The people who answer handed-off calls, and whether they can take one now."""

from __future__ import annotations

from collections.abc import Sequence

from centralita.handoff.models import Operator, OperatorStatus
from centralita.kernel.db import Conn

_COLUMNS = "id::text AS id, name, status, queues, status_at, seen_at"


async def sign_in(conn: Conn, tenant_id: str, name: str, queues: Sequence[str]) -> Operator:
    """The tenant's operator of this name (created on first sign-in), its queues set."""
    cur = await conn.execute(
        "INSERT INTO operators (tenant_id, name, queues) VALUES (%s, %s, %s) "
        "ON CONFLICT (tenant_id, name) DO UPDATE SET queues = EXCLUDED.queues "
        f"RETURNING {_COLUMNS}",
        (tenant_id, name, list(queues)),
    )
    row = await cur.fetchone()
    assert row is not None
    return Operator.model_validate(row)


async def get(conn: Conn, tenant_id: str, operator_id: str) -> Operator | None:
    """The tenant's operator, or None (another tenant's is None too)."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM operators WHERE tenant_id = %s AND id::text = %s",
        (tenant_id, operator_id),
    )
    row = await cur.fetchone()
    return None if row is None else Operator.model_validate(row)


async def set_status(
    conn: Conn, tenant_id: str, operator_id: str, status: OperatorStatus
) -> Operator | None:
    """Change the operator's status; None when the tenant has no such operator."""
    cur = await conn.execute(
        "UPDATE operators SET status = %s, status_at = now() "
        f"WHERE tenant_id = %s AND id::text = %s RETURNING {_COLUMNS}",
        (status, tenant_id, operator_id),
    )
    row = await cur.fetchone()
    return None if row is None else Operator.model_validate(row)


async def take_call(conn: Conn, tenant_id: str, operator_id: str) -> bool:
    """Make the operator `busy` unless they are already: whether they are free to take a
    call. One UPDATE whose WHERE says "not busy", so of two answers at once (a double
    click) one passes: an operator never holds two calls."""
    cur = await conn.execute(
        "UPDATE operators SET status = 'busy', status_at = now() "
        "WHERE tenant_id = %s AND id::text = %s AND status <> 'busy'",
        (tenant_id, operator_id),
    )
    return cur.rowcount == 1


async def list_operators(
    conn: Conn, tenant_id: str, *, limit: int = 100, offset: int = 0
) -> list[Operator]:
    """The tenant's operators, by name."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM operators WHERE tenant_id = %s ORDER BY name, id "
        "LIMIT %s OFFSET %s",
        (tenant_id, limit, offset),
    )
    return [Operator.model_validate(row) for row in await cur.fetchall()]


async def mark_seen(conn: Conn, tenant_id: str, operator_id: str) -> None:
    """An operator page follows this operator now (its stream opened, or kept alive)."""
    await conn.execute(
        "UPDATE operators SET seen_at = now() WHERE tenant_id = %s AND id::text = %s",
        (tenant_id, operator_id),
    )


async def away_if_unseen(conn: Conn, tenant_id: str, operator_id: str, unseen_for_s: float) -> bool:
    """Make an `available` operator `offline` when no page has followed them for
    `unseen_for_s`: whether they were. One busy or in wrap-up keeps their call."""
    cur = await conn.execute(
        "UPDATE operators SET status = 'offline', status_at = now() "
        "WHERE tenant_id = %s AND id::text = %s AND status = 'available' "
        "AND seen_at < now() - make_interval(secs => %s)",
        (tenant_id, operator_id, unseen_for_s),
    )
    return cur.rowcount == 1
