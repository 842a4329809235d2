"""An inbound caller is known by the newest contact holding her number (real Postgres)."""

from __future__ import annotations

import pytest

from centralita.campaigns.messages import campaign_workflow_id
from centralita.campaigns.policy import CampaignPolicy
from centralita.campaigns.store import campaigns
from centralita.campaigns.store.campaigns import NewContact
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.server.inbound import caller_lookup

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
