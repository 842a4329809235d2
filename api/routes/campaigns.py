"""Campaigns: create (contacts inline), read with progress, list contacts and attempts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from temporalio.client import WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.contact_rows import validate_rows
from api.deps import Services
from api.schemas import CampaignCreate, CampaignCreated, CampaignOut, ContactOut
from api.services import ApiServices, TemporalUnavailableError
from centralita.store import DEFAULT_TENANT_ID, attempts, campaigns
from workflows.campaign import CampaignWorkflow, campaign_workflow_id
from workflows.models import CampaignResult, CampaignRunInput

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CampaignCreated,
    responses={422: {"description": "no valid contact, or a malformed request"}},
)
async def create_campaign(body: CampaignCreate, services: Services) -> CampaignCreated:
    """Store a campaign and its valid contacts, then start its workflow.

    Rows that fail validation are returned in `rejected` with their row number; the
    rest are stored. If Temporal is unreachable the campaign is still stored and
    `POST /campaigns/{id}/start` starts it later.
    """
    accepted, rejected = validate_rows(body.contacts, body.default_region)
    if not accepted:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail={"message": "no valid contact", "rejected": [r.model_dump() for r in rejected]},
        )
    row = await campaigns.create_campaign(
        services.pool,
        tenant_id=DEFAULT_TENANT_ID,
        name=body.name,
        timezone=body.timezone,
        policy=body.policy,
        contacts=accepted,
        workflow_id_for=campaign_workflow_id,
    )
    started, start_error = False, None
    if body.start:
        try:
            await _start_workflow(services, row.id)
            started = True
        except TemporalUnavailableError as exc:
            start_error = str(exc)
    return CampaignCreated(
        campaign=await _campaign_out(services, row.id),
        accepted=len(accepted),
        rejected=rejected,
        started=started,
        start_error=start_error,
    )


@router.get("", response_model=list[CampaignOut])
async def list_campaigns(
    services: Services, limit: Limit = 50, offset: Offset = 0
) -> list[CampaignOut]:
    """Campaigns, newest first."""
    rows = await campaigns.list_campaigns(
        services.pool, DEFAULT_TENANT_ID, limit=limit, offset=offset
    )
    counts = await campaigns.contact_state_counts(services.pool, [r.id for r in rows])
    ui_base = services.settings.temporal_ui_namespace_url
    return [CampaignOut.build(r, counts[r.id], ui_base) for r in rows]


@router.get("/{campaign_id}", response_model=CampaignOut, responses={404: {}})
async def get_campaign(campaign_id: str, services: Services) -> CampaignOut:
    """A campaign's state and its contacts counted by state."""
    return await _campaign_out(services, campaign_id)


@router.post("/{campaign_id}/start", response_model=CampaignOut, responses={404: {}, 503: {}})
async def start_campaign(campaign_id: str, services: Services) -> CampaignOut:
    """Start the campaign's workflow if it is not running yet (idempotent)."""
    await _campaign_out(services, campaign_id)  # 404 before touching Temporal
    try:
        await _start_workflow(services, campaign_id)
    except TemporalUnavailableError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    return await _campaign_out(services, campaign_id)


@router.get("/{campaign_id}/contacts", response_model=list[ContactOut], responses={404: {}})
async def list_campaign_contacts(
    campaign_id: str, services: Services, limit: Limit = 100, offset: Offset = 0
) -> list[ContactOut]:
    """The campaign's contacts in upload order, each with its attempt history."""
    await _campaign_out(services, campaign_id)
    contacts = await campaigns.list_contacts(services.pool, campaign_id, limit=limit, offset=offset)
    history = await attempts.attempts_for_contacts(services.pool, [c.id for c in contacts])
    return [ContactOut(**c.model_dump(), attempts=history[c.id]) for c in contacts]


async def _campaign_out(services: ApiServices, campaign_id: str) -> CampaignOut:
    row = await campaigns.get_campaign(services.pool, DEFAULT_TENANT_ID, campaign_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"campaign {campaign_id} not found")
    counts = await campaigns.contact_state_counts(services.pool, [row.id])
    return CampaignOut.build(row, counts[row.id], services.settings.temporal_ui_namespace_url)


async def _start_workflow(
    services: ApiServices, campaign_id: str
) -> WorkflowHandle[CampaignWorkflow, CampaignResult] | None:
    client = await services.temporal.get()
    try:
        return await client.start_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(campaign_id=campaign_id),
            id=campaign_workflow_id(campaign_id),
            task_queue=services.settings.task_queue,
        )
    except WorkflowAlreadyStartedError:
        return None
