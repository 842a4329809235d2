"""Human edits of corrected transcripts, kept as they were made (what they teach is
counted into proposals by `centralita.learning.sources.propose_from_edit`)."""

from __future__ import annotations

from centralita.kernel.db import Conn


async def record_edit(
    conn: Conn,
    call_id: str,
    segment_index: int,
    before_text: str,
    edited_text: str,
    editor: str | None,
) -> int:
    """Store one edit of a corrected segment; its id."""
    cur = await conn.execute(
        "INSERT INTO transcript_edits (call_id, segment_index, before_text, edited_text, editor) "
        "VALUES (%s::uuid, %s, %s, %s, %s) RETURNING id",
        (call_id, segment_index, before_text, edited_text, editor),
    )
    edit = await cur.fetchone()
    assert edit is not None
    return int(edit["id"])
