"""Campaign tools: create one from a CSV, pause and resume it, its progress and figures.

Each calls what the REST route calls (`api/routes/campaigns.py`,
`campaign_controls.py`, `analytics.py`), so a campaign made here is the campaign
`POST /campaigns` makes from the same file: the same rows refused with the same line
numbers and reasons, the same rate limits, its workflow started the same way.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from api.campaign_intake import campaign_from_csv
from api.campaign_views import campaign_views
from api.limits import campaign_rule, csv_upload_rule, take_or_429
from api.mcp.caller import as_tool_errors, caller_of, not_found
from api.routes.campaign_controls import signal_campaign
from api.routes.campaigns import campaign_view, store_and_start
from api.schemas import CampaignCreated, CampaignOut, ContactOut
from centralita.analytics.campaign_stats import CampaignStats, campaign_stats
from centralita.campaigns.store import attempts, campaigns
from workflows.campaign import CampaignWorkflow

CampaignId = Annotated[str, Field(description="The campaign's id (a UUID).")]
Limit = Annotated[int, Field(description="At most this many.", ge=1, le=500)]
Offset = Annotated[int, Field(description="Skip this many.", ge=0, le=2**63 - 1)]


async def create_campaign_from_csv(
    ctx: Context,
    csv: Annotated[
        str,
        Field(
            description="The CSV file's text with a header row: a name column (name, "
            "nombre, nombre_completo) and a phone column (phone, telefono, celular, "
            "movil); optional external_id, segment, timezone, try_phones; every other "
            "column becomes a variable the agent can use. `,`, `;` or tab delimited.",
            min_length=1,
        ),
    ],
    name: Annotated[str, Field(description="The campaign's name.", min_length=1, max_length=200)],
    agent: Annotated[
        str | None,
        Field(description="The agent that calls every contact (sets policy.default_agent)."),
    ] = None,
    policy: Annotated[
        dict[str, Any] | None,
        Field(
            description="The campaign policy as POST /campaigns takes it: schedule "
            "(timezone, batch_slots, window_end, days), profile, caps, retry, concurrency, "
            "segment_agents, default_agent, caller_ids."
        ),
    ] = None,
    timezone: Annotated[
        str | None, Field(description="IANA zone of the campaign (e.g. America/Santiago).")
    ] = None,
    default_region: Annotated[
        str | None,
        Field(description="ISO country for phones written without +country code (CL, ES)."),
    ] = None,
    start: Annotated[bool, Field(description="Start calling at once.")] = True,
) -> CampaignCreated:
    """Create a calling campaign from a CSV of contacts and start it.

    Bad rows are not stored: each comes back in `rejected` with its line in the file and
    why; the others are stored. Fails when no row is valid or the agent is unknown.
    """
    caller = caller_of(ctx)
    services, tenant = caller.services, caller.tenant_id
    fields: dict[str, Any] = {"name": name, "start": start}
    if timezone is not None:
        fields["timezone"] = timezone
    if default_region is not None:
        fields["default_region"] = default_region
    if policy is not None or agent is not None:
        fields["policy"] = {**(policy or {}), **({"default_agent": agent} if agent else {})}
    with as_tool_errors():
        await take_or_429(services, tenant, campaign_rule(services.settings))
        await take_or_429(services, tenant, csv_upload_rule(services.settings))
        body = campaign_from_csv(csv.encode("utf-8"), fields, services.settings)
        return await store_and_start(services, tenant, body)


async def pause_campaign(ctx: Context, campaign_id: CampaignId) -> CampaignOut:
    """Pause a running campaign: no new calls start; calls in progress finish.

    The state shown may still read `running`: it turns `paused` within seconds.
    """
    caller = caller_of(ctx)
    with as_tool_errors():
        return await signal_campaign(
            caller.services, caller.tenant_id, campaign_id, CampaignWorkflow.pause.__name__
        )


async def resume_campaign(ctx: Context, campaign_id: CampaignId) -> CampaignOut:
    """Resume a paused campaign: it starts calling again within its calling hours."""
    caller = caller_of(ctx)
    with as_tool_errors():
        return await signal_campaign(
            caller.services, caller.tenant_id, campaign_id, CampaignWorkflow.resume.__name__
        )


async def campaign_progress(ctx: Context, campaign_id: CampaignId) -> CampaignOut:
    """A campaign's state, its contacts by state, its attempts by outcome, the next
    calling slot and today's quota use."""
    caller = caller_of(ctx)
    with as_tool_errors():
        return await campaign_view(caller.services, caller.tenant_id, campaign_id)


async def campaign_stats_tool(ctx: Context, campaign_id: CampaignId) -> CampaignStats:
    """A campaign's figures: answer and promise rates, amounts promised, average duration
    and cost, outcomes, overall, by day and by hour; tool success and turn latency."""
    caller = caller_of(ctx)
    found = await campaign_stats(caller.services.pool, caller.tenant_id, campaign_id)
    if found is None:
        raise not_found("campaign", campaign_id)
    return found


async def list_campaigns(ctx: Context, limit: Limit = 20, offset: Offset = 0) -> list[CampaignOut]:
    """The campaigns, newest first, each with its state and progress: where to find a
    campaign's id by its name."""
    caller = caller_of(ctx)
    rows = await campaigns.list_campaigns(
        caller.services.pool, caller.tenant_id, limit=limit, offset=offset
    )
    return await campaign_views(caller.services, rows)


async def campaign_contacts(
    ctx: Context, campaign_id: CampaignId, limit: Limit = 100, offset: Offset = 0
) -> list[ContactOut]:
    """A campaign's contacts in upload order, each with its state and attempts: where to
    find a contact's id by its name or phone."""
    caller = caller_of(ctx)
    with as_tool_errors():
        await campaign_view(caller.services, caller.tenant_id, campaign_id)  # not found
    pool = caller.services.pool
    contacts = await campaigns.list_contacts(pool, campaign_id, limit=limit, offset=offset)
    history = await attempts.attempts_for_contacts(pool, [c.id for c in contacts])
    return [ContactOut(**c.model_dump(), attempts=history[c.id]) for c in contacts]
