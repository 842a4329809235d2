"""Which agent answers a number, and what it knows about the person calling.

An inbound number maps to an agent and default variables (settings:
`CENTRALITA_INBOUND_NUMBERS`). When the caller's number belongs to a contact of a
campaign, the contact's own variables (name, amount, due date) fill in the rest, so a
debtor calling back reaches the agent that knows their case.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from centralita.campaigns.store.campaigns import latest_contact_with_phone
from centralita.kernel.calls import DialRequest
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.memory.call_variables import with_memory

CallerLookup = Callable[[str], Awaitable[dict[str, Any]]]


class InboundRoute(BaseModel):
    """The agent behind an inbound number."""

    agent: str
    variables: dict[str, Any] = Field(default_factory=dict)


class UnknownNumberError(LookupError):
    """No agent answers the dialled number."""


class InboundDirectory:
    """Inbound numbers and the agents behind them.

    Args:
        routes: number (E.164) -> route.
        caller_variables: the known variables of a caller's number (empty when unknown).
    """

    def __init__(
        self, routes: Mapping[str, InboundRoute], caller_variables: CallerLookup | None = None
    ) -> None:
        self._routes = dict(routes)
        self._caller_variables = caller_variables

    async def request_for(self, to_number: str, from_number: str) -> DialRequest:
        """The call as the agent sees it: its agent, variables and a fresh call id.

        Raises:
            UnknownNumberError: no agent answers `to_number`.
        """
        route = self._routes.get(to_number)
        if route is None:
            raise UnknownNumberError(f"no agent answers {to_number}")
        known = await self._caller_variables(from_number) if self._caller_variables else {}
        return DialRequest(
            idempotency_key=f"inbound-{uuid.uuid4()}",
            to_number=to_number,
            campaign_id="",
            contact_id="",
            attempt_number=1,
            agent=route.agent,
            variables={**route.variables, **known},
            from_number=from_number,
        )


def caller_lookup(pool: Pool) -> CallerLookup:
    """Variables of the most recent contact holding the caller's number (Postgres), among
    the default tenant's: the deployment's own inbound numbers answer for it."""
    of_tenant = tenant_caller_lookup(pool)
    return lambda from_number: of_tenant(DEFAULT_TENANT_ID, from_number)


def tenant_caller_lookup(pool: Pool) -> Callable[[str, str], Awaitable[dict[str, Any]]]:
    """(tenant, caller's number) -> what the tenant's most recent contact with that number
    knows: name, variables and time zone, and the person's memory (earlier calls,
    promises, payments: `centralita.memory.call_variables`), as an outbound call to them
    gets it; empty when the number is no contact's."""

    async def lookup(tenant_id: str, from_number: str) -> dict[str, Any]:
        async with pool.connection() as conn:
            row = await latest_contact_with_phone(conn, tenant_id, from_number)
        if row is None:
            return {}
        known: dict[str, Any] = {"name": row["name"], **dict(row["variables"] or {})}
        if row["recipient_timezone"] and "timezone" not in known:
            known["timezone"] = row["recipient_timezone"]  # the contact's clock, as dialled
        return await with_memory(pool, tenant_id, row["id"], known, now=datetime.now(UTC))

    return lookup
