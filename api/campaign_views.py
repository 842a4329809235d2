"""Campaign rows turned into API views with their live figures (few queries per page)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from api.schemas import CampaignOut
from api.services import ApiServices
from centralita.store import campaigns
from centralita.store.campaigns import CampaignRow
from workflows.calling_rules import campaign_day, next_slot

_OPEN = {"created", "running", "paused"}


def _day_start(row: CampaignRow, now: datetime) -> datetime:
    schedule = row.policy.schedule
    local_midnight = datetime.combine(
        campaign_day(now, schedule), time(0), ZoneInfo(schedule.timezone)
    )
    return local_midnight.astimezone(UTC)


async def campaign_views(services: ApiServices, rows: list[CampaignRow]) -> list[CampaignOut]:
    """Views of `rows` with contact counts, outcomes, today's quota use and the next slot."""
    now = datetime.now(UTC)
    ids = [r.id for r in rows]
    states = await campaigns.contact_state_counts(services.pool, ids)
    outcomes = await campaigns.attempt_outcome_counts(services.pool, ids)
    admitted = await campaigns.admitted_since(
        services.pool, {r.id: _day_start(r, now) for r in rows}
    )
    ui_base = services.settings.temporal_ui_namespace_url
    return [
        CampaignOut.build(
            r,
            ui_base,
            contacts_by_state=states[r.id],
            attempts_by_outcome=outcomes[r.id],
            quota_used_today=admitted[r.id],
            next_dial_slot=next_slot(now, r.policy.schedule) if r.status in _OPEN else None,
        )
        for r in rows
    ]
