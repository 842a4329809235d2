"""Agents: the tenant's own flow and LLM agents beside the shipped ones.

A definition is the same document as a shipped YAML file (`realtime/agents/`), sent as
JSON and checked by the same parsers, so an agent that loads from a file loads from the
API and the other way round. A tenant's agent of a shipped agent's name takes its place
for that tenant (its campaigns and calls); deleting it brings the shipped one back.
Shipped agents cannot be deleted (409): they belong to the release, not to a tenant.
LLM agents never carry a key: their `model` names the environment variable that holds
it (`api_key_env`), and a stray `api_key` is refused like any unknown field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Path, Query, Response, status
from pydantic import BaseModel

from api.auth import TenantId
from api.deps import Services
from api.limits import PageOffset
from centralita.actions.store.agent_tools import tool_names_for_agent
from centralita.kernel.db import Pool
from realtime.agents.flows.schema import AgentDefinition, FlowDefinitionError
from realtime.agents.flows.tenant_refs import tenant_tool_refs
from realtime.agents.loader import (
    AnyAgentDefinition,
    load_any_agent,
    parse_any_agent_data,
    shipped_agents,
)
from realtime.store.agents import (
    StoredAgent,
    agent_kind,
    campaigns_naming,
    delete_agent,
    get_stored_agent,
    list_stored_agents,
    stored_names,
    upsert_agent,
)

router = APIRouter(prefix="/agents", tags=["agents"])

AgentName = Annotated[str, Path(max_length=100, description="The agent's name")]
Source = Literal["tenant", "shipped"]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such agent"}}


class AgentSummary(BaseModel):
    """An agent a campaign may name."""

    name: str
    kind: Literal["flow", "llm"]
    language: str
    description: str
    source: Source
    overrides_shipped: bool = False  # a tenant's agent in place of the shipped one
    updated_at: datetime | None = None  # shipped agents: None


class AgentOut(AgentSummary):
    """An agent with its definition (the document a YAML file holds)."""

    definition: dict[str, Any]


class AgentPage(BaseModel):
    """One page of agents (the tenant's by name, then the shipped ones) and the total."""

    total: int
    items: list[AgentSummary]


def _stored(row: StoredAgent, shipped: set[str]) -> AgentOut:
    return AgentOut(
        name=row.name,
        kind="llm" if row.kind == "llm" else "flow",
        language=row.language,
        description=row.description,
        source="tenant",
        overrides_shipped=row.name in shipped,
        updated_at=row.updated_at,
        definition=row.definition,
    )


def _shipped(definition: AnyAgentDefinition) -> AgentOut:
    return AgentOut(
        name=definition.name,
        kind="llm" if agent_kind(definition) == "llm" else "flow",
        language=definition.language,
        description=definition.description,
        source="shipped",
        definition=definition.model_dump(mode="json", exclude_defaults=True),
    )


def _summary(agent: AgentOut) -> AgentSummary:
    return AgentSummary(**agent.model_dump(exclude={"definition"}))


@router.get("", response_model=AgentPage)
async def list_agents(
    services: Services,
    tenant: TenantId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: PageOffset = 0,
) -> AgentPage:
    """The tenant's agents by name, then the shipped ones it has not replaced."""
    shipped = set(shipped_agents())
    own_total, own = await list_stored_agents(services.pool, tenant, limit=limit, offset=offset)
    replaced = await stored_names(services.pool, tenant, sorted(shipped))
    free = sorted(shipped - replaced)
    items = [_summary(_stored(row, shipped)) for row in own if row.definition]
    # The page goes on into the shipped agents once the tenant's are all listed.
    start = max(0, offset - own_total)
    for name in free[start : start + limit - len(own)] if len(own) < limit else []:
        items.append(_summary(_shipped(load_any_agent(name))))
    return AgentPage(total=own_total + len(free), items=items)


@router.get("/{agent_name}", response_model=AgentOut, responses=_NOT_FOUND)
async def get_agent(agent_name: AgentName, services: Services, tenant: TenantId) -> AgentOut:
    """The agent a call naming `agent_name` gets: the tenant's own, else the shipped one."""
    shipped = set(shipped_agents())
    row = await get_stored_agent(services.pool, tenant, agent_name)
    if row is not None and row.definition:
        return _stored(row, shipped)
    if agent_name in shipped:
        return _shipped(load_any_agent(agent_name))
    raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no agent {agent_name!r}")


@router.put(
    "/{agent_name}",
    response_model=AgentOut,
    responses={
        200: {"description": "replaced"},
        201: {"description": "created", "model": AgentOut},
        422: {"description": "an invalid definition: `detail.problems` lists each problem"},
    },
)
async def put_agent(
    agent_name: AgentName,
    definition: Annotated[dict[str, Any], Body(description="A flow or `kind: llm` agent")],
    services: Services,
    tenant: TenantId,
    response: Response,
) -> AgentOut:
    """Create or replace the tenant's agent `agent_name` (201 created, 200 replaced).

    The body is the agent's definition, as in a shipped YAML file; its `name` must be
    `agent_name`, and each `tenant:<name>` tool step must name one of the tenant's tools
    that this agent gets. Every problem is answered at once, each with its path.
    """
    try:
        parsed = parse_any_agent_data(definition, source=agent_name)
    except FlowDefinitionError as exc:
        raise _invalid(agent_name, exc.problems) from exc
    if parsed.name != agent_name:
        raise _invalid(
            agent_name, [f"name: {parsed.name!r} differs from the path's {agent_name!r}"]
        )
    missing = await _missing_tenant_tools(services.pool, tenant, parsed)
    if missing:
        raise _invalid(agent_name, missing)
    existed = await get_stored_agent(services.pool, tenant, agent_name) is not None
    await upsert_agent(services.pool, tenant, parsed)
    row = await get_stored_agent(services.pool, tenant, agent_name)
    assert row is not None  # written just above
    response.status_code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
    return _stored(row, set(shipped_agents()))


async def _missing_tenant_tools(
    pool: Pool, tenant: str, definition: AnyAgentDefinition
) -> list[str]:
    """Each `tenant:<name>` step of a flow that the agent would not get (its calls would
    fail at that step): the tenant has no such tool, or keeps it for other agents."""
    if not isinstance(definition, AgentDefinition):
        return []  # an LLM agent is offered whatever tools the tenant gives it
    refs = tenant_tool_refs(definition)
    if not refs:
        return []
    async with pool.connection() as conn:
        names = await tool_names_for_agent(conn, tenant, definition.name)
    return [
        f"{path}: no tenant tool {name!r} for agent {definition.name!r} (create it with "
        "POST /tools or POST /mcp-servers, with this agent in its `agents` or none)"
        for path, name in refs
        if name not in names
    ]


def _invalid(name: str, problems: list[str]) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail={"message": f"agent {name!r} is invalid", "problems": problems},
    )


@router.delete(
    "/{agent_name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **_NOT_FOUND,
        409: {"description": "a shipped agent, or one an unfinished campaign names"},
    },
)
async def remove_agent(agent_name: AgentName, services: Services, tenant: TenantId) -> Response:
    """Delete the tenant's own agent.

    A shipped agent answers 409 (it is part of the release). So does an agent that an
    unfinished campaign names and no shipped agent could stand in for: its calls would
    fail. Deleting a replacement of a shipped agent brings the shipped one back.
    """
    shipped = agent_name in set(shipped_agents())
    if await get_stored_agent(services.pool, tenant, agent_name) is None:
        if shipped:
            raise HTTPException(
                status.HTTP_409_CONFLICT, detail=f"{agent_name!r} is shipped; it cannot be deleted"
            )
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no agent {agent_name!r}")
    if not shipped:
        users = await campaigns_naming(services.pool, tenant, agent_name)
        if users:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                detail=f"campaign(s) {', '.join(users)} still name {agent_name!r}",
            )
    await delete_agent(services.pool, tenant, agent_name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
