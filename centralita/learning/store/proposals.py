"""Proposals in Postgres: counted by natural key, listed with their evidence.

`record` is the one write the sources make: the proposal is upserted on its natural
key (tenant, kind, wrong, right, language, source; forms compared without case) and
the sighting is added to its evidence keyed by occurrence, so a source that runs twice
counts nothing twice. A proposal a reviewer already decided keeps its decision: new
evidence is still counted (the metrics read it), but its status does not change. The
reviewer's decisions (`centralita.learning.review`) are written here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from centralita.kernel.db import Conn
from centralita.learning.models import Candidate, Evidence, Proposal, ProposalPage

_UPSERT: Final = """
INSERT INTO lexicon_proposals (tenant_id, kind, entry_kind, wrong, "right", language, source)
VALUES (%s::uuid, %s, %s, %s, %s, %s, %s)
ON CONFLICT (tenant_id, kind, lower(coalesce(wrong, '')), lower("right"), language, source)
DO UPDATE SET updated_at = lexicon_proposals.updated_at
RETURNING id
"""

_EVIDENCE: Final = """
INSERT INTO lexicon_proposal_evidence (proposal_id, occurrence, call_id, context)
VALUES (%s, %s, %s::uuid, %s) ON CONFLICT DO NOTHING
"""

_SELECT: Final = """
SELECT p.id, p.kind, p.entry_kind, p.wrong, p."right", p.language, p.source, p.status,
       p.reviewer, p.reviewed_at, p.lexicon_entry_id, p.created_at,
       (SELECT count(*) FROM lexicon_proposal_evidence e WHERE e.proposal_id = p.id)
           AS occurrences,
       coalesce((SELECT array_agg(DISTINCT e.call_id::text) FROM lexicon_proposal_evidence e
                 WHERE e.proposal_id = p.id AND e.call_id IS NOT NULL), '{}') AS calls,
       coalesce((SELECT array_agg(x.context) FROM (
                    SELECT e.context FROM lexicon_proposal_evidence e
                    WHERE e.proposal_id = p.id AND e.context IS NOT NULL
                    ORDER BY e.created_at, e.occurrence LIMIT 3) x), '{}') AS examples
FROM lexicon_proposals p
"""


def primary(language: str | None) -> str:
    """``"es-CL"`` -> ``"es"``: proposals, like the lexicon, are kept per primary language."""
    return (language or "es").split("-")[0].strip().lower() or "es"


async def record(conn: Conn, tenant_id: str, candidates: Iterable[Candidate]) -> list[int]:
    """Count each candidate into its proposal (created when new); idempotent.

    Returns:
        The id of each candidate's proposal, in order.
    """
    ids: list[int] = []
    for c in candidates:
        cur = await conn.execute(
            _UPSERT,
            (tenant_id, c.kind, c.entry_kind, c.wrong, c.right, primary(c.language), c.source),
        )
        row = await cur.fetchone()
        assert row is not None  # RETURNING on an upsert always yields the row
        await conn.execute(_EVIDENCE, (row["id"], c.occurrence, c.call_id, c.context))
        ids.append(int(row["id"]))
    return ids


def _proposal(row: dict[str, Any]) -> Proposal:
    return Proposal(
        id=row["id"],
        kind=row["kind"],
        entry_kind=row["entry_kind"],
        wrong=row["wrong"],
        right=row["right"],
        language=row["language"],
        source=row["source"],
        status=row["status"],
        reviewer=row["reviewer"],
        reviewed_at=row["reviewed_at"],
        lexicon_entry_id=row["lexicon_entry_id"],
        created_at=row["created_at"],
        evidence=Evidence(
            occurrences=row["occurrences"],
            calls=sorted(row["calls"]),
            examples=list(row["examples"]),
        ),
    )


async def get(
    conn: Conn, tenant_id: str, proposal_id: int, *, lock: bool = False
) -> Proposal | None:
    """One proposal of the tenant (``lock``: FOR UPDATE, inside a transaction)."""
    sql = _SELECT + "WHERE p.tenant_id = %s::uuid AND p.id = %s"
    if lock:
        sql += " FOR UPDATE OF p"
    cur = await conn.execute(sql, (tenant_id, proposal_id))
    row = await cur.fetchone()
    return None if row is None else _proposal(row)


async def page(
    conn: Conn,
    tenant_id: str,
    *,
    status: str | None = None,
    source: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ProposalPage:
    """Proposals, most seen first (then oldest first), filtered on any of the fields."""
    where = ["p.tenant_id = %s::uuid"]
    params: list[Any] = [tenant_id]
    for column, value in (("status", status), ("source", source), ("kind", kind)):
        if value is not None:
            where.append(f"p.{column} = %s")
            params.append(value)
    condition = " AND ".join(where)
    cur = await conn.execute(
        f"SELECT count(*) AS n FROM lexicon_proposals p WHERE {condition}", params
    )
    total = await cur.fetchone()
    cur = await conn.execute(
        f"SELECT * FROM ({_SELECT} WHERE {condition}) q "
        "ORDER BY occurrences DESC, created_at, id LIMIT %s OFFSET %s",
        [*params, limit, offset],
    )
    items = [_proposal(r) for r in await cur.fetchall()]
    return ProposalPage(total=int(total["n"]) if total else 0, items=items)


async def approved_blocks(conn: Conn, tenant_id: str, language: str) -> list[str]:
    """The wrong forms of the tenant's approved blocks in `language`, oldest first."""
    cur = await conn.execute(
        "SELECT wrong FROM lexicon_proposals WHERE tenant_id = %s::uuid AND kind = 'block' "
        "AND status = 'approved' AND language = %s ORDER BY id",
        (tenant_id, language),
    )
    return [str(r["wrong"]) for r in await cur.fetchall()]


async def mark_approved(
    conn: Conn, proposal_id: int, reviewer: str | None, lexicon_entry_id: int | None
) -> None:
    """A pending proposal becomes approved (with the lexicon entry it activated)."""
    await conn.execute(
        "UPDATE lexicon_proposals SET status = 'approved', reviewer = %s, "
        "reviewed_at = now(), lexicon_entry_id = %s, updated_at = now() "
        "WHERE id = %s AND status = 'pending'",
        (reviewer, lexicon_entry_id, proposal_id),
    )


async def mark_rejected(conn: Conn, proposal_id: int, reviewer: str | None) -> None:
    """A pending proposal becomes rejected."""
    await conn.execute(
        "UPDATE lexicon_proposals SET status = 'rejected', reviewer = %s, "
        "reviewed_at = now(), updated_at = now() WHERE id = %s AND status = 'pending'",
        (reviewer, proposal_id),
    )


async def update_terms(
    conn: Conn,
    proposal_id: int,
    *,
    kind: str,
    entry_kind: str,
    wrong: str | None,
    right: str,
) -> None:
    """Change what a proposal says.

    Raises:
        psycopg.errors.UniqueViolation: another proposal already says the same.
    """
    await conn.execute(
        "UPDATE lexicon_proposals SET kind = %s, entry_kind = %s, wrong = %s, "
        '"right" = %s, updated_at = now() WHERE id = %s',
        (kind, entry_kind, wrong, right, proposal_id),
    )
