"""CampaignWorkflow: run every contact of a campaign, a bounded number at a time."""

from __future__ import annotations

import asyncio
from collections import Counter

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.store import StoreActivities
    from workflows.activity_policies import STORE_RETRY, STORE_TIMEOUT
    from workflows.contact import ContactWorkflow, contact_workflow_id
    from workflows.models import (
        CampaignPlan,
        CampaignProgress,
        CampaignResult,
        CampaignRunInput,
        CampaignStatus,
        CampaignStatusChange,
        ContactResult,
        ContactRunInput,
    )


def campaign_workflow_id(campaign_id: str) -> str:
    """Deterministic id: one workflow per campaign."""
    return f"campaign-{campaign_id}"


@workflow.defn
class CampaignWorkflow:
    """Load the plan, run one ContactWorkflow per contact under a concurrency cap."""

    def __init__(self) -> None:
        self._campaign_id = ""
        self._total = 0
        self._results: dict[str, ContactResult] = {}

    @workflow.query
    def progress(self) -> CampaignProgress:
        """How many contacts are finished, by final state."""
        by_state = Counter(r.state.value for r in self._results.values())
        return CampaignProgress(
            campaign_id=self._campaign_id,
            total=self._total,
            finished=len(self._results),
            by_state=dict(by_state),
        )

    @workflow.run
    async def run(self, job: CampaignRunInput) -> CampaignResult:
        """Run the campaign to completion and record its status."""
        self._campaign_id = job.campaign_id
        plan: CampaignPlan = await workflow.execute_activity_method(
            StoreActivities.load_campaign_plan,
            job,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        self._total = len(plan.contact_ids)
        await self._set_status(CampaignStatus.RUNNING)

        slots = asyncio.Semaphore(plan.policy.concurrency)

        async def work_contact(contact_id: str) -> None:
            async with slots:
                self._results[contact_id] = await workflow.execute_child_workflow(
                    ContactWorkflow.run,
                    ContactRunInput(
                        campaign_id=job.campaign_id, contact_id=contact_id, policy=plan.policy
                    ),
                    id=contact_workflow_id(job.campaign_id, contact_id),
                )

        await asyncio.gather(*(work_contact(cid) for cid in plan.contact_ids))
        await self._set_status(CampaignStatus.COMPLETED)
        return CampaignResult(
            campaign_id=job.campaign_id,
            total=self._total,
            by_state=dict(Counter(r.state.value for r in self._results.values())),
            by_outcome=dict(
                Counter(r.outcome.value for r in self._results.values() if r.outcome is not None)
            ),
        )

    async def _set_status(self, status: CampaignStatus) -> None:
        await workflow.execute_activity_method(
            StoreActivities.set_campaign_status,
            CampaignStatusChange(campaign_id=self._campaign_id, status=status),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
