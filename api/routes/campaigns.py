"""Campaigns: create (JSON or CSV), list, read with live figures, list contacts, latency."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from api.agent_names import check_agent_names
from api.auth import TenantId
from api.campaign_intake import OPENAPI_REQUEST_BODY, read_campaign_request
from api.campaign_views import campaign_views
from api.carrier_accounts import check_carrier_account
from api.contact_agents import contact_agents
from api.contact_rows import validate_rows
from api.deps import Services
from api.limits import RATE_LIMITED, PageOffset, campaign_rule, csv_upload_rule, take_or_429
from api.schemas import CampaignCreate, CampaignCreated, CampaignOut, ContactOut
from api.services import ApiServices, TemporalUnavailableError
from api.workflow_control import start_campaign_workflow
from centralita.calls.store import latency as call_latency
from centralita.calls.store.latency import CampaignLatency
from centralita.campaigns.messages import campaign_workflow_id
from centralita.campaigns.store import attempts, campaigns
from centralita.campaigns.store.campaigns import CampaignRow

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = PageOffset


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CampaignCreated,
    openapi_extra=OPENAPI_REQUEST_BODY,
    responses={
        413: {"description": "request, CSV or contact count over the limits"},
        415: {"description": "neither JSON nor multipart"},
        422: {"description": "no valid contact, an unknown agent, or a malformed request"},
        **RATE_LIMITED,
    },
)
async def create_campaign(
    request: Request, services: Services, tenant: TenantId
) -> CampaignCreated:
    """Store a campaign and its valid contacts, then start its workflow.

    Send JSON with `contacts` inline, or multipart with a CSV `file` (columns map to
    contact fields; every other column becomes a dynamic variable). Rows that fail
    validation come back in `rejected` with their row number (a CSV file's line
    number); the rest are stored. A row is refused when it repeats an earlier row's
    first phone or external id, when its segment has no agent, or when its agent
    could not read one of its typed variables (an amount, a date); a stored row whose
    agent needs a variable it lacks comes back in `warnings`. If
    Temporal is unreachable the campaign is still stored and
    `POST /campaigns/{id}/start` starts it later.

    Each tenant may create `campaign_create_burst` campaigns at once and
    `campaign_create_per_minute` a minute, and CSV uploads count against their own,
    smaller rate too; past either the answer is 429 with `Retry-After`.
    """
    # Before the body is read: a refused request costs no parsing.
    await take_or_429(services, tenant, campaign_rule(services.settings))
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        await take_or_429(services, tenant, csv_upload_rule(services.settings))
    body = await read_campaign_request(request, services.settings)
    return await store_and_start(services, tenant, body)


async def store_and_start(
    services: ApiServices, tenant: str, body: CampaignCreate
) -> CampaignCreated:
    """Validate the rows of a campaign request, store the campaign with the valid ones
    and start its workflow when asked (the REST route and the MCP tool both end here).

    Raises:
        HTTPException: 422 with every rejected row when none is valid, or for an unknown
            agent or carrier account.
    """
    policy = body.effective_policy()
    await check_agent_names(services.pool, tenant, policy)
    await check_carrier_account(services.pool, tenant, policy)
    agents = await contact_agents(services.pool, tenant, policy)
    accepted, rejected, warnings = validate_rows(
        body.contacts, body.default_region, policy.schedule.timezone, check=agents.check
    )
    if not accepted:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail={"message": "no valid contact", "rejected": [r.model_dump() for r in rejected]},
        )
    row = await campaigns.create_campaign(
        services.pool,
        tenant_id=tenant,
        name=body.name,
        timezone=policy.schedule.timezone,
        policy=policy,
        contacts=accepted,
        workflow_id_for=campaign_workflow_id,
    )
    started, start_error = False, None
    if body.start:
        try:
            await start_campaign_workflow(services, row.id)
            started = True
        except TemporalUnavailableError as exc:
            start_error = str(exc)
    return CampaignCreated(
        campaign=await campaign_view(services, tenant, row.id),
        accepted=len(accepted),
        rejected=rejected,
        warnings=warnings,
        started=started,
        start_error=start_error,
    )


@router.get("", response_model=list[CampaignOut])
async def list_campaigns(
    services: Services, tenant: TenantId, limit: Limit = 50, offset: Offset = 0
) -> list[CampaignOut]:
    """Campaigns, newest first."""
    rows = await campaigns.list_campaigns(services.pool, tenant, limit=limit, offset=offset)
    return await campaign_views(services, rows)


@router.get("/{campaign_id}", response_model=CampaignOut, responses={404: {}})
async def get_campaign(campaign_id: str, services: Services, tenant: TenantId) -> CampaignOut:
    """State, contacts by state, attempts by outcome, next dial slot, today's quota use."""
    return await campaign_view(services, tenant, campaign_id)


@router.get("/{campaign_id}/contacts", response_model=list[ContactOut], responses={404: {}})
async def list_campaign_contacts(
    campaign_id: str,
    services: Services,
    tenant: TenantId,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[ContactOut]:
    """The campaign's contacts in upload order, each with its attempt history."""
    await campaign_view(services, tenant, campaign_id)  # 404 for another tenant's
    contacts = await campaigns.list_contacts(services.pool, campaign_id, limit=limit, offset=offset)
    history = await attempts.attempts_for_contacts(services.pool, [c.id for c in contacts])
    return [ContactOut(**c.model_dump(), attempts=history[c.id]) for c in contacts]


@router.get("/{campaign_id}/latency", response_model=CampaignLatency, responses={404: {}})
async def get_campaign_latency(
    campaign_id: str, services: Services, tenant: TenantId
) -> CampaignLatency:
    """Voice-to-voice latency (p50, p95, max) and the median of each part of a turn
    (endpointing, STT, brain, first TTS audio) over every turn of the campaign's calls.

    A campaign with no conversation yet answers counts 0 and null figures.
    """
    found = await call_latency.campaign_latency(services.pool, tenant, campaign_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"campaign {campaign_id} not found")
    return found


async def campaign_row(services: ApiServices, tenant_id: str, campaign_id: str) -> CampaignRow:
    """One of the tenant's campaigns as stored, or 404 (another tenant's too)."""
    row = await campaigns.get_campaign(services.pool, tenant_id, campaign_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"campaign {campaign_id} not found")
    return row


async def campaign_view(services: ApiServices, tenant_id: str, campaign_id: str) -> CampaignOut:
    """One of the tenant's campaigns as a view, or 404 (another tenant's too)."""
    row = await campaign_row(services, tenant_id, campaign_id)
    return (await campaign_views(services, [row]))[0]
