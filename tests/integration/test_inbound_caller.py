"""An inbound caller is known by the newest contact holding her number (real Postgres)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from centralita.campaigns.messages import campaign_workflow_id
from centralita.campaigns.policy import CampaignPolicy
from centralita.campaigns.store import campaigns
from centralita.campaigns.store.campaigns import NewContact
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.memory.call_variables import MEMORY_KEY
from realtime.server.inbound import caller_lookup
from tests.support.remembered_calls import insert_attempt, insert_campaign, insert_contact

pytestmark = pytest.mark.integration

NUMBER = "+56961110001"


async def _campaign(pool: Pool, name: str, contact: NewContact) -> None:
    await campaigns.create_campaign(
        pool,
        tenant_id=DEFAULT_TENANT_ID,
        name=name,
        timezone="America/Santiago",
        policy=CampaignPolicy(),
        contacts=[contact],
        workflow_id_for=campaign_workflow_id,
    )


async def test_the_newest_contact_with_the_number_answers(pool: Pool) -> None:
    lookup = caller_lookup(pool)
    assert await lookup(NUMBER) == {}

    await _campaign(
        pool,
        "older",
        NewContact(name="Ana Vieja", phones=["+56961110009", NUMBER], variables={"monto": 1}),
    )
    await _campaign(
        pool,
        "newer",
        NewContact(
            name="Ana",
            phones=[NUMBER],
            recipient_timezone="America/Punta_Arenas",
            variables={"monto": 2},
        ),
    )

    assert await lookup(NUMBER) == {
        "name": "Ana",
        "monto": 2,
        "timezone": "America/Punta_Arenas",
    }
    assert await lookup("+56961110009") == {"name": "Ana Vieja", "monto": 1}
    assert await lookup("+56961110002") == {}


async def test_a_caller_who_broke_a_promise_calls_in_with_that_memory(pool: Pool) -> None:
    number = "+56961110042"
    promised_on = date.today() - timedelta(days=10)
    campaign = await insert_campaign(pool, DEFAULT_TENANT_ID, "anterior")
    earlier = await insert_contact(pool, DEFAULT_TENANT_ID, campaign, [number], name="Rosa P.")
    await insert_attempt(
        pool, DEFAULT_TENANT_ID, campaign, earlier,
        started=datetime.now(UTC) - timedelta(days=20), outcome="promise_to_pay",
        extracted={"promised_amount": 50000, "promised_currency": "CLP",
                   "promised_date": promised_on.isoformat()},
    )  # fmt: skip
    await _campaign(pool, "esta semana", NewContact(name="Rosa", phones=[number]))

    known = await caller_lookup(pool)(number)

    assert known["name"] == "Rosa"  # this week's contact, with last month's history
    assert known["promesa_incumplida_fecha"] == promised_on.isoformat()
    assert MEMORY_KEY in known  # an LLM agent's prompt is written from it, masked at first
