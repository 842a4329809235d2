"""What the placement benchmark reads back from Postgres after each campaign.

The rings (`carrier_dial_log`), the drops (`dropped_calls`), the stored turns
(`call_turns`) and the attempts' ends (`call_attempts`) of one campaign. Reads only:
the media workers and the orchestrator wrote every row, as they do in production.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from centralita.kernel.db import Conn


def campaign_keys(campaign_id: str) -> str:
    """A LIKE pattern for the call keys of one campaign's attempts (their workflow ids)."""
    return f"campaign-{campaign_id}-%"


async def dial_log(conn: Conn, campaign_id: str) -> list[dict[str, Any]]:
    """Every ring of the campaign's calls: key, dial number, owner, when, how it ended."""
    cur = await conn.execute(
        "SELECT l.idempotency_key AS key, l.dial, l.owner, l.at, l.ended_as "
        "FROM carrier_dial_log l JOIN carrier_calls c USING (idempotency_key) "
        "WHERE c.campaign_id = %s ORDER BY l.at, l.idempotency_key, l.dial",
        (campaign_id,),
    )
    return list(await cur.fetchall())


async def drops(conn: Conn, campaign_id: str) -> dict[str, datetime]:
    """When each of the campaign's calls was first recorded as dropped, by call key."""
    cur = await conn.execute(
        "SELECT call_key, min(detected_at) AS detected_at FROM dropped_calls "
        "WHERE call_key LIKE %s GROUP BY call_key",
        (campaign_keys(campaign_id),),
    )
    return {row["call_key"]: row["detected_at"] for row in await cur.fetchall()}


async def agent_voice_to_voice(conn: Conn, campaign_id: str) -> list[float]:
    """Voice to voice of every measured turn of the campaign's stored calls (agent side)."""
    cur = await conn.execute(
        "SELECT t.voice_to_voice_ms FROM call_turns t "
        "JOIN calls c ON c.id = t.call_id JOIN call_attempts a ON a.id = c.attempt_id "
        "WHERE a.campaign_id = %s::uuid AND t.voice_to_voice_ms IS NOT NULL",
        (campaign_id,),
    )
    return [float(row["voice_to_voice_ms"]) for row in await cur.fetchall()]


async def attempt_ends(conn: Conn, campaign_id: str) -> list[tuple[str, str | None]]:
    """(status, outcome) of each of the campaign's attempts."""
    cur = await conn.execute(
        "SELECT status, outcome FROM call_attempts WHERE campaign_id = %s::uuid",
        (campaign_id,),
    )
    return [(row["status"], row["outcome"]) for row in await cur.fetchall()]
