"""Talking to a campaign's workflow from the API: start, signal, update."""

from __future__ import annotations

import contextlib

from temporalio.client import WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.services import ApiServices
from centralita.campaigns.messages import campaign_workflow_id
from centralita.campaigns.policy import CampaignResult, CampaignRunInput
from workflows.campaign import CampaignWorkflow


async def start_campaign_workflow(services: ApiServices, campaign_id: str) -> None:
    """Start the campaign's workflow; already started is fine (deterministic id).

    Raises:
        TemporalUnavailableError: Temporal is unreachable.
    """
    client = await services.temporal.get()
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(
                campaign_id=campaign_id,
                use_search_attributes=services.settings.search_attributes,
                post_call_task_queue=(
                    services.settings.post_call_task_queue if services.settings.post_call else None
                ),
                media_placement=services.settings.media_placement,
            ),
            id=campaign_workflow_id(campaign_id),
            task_queue=services.settings.task_queue,
        )


async def campaign_handle(
    services: ApiServices, campaign_id: str
) -> WorkflowHandle[CampaignWorkflow, CampaignResult]:
    """A handle on the campaign's (latest) workflow run."""
    client = await services.temporal.get()
    return client.get_workflow_handle_for(CampaignWorkflow.run, campaign_workflow_id(campaign_id))
