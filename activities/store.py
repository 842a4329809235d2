"""Database activities of the campaign workflows: load plans, record attempts and states."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from centralita.db import Pool
from centralita.store import DEFAULT_TENANT_ID, attempts, campaigns
from workflows.models import (
    AttemptRecord,
    AttemptStart,
    CampaignPlan,
    CampaignRunInput,
    CampaignStatusChange,
    ContactLookup,
    ContactProfile,
    ContactStateChange,
)


def _not_found(what: str) -> ApplicationError:
    # Retrying cannot make a missing row appear: fail the workflow step at once.
    return ApplicationError(f"{what} not found", type="NotFound", non_retryable=True)


class StoreActivities:
    """Activities backed by the shared connection pool."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @activity.defn
    async def load_campaign_plan(self, job: CampaignRunInput) -> CampaignPlan:
        """The campaign's policy and contact ids, in upload order."""
        campaign = await campaigns.get_campaign(self._pool, DEFAULT_TENANT_ID, job.campaign_id)
        if campaign is None:
            raise _not_found(f"campaign {job.campaign_id}")
        ids = await campaigns.contact_ids(self._pool, job.campaign_id)
        return CampaignPlan(campaign_id=job.campaign_id, policy=campaign.policy, contact_ids=ids)

    @activity.defn
    async def set_campaign_status(self, change: CampaignStatusChange) -> None:
        """Record the campaign's status."""
        if not await campaigns.set_campaign_status(self._pool, change.campaign_id, change.status):
            raise _not_found(f"campaign {change.campaign_id}")

    @activity.defn
    async def load_contact(self, lookup: ContactLookup) -> ContactProfile:
        """Phones (in try order) and dynamic variables of a contact."""
        contact = await campaigns.get_contact(self._pool, lookup.contact_id)
        if contact is None:
            raise _not_found(f"contact {lookup.contact_id}")
        return ContactProfile(
            contact_id=contact.id,
            name=contact.name,
            phones=contact.phones,
            variables=contact.variables,
        )

    @activity.defn
    async def record_contact_state(self, change: ContactStateChange) -> None:
        """Record where a contact stands."""
        if not await attempts.record_contact_state(self._pool, change):
            raise _not_found(f"contact {change.contact_id}")

    @activity.defn
    async def record_attempt_started(self, start: AttemptStart) -> None:
        """Insert the attempt row (once, whatever the retries)."""
        await attempts.record_attempt_started(self._pool, DEFAULT_TENANT_ID, start)

    @activity.defn
    async def record_attempt_result(self, record: AttemptRecord) -> None:
        """Store the attempt's outcome and call details."""
        if not await attempts.record_attempt_result(self._pool, record.attempt_key, record.result):
            raise _not_found(f"attempt {record.attempt_key}")
