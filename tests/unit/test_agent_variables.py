"""What the agent gets to talk with: the contact's variables and its name."""

from __future__ import annotations

from typing import Any

import pytest

from activities.campaigns import agent_variables
from centralita.campaigns.policy import CampaignPolicy
from centralita.campaigns.store.contact_context import ContactContext

pytestmark = pytest.mark.unit


def _contact(name: str | None, variables: dict[str, Any]) -> ContactContext:
    return ContactContext(
        contact_id="c",
        campaign_id="k",
        tenant_id="t",
        name=name,
        state="pending",
        phones=["+56961234567"],
        phone_index=0,
        recipient_timezone=None,
        campaign_timezone="UTC",
        segment=None,
        variables=variables,
        admitted_at=None,
        next_attempt_at=None,
        policy=CampaignPolicy(),
        attempts_total=0,
    )


def test_the_contacts_name_reaches_the_agent() -> None:
    assert agent_variables(_contact("María", {"monto_total": 1})) == {
        "name": "María",
        "monto_total": 1,
    }


def test_an_uploaded_name_column_wins() -> None:
    assert agent_variables(_contact("María González", {"name": "Mari"})) == {"name": "Mari"}


def test_no_name_adds_nothing() -> None:
    assert agent_variables(_contact(None, {"x": 1})) == {"x": 1}


def test_the_contacts_zone_reaches_the_agent_as_timezone() -> None:
    contact = _contact("María", {"monto_total": 1}).model_copy(
        update={"recipient_timezone": "Europe/Madrid"}
    )
    assert agent_variables(contact)["timezone"] == "Europe/Madrid"


def test_a_timezone_variable_of_the_contacts_own_is_kept() -> None:
    contact = _contact("María", {"timezone": "Atlantic/Canary"}).model_copy(
        update={"recipient_timezone": "Europe/Madrid"}
    )
    assert agent_variables(contact)["timezone"] == "Atlantic/Canary"
