"""The reads behind the learning metrics (`centralita.learning.metrics` judges the rows).

Forms are compared as words in Python, not here: Postgres's word classes depend on the
database locale. `strpos` on `lower()` only narrows the rows.
"""

from __future__ import annotations

from psycopg.rows import DictRow

from centralita.kernel.db import Conn


async def approved_per_week(conn: Conn, tenant_id: str) -> list[DictRow]:
    """(week, kind, n): approved proposals by ISO week (UTC) of approval and kind."""
    cur = await conn.execute(
        "SELECT to_char(reviewed_at AT TIME ZONE 'UTC', 'IYYY-\"W\"IW') AS week, kind, "
        "count(*) AS n FROM lexicon_proposals "
        "WHERE tenant_id = %s::uuid AND status = 'approved' GROUP BY 1, 2 ORDER BY 1, 2",
        (tenant_id,),
    )
    return await cur.fetchall()


async def pending_sighted_since(conn: Conn, tenant_id: str) -> list[DictRow]:
    """Pending proposals with their sightings and calls in calls that started after the
    proposal was made, most sighted first."""
    cur = await conn.execute(
        'SELECT p.id, p.kind, p.wrong, p."right", count(*) AS sightings, '
        "count(DISTINCT e.call_id) AS calls FROM lexicon_proposals p "
        "JOIN lexicon_proposal_evidence e ON e.proposal_id = p.id "
        "JOIN calls c ON c.id = e.call_id "
        "WHERE p.tenant_id = %s::uuid AND p.status = 'pending' AND c.started_at > p.created_at "
        "GROUP BY p.id ORDER BY sightings DESC, p.id",
        (tenant_id,),
    )
    return await cur.fetchall()


async def approved_pairs_in_transcripts(conn: Conn, tenant_id: str) -> list[DictRow]:
    """(id, wrong, right, call_id, text): approved dictionary pairs and the corrected
    transcripts written since their approval whose text holds the wrong form."""
    cur = await conn.execute(
        'SELECT p.id, p.wrong, p."right", t.call_id::text AS call_id, t.text '
        "FROM lexicon_proposals p JOIN transcripts t ON t.kind = 'corrected' "
        "AND t.created_at > p.reviewed_at "
        "JOIN calls c ON c.id = t.call_id AND c.tenant_id = p.tenant_id "
        "AND c.deleted_at IS NULL "
        "WHERE p.tenant_id = %s::uuid AND p.status = 'approved' AND p.kind = 'dictionary' "
        "AND strpos(lower(t.text), lower(p.wrong)) > 0 ORDER BY p.id",
        (tenant_id,),
    )
    return await cur.fetchall()


async def active_entries_corrections(conn: Conn, tenant_id: str) -> list[DictRow]:
    """Each active approved entry with every correction since its approval whose text
    holds its right form (a row with null before/after when there is none)."""
    cur = await conn.execute(
        'SELECT p.id, p.kind, p.wrong, p."right", p.lexicon_entry_id, cc.before, cc.after, '
        "cc.reverted_at IS NOT NULL AS reverted "
        "FROM lexicon_proposals p JOIN lexicon_entries le ON le.id = p.lexicon_entry_id "
        "AND le.active "
        "LEFT JOIN (call_corrections cc JOIN calls c ON c.id = cc.call_id "
        "           AND c.tenant_id = %s::uuid AND c.deleted_at IS NULL) "
        'ON cc.created_at >= p.reviewed_at AND strpos(lower(cc.after), lower(p."right")) > 0 '
        "WHERE p.tenant_id = %s::uuid AND p.status = 'approved' "
        "AND p.kind IN ('dictionary', 'lexicon') ORDER BY p.id",
        (tenant_id, tenant_id),
    )
    return await cur.fetchall()
