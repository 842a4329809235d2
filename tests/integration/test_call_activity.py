"""The call activity (re-check, dial, store) on a real database and the simulated carrier.

A retried try is what a killed worker produces: it must join the call already placed
and store its result once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import ActivityEnvironment

from activities.calls import CallActivities
from centralita.campaigns.messages import BeginAttempt, PlaceCall
from centralita.campaigns.policy import CampaignPolicy
from centralita.campaigns.store import opt_outs
from centralita.kernel.calls import CallOutcome, ContactState
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from tests.support.campaigns import (
    ALWAYS_OPEN,
    Population,
    instant_carrier,
    new_campaign,
    rows,
    step,
)

pytestmark = pytest.mark.integration

# Far from today: a stored time near this one came from the workflow's clock, not the wall.
WORKFLOW_NOW = datetime(2031, 3, 4, 15, 0, tzinfo=UTC)


async def _one_contact(
    pool: Pool, database_url: str, outcome: CallOutcome
) -> tuple[PlaceCall, Population]:
    people = Population()
    people.add("one", 1, [step(outcome)])
    campaign_id = await new_campaign(pool, people, CampaignPolicy.model_validate(ALWAYS_OPEN))
    [contact] = rows(
        database_url, "SELECT id::text AS id FROM contacts WHERE campaign_id = %s", campaign_id
    )
    begin = BeginAttempt(
        attempt_key=f"campaign-{campaign_id}-contact-{contact['id']}-attempt-1",
        campaign_id=campaign_id,
        contact_id=contact["id"],
        attempt_number=1,
        phone=people.contacts[0].phones[0],
        agent=None,
        now=WORKFLOW_NOW,
    )
    return PlaceCall(begin=begin, variables={"nombre": "Ana"}), people


async def test_a_retried_try_joins_the_call_and_stores_it_once(
    pool: Pool, database_url: str
) -> None:
    placed, people = await _one_contact(pool, database_url, CallOutcome.PROMISE_TO_PAY)
    carrier = instant_carrier(people.personas)
    activities = CallActivities(pool, carrier)

    first = await ActivityEnvironment().run(activities.place_call, placed)
    again = await ActivityEnvironment().run(activities.place_call, placed)

    assert first.proceed
    assert first.result is not None
    assert first.result.outcome is CallOutcome.PROMISE_TO_PAY
    assert again.result == first.result
    assert [r.idempotency_key for r in carrier.dial_log] == [placed.begin.attempt_key]
    assert carrier.dial_log[0].variables == {"nombre": "Ana"}
    stored = rows(
        database_url,
        "SELECT status, outcome FROM call_attempts WHERE attempt_key = %s",
        placed.begin.attempt_key,
    )
    assert stored == [{"status": "completed", "outcome": "promise_to_pay"}]
    events = rows(
        database_url,
        "SELECT state FROM contact_events WHERE event_key = %s",
        f"{placed.begin.attempt_key}:result",
    )
    assert events == [{"state": ContactState.DONE.value}]


async def test_the_retry_delay_runs_from_the_workflows_clock(pool: Pool, database_url: str) -> None:
    placed, people = await _one_contact(pool, database_url, CallOutcome.NO_ANSWER)
    activities = CallActivities(pool, instant_carrier(people.personas))

    outcome = await ActivityEnvironment().run(activities.place_call, placed)

    assert outcome.decision is not None
    assert outcome.decision.state is ContactState.RETRY_SCHEDULED
    due = outcome.decision.next_attempt_at
    assert due is not None
    # One hour (the default no-answer delay) after the workflow's now plus the call's
    # few milliseconds; wall-clock time would put it years away.
    assert timedelta(hours=1) <= due - WORKFLOW_NOW < timedelta(hours=1, seconds=30)


async def test_a_call_the_rules_no_longer_allow_is_recorded_and_not_dialled(
    pool: Pool, database_url: str
) -> None:
    placed, people = await _one_contact(pool, database_url, CallOutcome.PROMISE_TO_PAY)
    carrier = instant_carrier(people.personas)
    async with pool.connection() as conn:
        await opt_outs.add(
            conn, DEFAULT_TENANT_ID, placed.begin.phone, reason=None, source="api", at=WORKFLOW_NOW
        )

    outcome = await ActivityEnvironment().run(CallActivities(pool, carrier).place_call, placed)

    assert not outcome.proceed
    assert outcome.result is None
    assert carrier.dial_log == []
    stored = rows(
        database_url,
        "SELECT status FROM call_attempts WHERE attempt_key = %s",
        placed.begin.attempt_key,
    )
    assert stored == [{"status": "skipped"}]
