"""A whole campaign over (a local fake) Twilio: the carrier's call log is our attempts.

The production orchestrator worker on the real Temporal dev server runs a campaign with
the users' rules (a daily quota, one batch, two calls at once, two attempts per contact,
retries after a second), dialling through the media worker's `TwilioDialer`, whose
account takes two calls a second. Behind the
numbers: lines that are busy, fail, reach a machine (Twilio's AMD), and a person who
is not the debtor (a real conversation over the media stream). At the end, every
attempt we stored is exactly one call on the Twilio account, under its own key, and the
outcomes are what the carrier reported.
"""

from __future__ import annotations

import itertools
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
from temporalio.testing import WorkflowEnvironment

from centralita.campaigns.policy import CampaignPolicy
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from realtime.carrier.simulated import Persona, PersonaStep
from realtime.softphone.script import BotLine, BotScript
from tests.support.campaigns import ALWAYS_OPEN, Population, new_campaign, rows, run_campaign
from tests.support.lines import loopback_line
from tests.support.phones import twilio_phones

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DEBT = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}


def line_state(outcome: CallOutcome) -> PersonaStep:
    return PersonaStep(outcome=outcome, ring_seconds=0.2, talk_seconds=20)


def population() -> Population:
    people = Population()
    people.add("busy", 2, [line_state(CallOutcome.BUSY)], prefix="+5697")
    people.add("machine", 2, [line_state(CallOutcome.VOICEMAIL)], prefix="+5697")
    people.add("failed", 1, [line_state(CallOutcome.FAILED)], prefix="+5697")
    stranger = BotScript(lines=[BotLine(say="No, no soy esa persona.")])
    people.add(
        "stranger",
        1,
        [PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=0.2, conversation=stranger)],
        prefix="+5697",
    )
    for contact in people.contacts:
        contact.variables = dict(DEBT)
    return people


@pytest.mark.asyncio(loop_scope="session")
async def test_a_campaign_over_twilio_rings_each_attempt_once(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    people = population()
    policy = CampaignPolicy.model_validate(
        {
            **ALWAYS_OPEN,
            "schedule": {**ALWAYS_OPEN["schedule"], "daily_quota": 50},
            "concurrency": 2,
            # The campaign's own caller IDs: a Chilean one for Chilean phones.
            "caller_ids": ["+34910000001", "+56221110000"],
            "caps": {"max_attempts": 2, "calls_per_day": 3},
            "retry": {
                "busy_seconds": 1,
                "voicemail_seconds": 1,
                "failure_seconds": 1,
                "no_answer_seconds": 1,
            },
        }
    )
    campaign_id = await new_campaign(pool, people, policy)
    personas: list[Persona] = people.personas
    cps = 2.0  # the account's limit: two calls a second, with two dialling at once
    async with (
        loopback_line() as line,
        twilio_phones(personas, line, calls_per_second=cps) as phones,
    ):
        await run_campaign(dev_env.client, pool, campaign_id, phones.dialer)

    attempts = rows(
        database_url,
        "SELECT a.attempt_key, a.phone, a.outcome, c.name FROM call_attempts a "
        "JOIN contacts c ON c.id = a.contact_id WHERE a.campaign_id = %s::uuid",
        campaign_id,
    )
    rung = [_key(call.first("StatusCallback") or "") for call in phones.twilio.calls]
    # Every attempt is one call on the account, under its own key; no key rang twice.
    assert sorted(rung) == sorted(a["attempt_key"] for a in attempts)
    assert max(Counter(rung).values()) == 1
    assert Counter(a["phone"] for a in attempts) == Counter(c.to for c in phones.twilio.calls)
    assert {call.from_ for call in phones.twilio.calls} == {"+56221110000"}
    created = sorted(call.created_at for call in phones.twilio.calls)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(created)]
    assert min(gaps) >= 1 / cps - 0.05, gaps  # the carrier never saw calls faster
    by_kind = Counter((people.kinds[a["name"]], a["outcome"]) for a in attempts)
    assert by_kind == {
        ("busy", "busy"): 4,  # two attempts each, the cap
        ("machine", "voicemail"): 4,
        ("failed", "failed"): 1,  # a failed line moves to the next phone: it has none
        ("stranger", "wrong_person"): 1,  # closed at once: never called again
    }


def _key(callback_url: str) -> str:
    """The attempt key the status callback URL carries."""
    return parse_qs(urlsplit(callback_url).query)["key"][0]
