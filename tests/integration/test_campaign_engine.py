"""Whole multi-day campaigns on Temporal's time-skipping server, real activities, Postgres.

Time skipping lets days of slots, retries and callbacks run in seconds; every
assertion recomputes local times independently with zoneinfo from stored rows.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.testing import WorkflowEnvironment

from centralita.campaigns.messages import campaign_workflow_id
from centralita.campaigns.policy import CampaignPolicy, CampaignRunInput
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from tests.support.campaigns import (
    ALWAYS_OPEN,
    Population,
    instant_carrier,
    new_campaign,
    rows,
    run_campaign,
    step,
)
from tests.support.servers import orchestrator_worker, task_queue
from workflows.campaign import CampaignWorkflow

pytestmark = pytest.mark.integration

SANTIAGO = ZoneInfo("America/Santiago")

# The first users' rules, word for word: 60 debtors a day in batches at 09:00, 12:00
# and 15:00; at most 3 calls a day to the same person; drop a person after calls on 3
# different days with no answer; honour a reschedule; retry after 60 minutes.
USERS_POLICY = CampaignPolicy.model_validate(
    {
        "profile": "default",
        "schedule": {
            "timezone": "America/Santiago",
            "batch_slots": ["09:00", "12:00", "15:00"],
            "window_end": "20:00",
            "weekdays": [0, 1, 2, 3, 4, 5],
            "daily_quota": 60,
        },
        "caps": {"calls_per_day": 3, "no_answer_days_to_exclude": 3, "max_attempts": 15},
        "retry": {"no_answer_seconds": 3600, "busy_seconds": 3600, "failure_seconds": 1800},
        "concurrency": 10,
    }
)


def _population() -> Population:
    people = Population()
    people.add("silent", 15, [step(CallOutcome.NO_ANSWER)])
    people.add(
        "callback",
        5,
        [
            step(CallOutcome.CALLBACK_REQUESTED, extracted={"callback_in_minutes": 90}),
            step(CallOutcome.PROMISE_TO_PAY),
        ],
    )
    people.add("busy", 10, [step(CallOutcome.BUSY), step(CallOutcome.COMPLETED)])
    people.add("payer", 100, [step(CallOutcome.PROMISE_TO_PAY)])
    return people


@pytest.fixture(scope="module")
async def users_campaign(
    time_skipping_env: WorkflowEnvironment, pool: Pool
) -> tuple[str, Population, int]:
    people = _population()
    campaign_id = await new_campaign(pool, people, USERS_POLICY)
    carrier = instant_carrier(people.personas)
    await run_campaign(time_skipping_env.client, pool, campaign_id, carrier)
    keys = [r.idempotency_key for r in carrier.dial_log]
    assert len(keys) == len(set(keys)), "an attempt reached the carrier twice"
    return campaign_id, people, len(keys)


def _attempts(database_url: str, campaign_id: str) -> list[dict[str, object]]:
    return rows(
        database_url,
        "SELECT c.name, a.attempt_number, a.status, a.outcome, a.started_at "
        "FROM call_attempts a JOIN contacts c ON c.id = a.contact_id "
        "WHERE a.campaign_id = %s ORDER BY c.name, a.attempt_number",
        campaign_id,
    )


def _local(moment: object) -> datetime:
    assert isinstance(moment, datetime)
    return moment.astimezone(SANTIAGO)


async def test_every_contact_ends_and_every_dial_is_stored(
    users_campaign: tuple[str, Population, int], database_url: str
) -> None:
    campaign_id, people, dialled = users_campaign
    contacts = rows(
        database_url,
        "SELECT name, state, outcome FROM contacts WHERE campaign_id = %s",
        campaign_id,
    )
    states = Counter((people.kinds[c["name"]], c["state"], c["outcome"]) for c in contacts)
    assert states == {
        ("silent", "excluded", "no_answer"): 15,
        ("callback", "done", "promise_to_pay"): 5,
        ("busy", "done", "completed"): 10,
        ("payer", "done", "promise_to_pay"): 100,
    }
    stored = [a for a in _attempts(database_url, campaign_id) if a["status"] == "completed"]
    assert len(stored) == dialled
    status = rows(database_url, "SELECT status FROM campaigns WHERE id = %s", campaign_id)
    assert status == [{"status": "completed"}]


async def test_no_call_outside_the_window(
    users_campaign: tuple[str, Population, int], database_url: str
) -> None:
    campaign_id, _, _ = users_campaign
    for attempt in _attempts(database_url, campaign_id):
        if attempt["status"] != "completed":
            continue
        local = _local(attempt["started_at"])
        assert local.weekday() <= 5, attempt  # never on Sunday
        assert time(9, 0) <= local.time() < time(20, 0), attempt


async def test_quota_of_60_new_contacts_a_day_in_three_batches(
    users_campaign: tuple[str, Population, int], database_url: str
) -> None:
    campaign_id, _, _ = users_campaign
    admitted = rows(
        database_url,
        "SELECT admitted_at FROM contacts WHERE campaign_id = %s AND admitted_at IS NOT NULL",
        campaign_id,
    )
    assert len(admitted) == 130
    by_day: dict[object, list[datetime]] = defaultdict(list)
    for row in admitted:
        local = _local(row["admitted_at"])
        by_day[local.date()].append(local)
    assert len(by_day) >= 3  # 130 contacts at 60 a day need three days
    for day, moments in by_day.items():
        assert len(moments) <= 60, day
        before_noon = sum(m.time() < time(12, 0) for m in moments)
        before_three = sum(m.time() < time(15, 0) for m in moments)
        assert before_noon <= 20, day
        assert before_three <= 40, day
        assert all(m.time() >= time(9, 0) for m in moments), day


async def test_at_most_three_calls_a_day_and_exclusion_after_three_silent_days(
    users_campaign: tuple[str, Population, int], database_url: str
) -> None:
    campaign_id, people, _ = users_campaign
    per_day: Counter[tuple[object, object]] = Counter()
    silent_days: dict[object, set[object]] = defaultdict(set)
    for attempt in _attempts(database_url, campaign_id):
        if attempt["status"] != "completed":
            continue
        day = _local(attempt["started_at"]).date()
        per_day[(attempt["name"], day)] += 1
        if people.kinds[str(attempt["name"])] == "silent":
            silent_days[attempt["name"]].add(day)
    assert max(per_day.values()) <= 3
    assert len(silent_days) == 15
    assert all(len(days) == 3 for days in silent_days.values()), silent_days


async def test_retry_waits_an_hour_and_callbacks_happen_when_asked(
    users_campaign: tuple[str, Population, int], database_url: str
) -> None:
    campaign_id, people, _ = users_campaign
    starts: dict[object, list[datetime]] = defaultdict(list)
    for attempt in _attempts(database_url, campaign_id):
        if attempt["status"] == "completed":
            assert isinstance(attempt["started_at"], datetime)
            starts[attempt["name"]].append(attempt["started_at"])
    for name, moments in starts.items():
        kind = people.kinds[str(name)]
        gaps = [b - a for a, b in itertools.pairwise(moments)]
        if kind in {"busy", "silent"}:
            assert all(gap >= timedelta(hours=1) for gap in gaps), (name, gaps)
        if kind == "callback":
            assert len(moments) == 2
            asked = moments[0] + timedelta(minutes=90)
            local = _local(asked)
            if local.weekday() <= 5 and time(9, 0) <= local.time() < time(20, 0):
                assert timedelta(0) <= moments[1] - asked < timedelta(minutes=1), name
            else:
                assert moments[1] > asked, name


async def test_every_state_change_is_explained(
    users_campaign: tuple[str, Population, int], database_url: str
) -> None:
    campaign_id, _, _ = users_campaign
    events = rows(
        database_url,
        "SELECT c.name, c.state AS final, e.state, e.reason FROM contact_events e "
        "JOIN contacts c ON c.id = e.contact_id WHERE e.campaign_id = %s ORDER BY e.id",
        campaign_id,
    )
    last: dict[object, dict[str, object]] = {}
    for event in events:
        assert event["reason"], event
        last[event["name"]] = event
    assert len(last) == 130
    assert all(e["state"] == e["final"] for e in last.values())


async def test_segments_choose_the_agent_and_a_spoken_opt_out_reaches_every_campaign(
    time_skipping_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    people = Population()
    people.add("leaver", 1, [step(CallOutcome.OPT_OUT)])
    people.add("payer", 2, [step(CallOutcome.PROMISE_TO_PAY)])
    people.contacts[1].segment = "tardia"
    policy = CampaignPolicy.model_validate(
        {
            **ALWAYS_OPEN,
            "segment_agents": {"tardia": "cobranza-tardia"},
            "default_agent": "cobranza-temprana",
        }
    )
    # The leaver's number is also in a second campaign that has not run yet.
    other = Population()
    other.contacts.append(people.contacts[0].model_copy(update={"name": "same-number"}))
    other_id = await new_campaign(pool, other, policy)
    campaign_id = await new_campaign(pool, people, policy)
    await run_campaign(
        time_skipping_env.client, pool, campaign_id, instant_carrier(people.personas)
    )
    agents = rows(
        database_url,
        "SELECT c.name, a.agent FROM call_attempts a JOIN contacts c ON c.id = a.contact_id "
        "WHERE a.campaign_id = %s ORDER BY c.position",
        campaign_id,
    )
    assert [a["agent"] for a in agents] == [
        "cobranza-temprana",
        "cobranza-tardia",
        "cobranza-temprana",
    ]
    opted = rows(database_url, "SELECT phone, source FROM opt_outs")
    assert opted == [{"phone": people.contacts[0].phones[0], "source": "call"}]
    elsewhere = rows(database_url, "SELECT state FROM contacts WHERE campaign_id = %s", other_id)
    assert elsewhere == [{"state": "opted_out"}]


async def test_progress_query_reports_the_run(
    time_skipping_env: WorkflowEnvironment, pool: Pool
) -> None:
    people = Population()
    people.add("payer", 3, [step(CallOutcome.PROMISE_TO_PAY)])
    campaign_id = await new_campaign(pool, people, CampaignPolicy.model_validate(ALWAYS_OPEN))
    client = time_skipping_env.client
    queue = task_queue()
    # A query needs a worker, even on a finished workflow: keep one up while asking.
    async with orchestrator_worker(client, queue, pool, instant_carrier(people.personas)):
        handle = await client.start_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(campaign_id=campaign_id, use_search_attributes=False),
            id=campaign_workflow_id(campaign_id),
            task_queue=queue,
        )
        await handle.result()
        progress = await handle.query(CampaignWorkflow.progress)
    assert progress.campaign_id == campaign_id
    assert progress.attempts_started == 3
    assert progress.active_calls == 0
    assert progress.remaining == 0


async def test_a_dial_that_cannot_be_placed_is_a_failed_call_and_the_next_phone_is_tried(
    time_skipping_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    people = Population()
    people.add("payer", 1, [step(CallOutcome.PROMISE_TO_PAY)])
    # The carrier refuses a malformed first number outright (InvalidDialRequest).
    people.contacts[0].phones.insert(0, "12345")
    campaign_id = await new_campaign(pool, people, CampaignPolicy.model_validate(ALWAYS_OPEN))
    await run_campaign(
        time_skipping_env.client, pool, campaign_id, instant_carrier(people.personas)
    )
    attempts = rows(
        database_url,
        "SELECT phone, status, outcome, disconnection_reason FROM call_attempts "
        "WHERE campaign_id = %s ORDER BY attempt_number",
        campaign_id,
    )
    assert [(a["phone"], a["outcome"]) for a in attempts] == [
        ("12345", "failed"),
        (people.personas[0].number, "promise_to_pay"),
    ]
    assert attempts[0]["disconnection_reason"].startswith("dial_error")
    assert {a["status"] for a in attempts} == {"completed"}
