"""How fast a campaign's agent answered: latency percentiles over its calls' turns.

Computed in Postgres with `percentile_cont` (continuous: it interpolates between the
two nearest values, and ignores NULLs, so a turn with a part unmeasured, such as a
reply cut by a barge-in before its first frame, only drops out of that part).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from centralita.campaigns.store.history import parse_uuid
from centralita.kernel.db import Pool


class VoiceToVoice(BaseModel):
    """End of the caller's speech to the agent's first audio frame, over measured turns."""

    samples: int = Field(description="Turns with a voice-to-voice figure (the percentiles' n).")
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None


class TurnPartsP50(BaseModel):
    """Median of each part of a turn, in milliseconds (null when never measured)."""

    endpointing_ms: float | None
    stt_ms: float | None
    brain_ms: float | None
    tts_first_audio_ms: float | None


class CampaignLatency(BaseModel):
    """Latency of a campaign's conversations; zero calls give counts 0 and null figures."""

    campaign_id: str
    calls: int = Field(description="Stored calls (held conversations) of the campaign.")
    turns: int
    interrupted_turns: int
    voice_to_voice: VoiceToVoice
    p50: TurnPartsP50


# The existence check rides in the same statement: an aggregate without GROUP BY yields
# one row even over no calls, so "unknown campaign" needs its own flag.
_SUMMARY = """
SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = %(campaign)s AND tenant_id = %(tenant)s)
           AS campaign_found,
       count(DISTINCT c.id) AS calls,
       count(t.id) AS turns,
       count(t.id) FILTER (WHERE t.interrupted) AS interrupted_turns,
       count(t.voice_to_voice_ms) AS samples,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.voice_to_voice_ms) AS v2v_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY t.voice_to_voice_ms) AS v2v_p95,
       max(t.voice_to_voice_ms) AS v2v_max,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.endpointing_ms) AS endpointing_p50,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.stt_ms) AS stt_p50,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.brain_ms) AS brain_p50,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.tts_first_audio_ms) AS tts_p50
FROM call_attempts a
JOIN calls c ON c.attempt_id = a.id AND c.tenant_id = a.tenant_id
    AND c.deleted_at IS NULL  -- a soft-deleted call leaves every figure at once
LEFT JOIN call_turns t ON t.call_id = c.id
WHERE a.campaign_id = %(campaign)s AND a.tenant_id = %(tenant)s
"""


async def campaign_latency(pool: Pool, tenant_id: str, campaign_id: str) -> CampaignLatency | None:
    """Latency figures over every turn of the campaign's calls, or None if no such campaign.

    Args:
        campaign_id: as it came in the URL; one that is not a UUID is simply unknown.
    """
    campaign = parse_uuid(campaign_id)
    if campaign is None:
        return None
    async with pool.connection() as conn:
        cur = await conn.execute(_SUMMARY, {"campaign": campaign, "tenant": tenant_id})
        row = await cur.fetchone()
    if row is None or not row["campaign_found"]:
        return None
    return CampaignLatency(
        campaign_id=str(campaign),
        calls=row["calls"],
        turns=row["turns"],
        interrupted_turns=row["interrupted_turns"],
        voice_to_voice=VoiceToVoice(
            samples=row["samples"],
            p50_ms=row["v2v_p50"],
            p95_ms=row["v2v_p95"],
            max_ms=row["v2v_max"],
        ),
        p50=TurnPartsP50(
            endpointing_ms=row["endpointing_p50"],
            stt_ms=row["stt_p50"],
            brain_ms=row["brain_p50"],
            tts_first_audio_ms=row["tts_p50"],
        ),
    )
