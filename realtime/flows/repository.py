"""Agent definitions in Postgres (`agents` table), falling back to the shipped ones."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from centralita.db import Pool
from realtime.flows.loader import AgentNotFoundError, load_agent, parse_agent_data
from realtime.flows.schema import AgentDefinition


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


async def upsert_agent(pool: Pool, tenant_id: str, definition: AgentDefinition) -> str:
    """Store (or replace) a tenant's flow agent, keyed by its name; returns the row id."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO agents (tenant_id, name, language, kind, definition) "
            "VALUES (%s::uuid, %s, %s, 'flow', %s) "
            "ON CONFLICT (tenant_id, name) DO UPDATE SET language = EXCLUDED.language, "
            "kind = EXCLUDED.kind, definition = EXCLUDED.definition, updated_at = now() "
            "RETURNING id::text AS id",
            (
                tenant_id,
                definition.name,
                definition.language,
                Jsonb(definition.model_dump(mode="json", exclude_defaults=True)),
            ),
        )
        row = await cur.fetchone()
    assert row is not None
    return str(row["id"])
