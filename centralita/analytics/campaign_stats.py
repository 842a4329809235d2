"""A campaign's figures: answer and promise rates, amounts, duration, cost, outcomes,
overall and by day and by hour of day, both on the campaign's own clock.

The attempts counted are the dialled ones (`completed` or `error`; skipped and
cancelled attempts never rang anyone), leaving out any whose call was soft-deleted
(as the call log does). `store/fields.py` says what answered and a promise mean:

- answer rate = answered / attempts;
- promise rate = answered calls that made a promise / answered calls;
- amounts promised: the promised amounts of those calls, summed per currency;
- average duration: over answered calls with a duration; cost: every attempt's;
- calls per hour: attempts per *active* hour (a clock hour, on the campaign's clock,
  in which it dialled at least once): the pace while it was dialling.

Days and hours are read on the campaign's time zone (`campaigns.timezone`, the
schedule's zone), so a day is the campaign's day, not UTC's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from centralita.analytics.store import campaign_stats as store
from centralita.analytics.store.campaign_stats import GroupedRows
from centralita.analytics.store.snapshot import snapshot
from centralita.analytics.tools import ToolStats, campaign_tools
from centralita.calls.store.latency import CampaignLatency, campaign_latency
from centralita.campaigns.store.history import parse_uuid
from centralita.kernel.db import Pool
from centralita.learning.metrics import LearningMetrics, learning_metrics


class AmountTotal(BaseModel):
    """Promised amounts in one currency (null: the promise named none)."""

    currency: str | None
    promises: int = Field(description="Answered calls that promised an amount in it.")
    total: float


class Figures(BaseModel):
    """What a set of attempts achieved."""

    attempts: int
    answered: int
    answer_rate: float | None
    promises: int
    promise_rate: float | None = Field(description="promises / answered.")
    amounts_promised: list[AmountTotal]
    avg_duration_s: float | None
    cost: float
    outcomes: dict[str, int] = Field(description="Attempts by outcome ('unknown': none).")


class DayFigures(Figures):
    """One day on the campaign's clock."""

    day: date


class HourFigures(Figures):
    """One hour of the day (0-23) on the campaign's clock, over every day."""

    hour: int = Field(ge=0, le=23)


class CampaignStats(BaseModel):
    """`GET /campaigns/{id}/stats`."""

    campaign_id: str
    name: str
    timezone: str
    totals: Figures
    calls_per_hour: float | None = Field(description="Attempts per active hour.")
    active_hours: int
    by_day: list[DayFigures]
    by_hour: list[HourFigures]
    tools: ToolStats
    latency: CampaignLatency
    learning: LearningMetrics = Field(
        description="The tenant's learning loop (lexicon entries serve every campaign)."
    )


# A group's key: ("all", None), ("day", date) or ("hour", int).
_Key = tuple[str, Any]


def _key(row: Mapping[str, Any]) -> _Key:
    if row["by_hour_or_all"] and row["by_day_or_all"]:
        return ("all", None)
    if row["by_day_or_all"]:  # hour not grouped: a day row
        return ("day", row["day"])
    return ("hour", row["hour"])


async def campaign_stats(pool: Pool, tenant_id: str, campaign_id: str) -> CampaignStats | None:
    """The campaign's figures, or None when the tenant has no such campaign."""
    campaign = parse_uuid(campaign_id)
    if campaign is None:
        return None
    # One snapshot, so totals, days, hours and tools describe the same calls.
    async with snapshot(pool) as conn:
        found = await store.campaign(conn, tenant_id, campaign)
        if found is None:
            return None
        rows = await store.grouped_rows(conn, tenant_id, campaign, found["timezone"])
        tools = await campaign_tools(conn, tenant_id, campaign)
        learning = await learning_metrics(conn, tenant_id)
    latency = await campaign_latency(pool, tenant_id, str(campaign))
    assert latency is not None  # the campaign exists (campaigns are never deleted here)
    groups = _grouped(rows)
    totals = groups.pop(("all", None), None) or _empty()
    active_hours = totals.pop("active_hours", 0)
    return CampaignStats(
        campaign_id=str(campaign),
        name=found["name"],
        timezone=found["timezone"],
        totals=Figures(**totals),
        calls_per_hour=totals["attempts"] / active_hours if active_hours else None,
        active_hours=active_hours,
        by_day=sorted(
            (DayFigures(day=k[1], **v) for k, v in groups.items() if k[0] == "day"),
            key=lambda d: d.day,
        ),
        by_hour=sorted(
            (HourFigures(hour=k[1], **v) for k, v in groups.items() if k[0] == "hour"),
            key=lambda h: h.hour,
        ),
        tools=tools,
        latency=latency,
        learning=learning,
    )


def _grouped(rows: GroupedRows) -> dict[_Key, dict[str, Any]]:
    """Figures of every group (as model fields), keyed by `_key`."""
    groups: dict[_Key, dict[str, Any]] = {}
    for row in rows.figures:
        attempts, answered, promises = row["attempts"], row["answered"], row["promises"]
        groups[_key(row)] = {
            "attempts": attempts,
            "answered": answered,
            "answer_rate": answered / attempts if attempts else None,
            "promises": promises,
            "promise_rate": promises / answered if answered else None,
            "amounts_promised": [],
            "avg_duration_s": row["avg_duration_s"],
            "cost": row["cost"],
            "outcomes": {},
            "active_hours": row["active_hours"],
        }
    for row in rows.amounts:
        groups[_key(row)]["amounts_promised"].append(
            AmountTotal(currency=row["currency"], promises=row["promises"], total=row["total"])
        )
    for row in rows.outcomes:
        groups[_key(row)]["outcomes"][row["outcome"]] = row["n"]
    for key, group in groups.items():
        if key[0] != "all":
            del group["active_hours"]
    return groups


def _empty() -> dict[str, Any]:
    return {
        "attempts": 0,
        "answered": 0,
        "answer_rate": None,
        "promises": 0,
        "promise_rate": None,
        "amounts_promised": [],
        "avg_duration_s": None,
        "cost": 0.0,
        "outcomes": {},
        "active_hours": 0,
    }
