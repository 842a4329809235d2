"""Shared set-up of campaign-engine tests: personas, contacts, running a campaign."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from temporalio.client import Client
from temporalio.service import RPCError

from centralita.campaigns.messages import campaign_workflow_id
from centralita.campaigns.policy import CampaignPolicy, CampaignResult, CampaignRunInput
from centralita.campaigns.store import campaigns
from centralita.campaigns.store.campaigns import NewContact
from centralita.kernel.calls import CallOutcome, Dialer
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.carrier.simulated import Persona, PersonaStep
from tests.support.servers import instant_carrier, orchestrator_worker, task_queue
from workflows.campaign import CampaignWorkflow

_NUMBERS = itertools.count()

ALWAYS_OPEN: dict[str, Any] = {
    "profile": "unrestricted",
    "schedule": {
        "timezone": "UTC",
        "batch_slots": ["00:00"],
        "window_end": "00:00",
        "weekdays": list(range(7)),
        "daily_quota": 10_000,
    },
}


def step(outcome: CallOutcome, **extra: Any) -> PersonaStep:
    """A scripted attempt with no ringing time."""
    return PersonaStep(outcome=outcome, ring_seconds=0, **extra)


@dataclass
class Population:
    """Contacts and the personas behind their numbers."""

    contacts: list[NewContact] = field(default_factory=list)
    personas: list[Persona] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # contact name -> kind

    def add(
        self,
        kind: str,
        count: int,
        script: Sequence[PersonaStep],
        *,
        timezone: str = "America/Santiago",
        prefix: str = "+5696",
    ) -> None:
        """Add `count` contacts of one kind, each with its own number."""
        for _ in range(count):
            # Unique across populations: numbers are global (opt-outs are per number).
            number = f"{prefix}{next(_NUMBERS):07d}"
            name = f"{kind}-{len(self.contacts)}"
            self.contacts.append(
                NewContact(name=name, phones=[number], recipient_timezone=timezone)
            )
            self.personas.append(Persona(number=number, name=name, script=list(script)))
            self.kinds[name] = kind


async def new_campaign(pool: Pool, population: Population, policy: CampaignPolicy) -> str:
    """Store a campaign with the population's contacts."""
    row = await campaigns.create_campaign(
        pool,
        tenant_id=DEFAULT_TENANT_ID,
        name="engine test",
        timezone=policy.schedule.timezone,
        policy=policy,
        contacts=population.contacts,
        workflow_id_for=campaign_workflow_id,
    )
    return row.id


async def run_campaign(
    client: Client,
    pool: Pool,
    campaign_id: str,
    carrier: Dialer,
    *,
    use_search_attributes: bool = False,
    max_history_events: int | None = None,
) -> CampaignResult:
    """Run the campaign's workflow to its end with the production worker."""
    queue = task_queue()
    extra = {} if max_history_events is None else {"max_history_events": max_history_events}
    async with orchestrator_worker(client, queue, pool, carrier):
        return await client.execute_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(
                campaign_id=campaign_id, use_search_attributes=use_search_attributes, **extra
            ),
            id=campaign_workflow_id(campaign_id),
            task_queue=queue,
        )


def rows(database_url: str, query: str, *params: Any) -> list[dict[str, Any]]:
    """Run a read query on the test database."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


__all__ = ["Population", "instant_carrier", "new_campaign", "rows", "run_campaign", "step"]


async def until_contacts_settled(
    database_url: str, campaign_id: str, timeout_s: float = 180.0
) -> dict[str, dict[str, Any]]:
    """The campaign's contacts by name (state, next attempt, outcome) once every one of
    them has an outcome: their calls were held and recorded.

    Raises:
        AssertionError: not all within `timeout_s`.
    """
    deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
    while True:
        contacts = {
            c["name"]: c
            for c in rows(
                database_url,
                "SELECT name, state, next_attempt_at, outcome FROM contacts "
                "WHERE campaign_id = %s::uuid",
                campaign_id,
            )
        }
        if contacts and all(c["outcome"] is not None for c in contacts.values()):
            return contacts
        assert datetime.now(UTC) < deadline, f"calls not settled: {contacts}"
        await asyncio.sleep(1)


async def run_until_settled(
    client: Client,
    pool: Pool,
    database_url: str,
    campaign_id: str,
    carrier: Dialer,
    *,
    timeout_s: float = 180.0,
) -> dict[str, dict[str, Any]]:
    """Run the campaign with the production worker until every contact has an outcome,
    then end it (its retries and callbacks are not waited for): the contacts by name.

    Raises:
        AssertionError: not settled within `timeout_s`.
    """
    queue = task_queue()
    async with orchestrator_worker(client, queue, pool, carrier):
        handle = await client.start_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(campaign_id=campaign_id),
            id=campaign_workflow_id(campaign_id),
            task_queue=queue,
        )
        try:
            return await until_contacts_settled(database_url, campaign_id, timeout_s)
        finally:
            with contextlib.suppress(RPCError):  # already ended
                await handle.terminate("test over")
