"""A call runs on the contact's clock: relative dates are the contact's, in every language."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from centralita.kernel.calls import DialRequest
from centralita.understanding.nlu import understand
from realtime.agents.flows import FlowBrain
from realtime.agents.llm.agent import LlmAgentDefinition
from realtime.agents.loader import load_agent
from realtime.agents.setup import contact_zone, setup_for
from realtime.providers.base import BrainTurn
from realtime.server.inbound import InboundDirectory, InboundRoute
from tests.support.flows import run, turn

pytestmark = pytest.mark.unit

CONTACT: dict[str, Any] = {
    "nombre": "María",
    "name": "Mary",
    "empresa": "Banco Sur",
    "monto_total": 200000,
    "fecha_limite": "2025-03-05",
}
# 03:30 UTC on Tuesday 11 March 2025 is still Monday the 10th, 23:30, in New York.
LATE_IN_NEW_YORK = datetime(2025, 3, 11, 3, 30, tzinfo=UTC)


def request(number: str, **variables: Any) -> DialRequest:
    return DialRequest(
        idempotency_key="campaign-c-contact-k-attempt-1",
        to_number=number,
        campaign_id="c",
        contact_id="k",
        attempt_number=1,
        variables={**CONTACT, **variables},
    )


@pytest.mark.parametrize(
    ("agent", "number", "variables", "zone"),
    [
        ("collections-early", "+12125550123", {}, "America/New_York"),
        ("collections-late", "+13105550123", {}, "America/Los_Angeles"),
        ("collections-severe", "+442071234567", {}, "Europe/London"),
        ("cobranza-temprana", "+56221234567", {}, "America/Santiago"),
        ("cobranza-tardia", "+34912345678", {}, "Europe/Madrid"),
        # A Spanish mobile may be in the Canaries or on the mainland.
        ("cobranza-severa", "+34612345678", {}, "Atlantic/Canary"),
        ("collections-early", "+18005550123", {}, "America/New_York"),  # toll-free: all US
        # The contact's own zone wins; one that is no zone is left aside.
        ("collections-early", "+12125550123", {"timezone": "America/Chicago"}, "America/Chicago"),
        ("collections-early", "+12125550123", {"timezone": "Mars/Olympus"}, "America/New_York"),
        # A number that names no zone: the agent's usual market, never UTC.
        ("collections-early", "+15555550123", {}, "America/New_York"),
        ("cobranza-llm", "+15555550123", {}, "America/Santiago"),
    ],
)
def test_the_call_runs_on_the_contacts_zone(
    agent: str, number: str, variables: dict[str, Any], zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # cobranza-llm's fallback model
    definition = load_agent(agent)
    call = request(number, **variables)
    assert contact_zone(call, definition.language).key == zone
    assert setup_for(definition, call).config.timezone == zone


def test_an_english_flow_late_in_new_york_resolves_tomorrow_there() -> None:
    setup = setup_for(
        load_agent("collections-early"), request("+12125550123"), utc_now=lambda: LATE_IN_NEW_YORK
    )
    assert isinstance(setup.brain, FlowBrain)
    # What the call session hears is read at the contact's now...
    now = LATE_IN_NEW_YORK.astimezone(ZoneInfo(setup.config.timezone))
    heard = understand("I'll pay tomorrow", language=setup.config.language, now=now)
    assert heard.slots.pay_date == date(2025, 3, 11)  # UTC's tomorrow would be the 12th


async def test_the_flow_reads_a_bare_tomorrow_on_the_contacts_clock() -> None:
    setup = setup_for(
        load_agent("collections-early"), request("+12125550123"), utc_now=lambda: LATE_IN_NEW_YORK
    )
    assert isinstance(setup.brain, FlowBrain)

    def said(text: str) -> BrainTurn:
        now = LATE_IN_NEW_YORK.astimezone(ZoneInfo(setup.config.timezone))
        result = understand(text, language="en", now=now)
        return turn(result.intent, text, language="en", also=result.also,
                    pay_date=result.slots.pay_date)  # fmt: skip

    replies = await run(setup.brain, said("yes, speaking"), said("tomorrow"), said("yes"))
    assert "you'll pay 200,000 dollars on Tuesday, March 11?" in replies[2].say[0]
    assert replies[3].tool_calls[0].arguments["pay_date"] == "2025-03-11"


def test_an_llm_agent_runs_on_the_contacts_clock_too() -> None:
    agent = LlmAgentDefinition.model_validate(
        {
            "kind": "llm",
            "name": "assistant",
            "language": "en-US",
            "currency": "USD",
            "model": {"base_url": "http://127.0.0.1:11434/v1", "model": "llama3.1"},
            "prompt": "You are Sofia.",
        }
    )
    setup = setup_for(agent, request("+13105550123"), utc_now=lambda: LATE_IN_NEW_YORK)
    assert setup.config.timezone == "America/Los_Angeles"


def test_an_inbound_call_runs_on_the_callers_clock_not_the_lines() -> None:
    # A New York caller rings the Santiago line.
    call = request("+56229990000").model_copy(update={"from_number": "+12125550123"})
    assert contact_zone(call, "en-US").key == "America/New_York"


async def test_the_inbound_directory_passes_the_callers_number_on() -> None:
    directory = InboundDirectory({"+56229990000": InboundRoute(agent="collections-early")})
    call = await directory.request_for("+56229990000", "+12125550123")
    assert call.from_number == "+12125550123"
    assert contact_zone(call, "en-US").key == "America/New_York"
