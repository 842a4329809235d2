"""What a call cost: its billable units priced by configurable per-unit rates.

The embedded stack's rates are all zero (nothing is paid for); a deployment with hosted
providers sets its own (e.g. CENTRALITA_RATES='{"stt_per_min": 0.006}').
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from realtime.session.record import Usage


class Rates(BaseModel):
    """Prices per unit, in the account's currency."""

    stt_per_min: float = Field(default=0.0, ge=0)
    tts_per_1k_chars: float = Field(default=0.0, ge=0)
    llm_per_1k_tokens: float = Field(default=0.0, ge=0)
    call_per_min: float = Field(default=0.0, ge=0)


def price(usage: Usage, rates: Rates) -> tuple[float, dict[str, float]]:
    """The total and a breakdown with both the units and their cost."""
    parts = {
        "stt_cost": usage.stt_audio_s / 60 * rates.stt_per_min,
        "tts_cost": usage.tts_characters / 1000 * rates.tts_per_1k_chars,
        "llm_cost": usage.llm_tokens / 1000 * rates.llm_per_1k_tokens,
        "call_cost": usage.call_s / 60 * rates.call_per_min,
    }
    total = round(sum(parts.values()), 6)
    breakdown = {
        "stt_audio_s": round(usage.stt_audio_s, 3),
        "tts_characters": float(usage.tts_characters),
        "llm_tokens": float(usage.llm_tokens),
        "call_s": round(usage.call_s, 3),
        **{k: round(v, 6) for k, v in parts.items()},
    }
    return total, breakdown
