"""Operating a running campaign: start, pause, resume, cancel, edit its policy."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, status
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from api.agent_names import check_agent_names
from api.auth import TenantId
from api.carrier_accounts import check_carrier_account
from api.deps import Services
from api.routes.campaigns import campaign_row, campaign_view
from api.schemas import CampaignOut, PolicyPatch
from api.services import ApiServices, TemporalUnavailableError
from api.workflow_control import campaign_handle, start_campaign_workflow
from workflows.campaign import CampaignWorkflow

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

# How long a policy edit waits for the campaign's worker to take it: without a worker
# the update would wait for one as long as the client does.
UPDATE_TIMEOUT = timedelta(seconds=10)

_CONTROL_RESPONSES: dict[int | str, dict[str, str]] = {
    404: {"description": "no such campaign"},
    409: {"description": "the campaign's workflow is not running"},
    503: {"description": "Temporal is unreachable (or, for an edit, no worker took it)"},
}


def _unavailable(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc))


def _not_running(campaign_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_409_CONFLICT, detail=f"campaign {campaign_id} is not running (finished?)"
    )


async def signal_campaign(
    services: ApiServices, tenant: str, campaign_id: str, name: str
) -> CampaignOut:
    """Send the campaign's workflow the signal `name` (pause, resume, cancel); its view.

    Shared with the MCP tools (api/mcp/).

    Raises:
        HTTPException: 404 another tenant's or no campaign, 409 not running, 503 Temporal
            unreachable.
    """
    await campaign_view(services, tenant, campaign_id)  # 404 before touching Temporal
    try:
        handle = await campaign_handle(services, campaign_id)
        await handle.signal(name)
    except TemporalUnavailableError as exc:
        raise _unavailable(exc) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _not_running(campaign_id) from exc
        raise
    return await campaign_view(services, tenant, campaign_id)


@router.post("/{campaign_id}/start", response_model=CampaignOut, responses=_CONTROL_RESPONSES)
async def start_campaign(campaign_id: str, services: Services, tenant: TenantId) -> CampaignOut:
    """Start the campaign's workflow if it is not running yet (idempotent)."""
    await campaign_view(services, tenant, campaign_id)
    try:
        await start_campaign_workflow(services, campaign_id)
    except TemporalUnavailableError as exc:
        raise _unavailable(exc) from exc
    return await campaign_view(services, tenant, campaign_id)


@router.post(
    "/{campaign_id}/pause",
    response_model=CampaignOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_CONTROL_RESPONSES,
)
async def pause_campaign(campaign_id: str, services: Services, tenant: TenantId) -> CampaignOut:
    """Stop starting calls; calls in progress finish. The status follows within seconds."""
    return await signal_campaign(services, tenant, campaign_id, CampaignWorkflow.pause.__name__)


@router.post(
    "/{campaign_id}/resume",
    response_model=CampaignOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_CONTROL_RESPONSES,
)
async def resume_campaign(campaign_id: str, services: Services, tenant: TenantId) -> CampaignOut:
    """Start calling again."""
    return await signal_campaign(services, tenant, campaign_id, CampaignWorkflow.resume.__name__)


@router.post(
    "/{campaign_id}/cancel",
    response_model=CampaignOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_CONTROL_RESPONSES,
)
async def cancel_campaign(campaign_id: str, services: Services, tenant: TenantId) -> CampaignOut:
    """End the campaign: calls in progress are cancelled and nobody else is called."""
    return await signal_campaign(services, tenant, campaign_id, CampaignWorkflow.cancel.__name__)


@router.patch(
    "/{campaign_id}",
    response_model=CampaignOut,
    responses={**_CONTROL_RESPONSES, 422: {"description": "the edited policy is invalid"}},
)
async def edit_campaign(
    campaign_id: str, patch: PolicyPatch, services: Services, tenant: TenantId
) -> CampaignOut:
    """Edit schedule, caps and retry rules of a running campaign.

    The change goes through a workflow update: validated, stored, and effective from
    the campaign's next decision.
    """
    current = await campaign_row(services, tenant, campaign_id)
    try:
        # A stored policy that is not valid is edited as stored: the edit must mend it.
        policy = patch.apply(
            current.policy if current.policy is not None else current.stored_policy
        )
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=exc.errors(include_url=False, include_context=False, include_input=False),
        ) from exc
    await check_agent_names(services.pool, tenant, policy)
    await check_carrier_account(services.pool, tenant, policy)
    try:
        handle = await campaign_handle(services, campaign_id)
        await handle.execute_update(
            CampaignWorkflow.update_policy, policy, rpc_timeout=UPDATE_TIMEOUT
        )
    except TemporalUnavailableError as exc:
        raise _unavailable(exc) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no worker took the change within {UPDATE_TIMEOUT.total_seconds():g} s "
            "(is the orchestrator running?); it may still apply when one does",
        ) from exc
    except WorkflowUpdateFailedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc.cause or exc)) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _not_running(campaign_id) from exc
        raise
    return await campaign_view(services, tenant, campaign_id)
