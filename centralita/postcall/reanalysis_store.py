"""The bulk re-analysis's reads: how many stored calls match a filter, and a page of them.

Pages are keyset pages over (started_at, id), not offsets: calls stored, re-analysed or
deleted while the re-analysis runs never shift a page, so no call is skipped or visited
twice, and each page costs an index range scan however deep into the calls it is.
"""

from __future__ import annotations

from typing import Any

from centralita.kernel.db import Conn
from centralita.postcall.reanalysis_messages import CallCursor, PagedCall, ReanalysisFilter

_FROM = (
    "FROM calls c LEFT JOIN call_attempts a ON a.id = c.attempt_id "
    "LEFT JOIN call_analyses an ON an.call_id = c.id "
)


def _conditions(where: ReanalysisFilter) -> tuple[list[str], list[Any]]:
    # Every value is a bound parameter; the column names are constants chosen here.
    # A call without a key cannot be found by the post-call pipeline, so it is left out.
    clauses = [
        "c.tenant_id = %s::uuid",
        "c.deleted_at IS NULL",
        "c.metadata->>'idempotency_key' IS NOT NULL",
    ]
    params: list[Any] = [where.tenant_id]
    optional: list[tuple[str, Any]] = [
        ("a.campaign_id = %s::uuid", where.campaign_id),
        ("c.started_at >= %s", where.started_from),
        ("c.started_at < %s", where.started_before),
        ("an.intent = %s", where.intent),
    ]
    for clause, value in optional:
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return clauses, params


async def count_calls(conn: Conn, where: ReanalysisFilter) -> int:
    """How many stored (not deleted) calls match `where` now."""
    clauses, params = _conditions(where)
    cur = await conn.execute(f"SELECT count(*) AS n {_FROM} WHERE {' AND '.join(clauses)}", params)
    row = await cur.fetchone()
    return int(row["n"]) if row is not None else 0


async def page_calls(
    conn: Conn, where: ReanalysisFilter, after: CallCursor | None, limit: int
) -> list[PagedCall]:
    """Up to `limit` matching calls after `after` (from the first when None), oldest first."""
    clauses, params = _conditions(where)
    if after is not None:
        clauses.append("(c.started_at, c.id) > (%s, %s::uuid)")
        params += [after.started_at, after.call_id]
    cur = await conn.execute(
        "SELECT c.id::text AS call_id, c.metadata->>'idempotency_key' AS call_key, "
        f"c.started_at, an.version {_FROM} WHERE {' AND '.join(clauses)} "
        "ORDER BY c.started_at, c.id LIMIT %s",
        (*params, limit),
    )
    return [PagedCall.model_validate(dict(r)) for r in await cur.fetchall()]
