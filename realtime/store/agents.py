"""Agent definitions in Postgres (`agents` table), falling back to the shipped ones.

A tenant's agent of a name shadows the shipped agent of that name for that tenant's
calls and campaigns; deleting it brings the shipped one back. Definitions are stored
as the parsers normalise them (`exclude_defaults`), so what is read back parses again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from centralita.kernel.db import Pool
from realtime.agents.flows.schema import AgentDefinition
from realtime.agents.llm.agent import LlmAgentDefinition
from realtime.agents.loader import (
    AgentNotFoundError,
    AnyAgentDefinition,
    load_agent,
    parse_agent_data,
    parse_any_agent_data,
    shipped_agents,
)


@dataclass(frozen=True)
class StoredAgent:
    """A tenant's stored agent row."""

    name: str
    language: str
    kind: str  # "flow" or "llm"
    description: str
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def agent_kind(definition: AnyAgentDefinition) -> str:
    """The `agents.kind` of a definition."""
    return "llm" if isinstance(definition, LlmAgentDefinition) else "flow"


async def load_agent_definition(pool: Pool, tenant_id: str, name: str) -> AgentDefinition:
    """The tenant's flow agent called `name`, else the shipped agent of that name.

    Raises:
        AgentNotFoundError: neither the tenant nor the package has it, or the stored
            agent is an LLM agent (not a flow).
        FlowDefinitionError: the stored definition is invalid.
    """
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT kind, definition FROM agents WHERE tenant_id = %s::uuid AND name = %s",
            (tenant_id, name),
        )
        row = await cur.fetchone()
    if row is not None:
        if row["kind"] != "flow":
            raise AgentNotFoundError(f"agent {name!r} is a {row['kind']} agent, not a flow")
        definition: Any = row["definition"]
        if definition:  # an empty {} is a placeholder row: the shipped flow is meant
            return parse_agent_data(definition, source=f"agents[{name}]")
    return load_agent(name)


async def load_tenant_agent(pool: Pool, tenant_id: str, name: str) -> AnyAgentDefinition | None:
    """The tenant's own agent called `name`, flow or LLM; None when it has none.

    Raises:
        FlowDefinitionError: the stored definition is invalid.
    """
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT definition FROM agents WHERE tenant_id = %s::uuid AND name = %s",
            (tenant_id, name),
        )
        row = await cur.fetchone()
    if row is None or not row["definition"]:  # {}: a placeholder meaning the shipped one
        return None
    return parse_any_agent_data(row["definition"], source=f"agents[{name}]")


async def upsert_agent(pool: Pool, tenant_id: str, definition: AnyAgentDefinition) -> str:
    """Store (or replace) a tenant's flow or LLM agent, keyed by its name; returns the row id."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO agents (tenant_id, name, language, kind, definition) "
            "VALUES (%s::uuid, %s, %s, %s, %s) "
            "ON CONFLICT (tenant_id, name) DO UPDATE SET language = EXCLUDED.language, "
            "kind = EXCLUDED.kind, definition = EXCLUDED.definition, updated_at = now() "
            "RETURNING id::text AS id",
            (
                tenant_id,
                definition.name,
                definition.language,
                agent_kind(definition),
                Jsonb(definition.model_dump(mode="json", exclude_defaults=True)),
            ),
        )
        row = await cur.fetchone()
    assert row is not None
    return str(row["id"])


# The tenant's rows that hold a definition: an empty {} is a placeholder for the shipped one.
_OWN = "tenant_id = %s::uuid AND definition <> '{}'::jsonb"
_ROW = (
    "name, language, kind, coalesce(definition->>'description', '') AS description, "
    "definition, created_at, updated_at"
)


async def get_stored_agent(pool: Pool, tenant_id: str, name: str) -> StoredAgent | None:
    """The tenant's own row for `name` (placeholders included), or None."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_ROW} FROM agents WHERE tenant_id = %s::uuid AND name = %s",
            (tenant_id, name),
        )
        row = await cur.fetchone()
    return StoredAgent(**row) if row is not None else None


async def list_stored_agents(
    pool: Pool, tenant_id: str, *, limit: int, offset: int
) -> tuple[int, list[StoredAgent]]:
    """How many agents the tenant stores, and one page of them by name (no placeholders)."""
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT count(*) AS n FROM agents WHERE {_OWN}", (tenant_id,))
        counted = await cur.fetchone()
        cur = await conn.execute(
            f"SELECT {_ROW} FROM agents WHERE {_OWN} ORDER BY name LIMIT %s OFFSET %s",
            (tenant_id, limit, offset),
        )
        rows = await cur.fetchall()
    return (int(counted["n"]) if counted else 0), [StoredAgent(**r) for r in rows]


async def stored_names(pool: Pool, tenant_id: str, names: list[str]) -> set[str]:
    """Which of `names` the tenant stores an agent under (placeholders are not one)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT name FROM agents WHERE {_OWN} AND name = ANY(%s)",
            (tenant_id, names),
        )
        return {str(r["name"]) for r in await cur.fetchall()}


async def delete_agent(pool: Pool, tenant_id: str, name: str) -> bool:
    """Remove the tenant's own agent; whether there was one."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM agents WHERE tenant_id = %s::uuid AND name = %s", (tenant_id, name)
        )
        return cur.rowcount > 0


async def unknown_agents(pool: Pool, tenant_id: str, names: list[str]) -> list[str]:
    """The names among `names` that are neither the tenant's agents nor shipped, sorted."""
    wanted = sorted(set(names) - set(shipped_agents()))
    if not wanted:
        return []
    return sorted(set(wanted) - await stored_names(pool, tenant_id, wanted))


async def campaigns_naming(pool: Pool, tenant_id: str, name: str) -> list[str]:
    """Ids of the tenant's unfinished campaigns whose policy names agent `name`."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id::text AS id FROM campaigns WHERE tenant_id = %s::uuid "
            "AND status IN ('created', 'running', 'paused') "
            "AND (policy->>'default_agent' = %s OR EXISTS (SELECT 1 FROM "
            "jsonb_each_text(coalesce(policy->'segment_agents', '{}'::jsonb)) s "
            "WHERE s.value = %s)) ORDER BY created_at",
            (tenant_id, name, name),
        )
        return [str(r["id"]) for r in await cur.fetchall()]
