"""Campaign rows turned into API views with their live figures (few queries per page)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from api.schemas import CampaignOut
from api.services import ApiServices
from centralita.campaigns.calling_rules import campaign_day, next_slot
from centralita.campaigns.store import campaigns
from centralita.campaigns.store.campaigns import CampaignRow
from centralita.telephony.store import media_workers

log = logging.getLogger(__name__)

_OPEN = {"created", "running", "paused"}


def _day_start(row: CampaignRow, now: datetime) -> datetime | None:
    """The start of the campaign's day (UTC); None when its rules cannot say."""
    if row.policy is None:
        return None
    schedule = row.policy.schedule
    try:
        local_midnight = datetime.combine(
            campaign_day(now, schedule), time(0), ZoneInfo(schedule.timezone)
        )
    except (ValueError, OverflowError) as exc:  # a zone this host's tzdata lacks
        log.warning("campaign %s: no calendar day: %s", row.id, exc)
        return None
    return local_midnight.astimezone(UTC)


def _next_slot(row: CampaignRow, now: datetime) -> datetime | None:
    if row.policy is None or row.status not in _OPEN:
        return None
    try:
        return next_slot(now, row.policy.schedule)
    except (ValueError, OverflowError) as exc:  # one row's rules never fail a whole list
        log.warning("campaign %s: no next slot: %s", row.id, exc)
        return None


async def campaign_views(services: ApiServices, rows: list[CampaignRow]) -> list[CampaignOut]:
    """Views of `rows` with contact counts, outcomes, today's quota use and the next slot.

    A row whose stored policy is not valid is shown with its `policy_error` and without
    the figures its rules decide (today's quota use, the next slot).
    """
    now = datetime.now(UTC)
    ids = [r.id for r in rows]
    states = await campaigns.contact_state_counts(services.pool, ids)
    outcomes = await campaigns.attempt_outcome_counts(services.pool, ids)
    day_starts = {r.id: _day_start(r, now) for r in rows}
    admitted = await campaigns.admitted_since(
        services.pool, {cid: start for cid, start in day_starts.items() if start is not None}
    )
    async with services.pool.connection() as conn:
        waiting = await media_workers.waiting_counts(conn, ids)
    ui_base = services.settings.temporal_ui_namespace_url
    return [
        CampaignOut.build(
            r,
            ui_base,
            contacts_by_state=states[r.id],
            attempts_by_outcome=outcomes[r.id],
            quota_used_today=admitted.get(r.id, 0),
            next_dial_slot=_next_slot(r, now),
            calls_waiting_for_media=waiting.get(r.id, 0),
        )
        for r in rows
    ]
