"""A campaign's rules are checked before anything is stored, and a bad stored one harms
nothing but itself.

Each bad value goes through the API three ways (JSON creation, CSV creation with a
`policy` form field, PATCH of a running campaign): 422 naming the field, nothing stored.
A policy made bad behind the API's back (a direct UPDATE, or a row stored before these
checks existed) leaves every list readable, answers its own routes clearly, can be
cancelled, and ends its workflow with the reason instead of retrying forever.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.calls import CallActivities
from activities.campaigns import CampaignActivities
from centralita.campaigns.calling_rules import CampaignSchedule
from centralita.campaigns.messages import BeginAttempt, PlaceCall, campaign_workflow_id
from centralita.campaigns.policy import (
    CampaignPolicy,
    CampaignRunInput,
    CampaignStatusChange,
    DispatchPlan,
    DispatchRequest,
)
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from centralita.kernel.settings import Settings
from realtime.carrier.simulated import Persona, PersonaStep, SimulatedCarrier
from tests.support.campaigns import ALWAYS_OPEN, rows
from tests.support.servers import AppClients, orchestrator_worker, settings_for, task_queue
from workflows.activity_policies import DIAL_RETRY, STORE_RETRY
from workflows.campaign import CampaignWorkflow

pytestmark = pytest.mark.integration

# Unanswered, and tried again only after an hour: a campaign that stays running.
PHONE = "+56961000021"
PERSONAS = [
    Persona(
        number=PHONE,
        name="nobody",
        script=[PersonaStep(outcome=CallOutcome.NO_ANSWER, ring_seconds=0)],
    )
]
SLOW_RETRY: dict[str, Any] = {
    **ALWAYS_OPEN,
    "caps": {"max_attempts": 50, "calls_per_day": 50},
    "retry": {"no_answer_seconds": 3600},
    "concurrency": 1,
}
# Every contact brings its own zone: the campaign's zone is never needed for a row.
CONTACTS = [{"name": "Ana", "phone": PHONE, "timezone": "America/Santiago"}]
CSV = f"name,phone,timezone\nAna,{PHONE},America/Santiago\n".encode()


def _schedule(**fields: Any) -> dict[str, Any]:
    return {"schedule": {**ALWAYS_OPEN["schedule"], **fields}}


# (policy fragment, the field a 422 must name)
BAD: list[Any] = [
    pytest.param(_schedule(weekdays=[9]), "schedule.weekdays", id="weekday-9"),
    pytest.param(_schedule(weekdays=[]), "schedule.weekdays", id="no-weekdays"),
    pytest.param(_schedule(weekdays=[-1]), "schedule.weekdays", id="weekday-minus-1"),
    pytest.param(_schedule(weekdays=[7]), "schedule.weekdays", id="weekday-7"),
    pytest.param(_schedule(weekdays=[1, 1]), "schedule.weekdays", id="weekday-twice"),
    pytest.param(_schedule(holiday_country="ZZ"), "schedule.holiday_country", id="country-ZZ"),
    pytest.param(_schedule(holiday_country=""), "schedule.holiday_country", id="country-blank"),
    pytest.param(_schedule(timezone="Mars/Olympus"), "schedule.timezone", id="zone-mars"),
    pytest.param(_schedule(timezone=""), "schedule.timezone", id="zone-blank"),
    pytest.param(
        _schedule(batch_slots=["09:00", "09:00"]), "schedule.batch_slots", id="slot-twice"
    ),
    pytest.param(
        _schedule(batch_slots=["09:00"], window_end="08:00"),
        "schedule.window_end",
        id="window-ends-before-it-opens",
    ),
    pytest.param(
        _schedule(batch_slots=["09:00", "21:00"], window_end="20:00"),
        "schedule.window_end",
        id="slot-after-the-window",
    ),
    pytest.param(
        {"retry": {"no_answer_seconds": 10**12}}, "retry.no_answer_seconds", id="retry-forever"
    ),
    pytest.param(
        {"quiet_days_after_conversation": 10**9},
        "quiet_days_after_conversation",
        id="quiet-forever",
    ),
    pytest.param(
        {"max_attempts_per_7_days": 10**30}, "max_attempts_per_7_days", id="weekly-cap-huge"
    ),
]


@pytest.fixture(scope="module")
async def queue(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[str]:
    name = task_queue()
    async with orchestrator_worker(dev_env.client, name, pool, SimulatedCarrier(PERSONAS)):
        yield name


# Many refused creations in a row: the rates are not what this module asks about.
UNLIMITED = {
    "campaign_create_per_minute": 10_000,
    "campaign_create_burst": 10_000,
    "csv_upload_per_minute": 10_000,
    "csv_upload_burst": 10_000,
}


@pytest.fixture
def settings(database_url: str, dev_env: WorkflowEnvironment, queue: str) -> Settings:
    address = dev_env.client.service_client.config.target_host
    return settings_for(database_url, address, task_queue=queue, **UNLIMITED)


@pytest.fixture
async def api(
    app_clients: AppClients, settings: Settings, dev_env: WorkflowEnvironment
) -> httpx.AsyncClient:
    return await app_clients.open(settings, dev_env.client)


@pytest.fixture(scope="module")
async def running(
    database_url: str, dev_env: WorkflowEnvironment, queue: str
) -> AsyncIterator[str]:
    """One campaign whose workflow keeps running (it waits an hour between calls)."""
    clients = AppClients()
    address = dev_env.client.service_client.config.target_host
    settings = settings_for(database_url, address, task_queue=queue, **UNLIMITED)
    api = await clients.open(settings, dev_env.client)
    campaign_id = await _create(api, SLOW_RETRY, start=True)
    await _eventually(lambda: _status(api, campaign_id), lambda s: s == "running")
    yield campaign_id
    await api.post(f"/campaigns/{campaign_id}/cancel")
    await clients.aclose()


async def _create(api: httpx.AsyncClient, policy: dict[str, Any], *, start: bool = False) -> str:
    body = {"name": "rules", "policy": policy, "contacts": CONTACTS, "start": start}
    response = await api.post("/campaigns", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["campaign"]["id"])


async def _status(api: httpx.AsyncClient, campaign_id: str) -> str:
    response = await api.get(f"/campaigns/{campaign_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def _eventually(
    read: Callable[[], Any], done: Callable[[Any], bool], within: float = 20.0
) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await read()
        if done(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not reached in {within} s; last: {value!r}")
        await asyncio.sleep(0.1)


def _campaign_count(database_url: str) -> int:
    return int(rows(database_url, "SELECT count(*) AS n FROM campaigns")[0]["n"])


def _names(response: httpx.Response, field: str) -> None:
    """The answer is a 422 whose detail points at `field`."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    locs = [".".join(str(part) for part in error["loc"]) for error in detail]
    assert any(field in loc for loc in locs), (field, detail)
    assert all(error["msg"] for error in detail)


def _spoil(database_url: str, campaign_id: str, policy: dict[str, Any]) -> None:
    """Store a bad policy behind the API's back, as a row saved before the checks was."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE campaigns SET policy = policy || %s::jsonb WHERE id = %s",
            (json.dumps(policy), campaign_id),
        )


# -- refused at the door -----------------------------------------------------------------


@pytest.mark.parametrize(("bad", "field"), BAD)
async def test_creating_with_a_bad_rule_is_422_naming_it_and_stores_nothing(
    api: httpx.AsyncClient, database_url: str, bad: dict[str, Any], field: str
) -> None:
    before = _campaign_count(database_url)
    response = await api.post(
        "/campaigns",
        json={"name": "bad", "policy": {**SLOW_RETRY, **bad}, "contacts": CONTACTS},
    )
    _names(response, f"policy.{field}")
    assert _campaign_count(database_url) == before
    assert (await api.get("/campaigns")).status_code == 200


@pytest.mark.parametrize(("bad", "field"), BAD)
async def test_uploading_a_csv_with_a_bad_rule_is_422_naming_it_and_stores_nothing(
    api: httpx.AsyncClient, database_url: str, bad: dict[str, Any], field: str
) -> None:
    before = _campaign_count(database_url)
    response = await api.post(
        "/campaigns",
        data={"name": "bad csv", "policy": json.dumps({**SLOW_RETRY, **bad})},
        files={"file": ("deudores.csv", CSV, "text/csv")},
    )
    _names(response, f"policy.{field}")
    assert _campaign_count(database_url) == before


@pytest.mark.parametrize(("bad", "field"), BAD)
async def test_editing_a_running_campaign_with_a_bad_rule_is_422_and_changes_nothing(
    api: httpx.AsyncClient, database_url: str, running: str, bad: dict[str, Any], field: str
) -> None:
    stored = rows(database_url, "SELECT policy FROM campaigns WHERE id = %s", running)
    response = await api.patch(f"/campaigns/{running}", json=bad)
    _names(response, field)
    after = rows(database_url, "SELECT policy FROM campaigns WHERE id = %s", running)
    assert after == stored
    assert (await api.get(f"/campaigns/{running}")).status_code == 200
    assert (await api.get("/campaigns")).status_code == 200


async def test_the_rules_that_are_right_still_pass(api: httpx.AsyncClient, running: str) -> None:
    good = _schedule(
        timezone="America/Santiago",
        batch_slots=["09:00", "12:00", "15:00"],
        window_end="20:00",
        weekdays=[0, 1, 2, 3, 4, 5],
        holiday_country="cl",
    )
    edited = await api.patch(f"/campaigns/{running}", json=good)
    assert edited.status_code == 200, edited.text
    schedule = edited.json()["policy"]["schedule"]
    assert schedule["holiday_country"] == "CL"
    assert sorted(schedule["weekdays"]) == [0, 1, 2, 3, 4, 5]
    # An end of 00:00 is midnight: open until the end of the day, after any slot.
    midnight = await api.patch(
        f"/campaigns/{running}", json=_schedule(batch_slots=["23:00"], window_end="00:00")
    )
    assert midnight.status_code == 200, midnight.text


# -- a bad policy already stored ---------------------------------------------------------


async def test_a_stored_bad_policy_hides_no_other_campaign(
    api: httpx.AsyncClient, database_url: str
) -> None:
    good = await _create(api, SLOW_RETRY)
    spoilt = await _create(api, SLOW_RETRY)
    _spoil(database_url, spoilt, _schedule(weekdays=[9], holiday_country="ZZ"))

    listed = await api.get("/campaigns", params={"limit": 500})
    assert listed.status_code == 200, listed.text
    by_id = {c["id"]: c for c in listed.json()}
    assert by_id[good]["policy_error"] is None
    assert by_id[good]["policy"]["schedule"]["timezone"] == "UTC"
    assert by_id[spoilt]["policy"] is None
    assert "schedule.weekdays" in by_id[spoilt]["policy_error"]
    assert "schedule.holiday_country" in by_id[spoilt]["policy_error"]
    assert by_id[spoilt]["next_dial_slot"] is None
    assert by_id[spoilt]["contacts_total"] == 1

    own = await api.get(f"/campaigns/{spoilt}")
    assert own.status_code == 200, own.text
    assert "schedule.weekdays" in own.json()["policy_error"]
    contacts = await api.get(f"/campaigns/{spoilt}/contacts")
    assert contacts.status_code == 200, contacts.text
    assert [c["name"] for c in contacts.json()] == ["Ana"]
    # Never started: nothing to cancel, and it says so.
    assert (await api.post(f"/campaigns/{spoilt}/cancel")).status_code == 409

    # An edit is checked as a whole: one that leaves a bad field names it...
    half = await api.patch(f"/campaigns/{spoilt}", json=_schedule(weekdays=[1]))
    _names(half, "schedule.holiday_country")
    # ...and one that mends it all goes to the workflow (not running: 409).
    mended = await api.patch(
        f"/campaigns/{spoilt}", json=_schedule(weekdays=[1], holiday_country="CL")
    )
    assert mended.status_code == 409, mended.text


async def test_a_running_campaign_whose_stored_policy_went_bad_can_be_read_and_cancelled(
    api: httpx.AsyncClient, database_url: str
) -> None:
    campaign_id = await _create(api, SLOW_RETRY, start=True)
    await _eventually(lambda: _status(api, campaign_id), lambda s: s == "running")
    _spoil(database_url, campaign_id, _schedule(timezone="Mars/Olympus"))

    assert (await api.get("/campaigns")).status_code == 200
    view = (await api.get(f"/campaigns/{campaign_id}")).json()
    assert "schedule.timezone" in view["policy_error"]
    assert (await api.get(f"/campaigns/{campaign_id}/contacts")).status_code == 200
    cancelled = await api.post(f"/campaigns/{campaign_id}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    await _eventually(lambda: _status(api, campaign_id), lambda s: s == "cancelled")


async def test_starting_a_campaign_whose_stored_policy_is_bad_fails_it_with_the_reason(
    api: httpx.AsyncClient, database_url: str, dev_env: WorkflowEnvironment
) -> None:
    campaign_id = await _create(api, SLOW_RETRY)
    _spoil(database_url, campaign_id, _schedule(weekdays=[7]))
    started = await api.post(f"/campaigns/{campaign_id}/start")
    assert started.status_code == 200, started.text

    handle = dev_env.client.get_workflow_handle(campaign_workflow_id(campaign_id))
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), timeout=20)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidPolicy"
    assert "schedule.weekdays" in cause.message
    assert await _status(api, campaign_id) == "failed"
    # Over: cancelling says so, and nothing else changed.
    assert (await api.post(f"/campaigns/{campaign_id}/cancel")).status_code == 409


async def test_planning_under_rules_that_cannot_be_applied_is_not_retried(
    api: httpx.AsyncClient, pool: Pool
) -> None:
    # A policy no model would let through (built unchecked), as an old history holds.
    campaign_id = await _create(api, SLOW_RETRY)
    schedule = CampaignSchedule.model_construct(
        **{**CampaignSchedule().model_dump(), "weekdays": frozenset({9})}
    )
    policy = CampaignPolicy.model_validate(SLOW_RETRY).model_copy(update={"schedule": schedule})
    request = DispatchRequest.model_construct(
        campaign_id=campaign_id,
        now=datetime.now(UTC),
        limit=1,
        exclude_contact_ids=[],
        policy=policy,
    )
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(CampaignActivities(pool).plan_dispatch, request)
    assert refused.value.non_retryable
    assert refused.value.type == "InvalidPolicy"
    assert refused.value.type in (STORE_RETRY.non_retryable_error_types or [])


# -- the campaign workflow, with planning that says the rules cannot be applied ----------


class _RulesThatFail:
    """Fake campaign activities (under the real names): the plan says InvalidPolicy."""

    def __init__(self) -> None:
        self.statuses: list[str] = []

    @activity.defn(name="load_policy")
    async def load_policy(self, campaign_id: str) -> CampaignPolicy:
        return CampaignPolicy.model_validate(SLOW_RETRY)

    @activity.defn(name="set_campaign_status")
    async def set_campaign_status(self, change: CampaignStatusChange) -> None:
        self.statuses.append(change.status.value)

    @activity.defn(name="plan_dispatch")
    async def plan_dispatch(self, request: DispatchRequest) -> DispatchPlan:
        raise ApplicationError(
            "campaign x: its rules cannot be applied: no batch slot within 400 days",
            type="InvalidPolicy",
            non_retryable=True,
        )


async def test_a_campaign_whose_rules_cannot_be_applied_ends_failed_with_the_reason(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = _RulesThatFail()
    queue = task_queue()
    async with Worker(
        time_skipping_env.client,
        task_queue=queue,
        workflows=[CampaignWorkflow],
        activities=[fakes.load_policy, fakes.set_campaign_status, fakes.plan_dispatch],
    ):
        handle = await time_skipping_env.client.start_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(campaign_id="x", use_search_attributes=False),
            id=f"campaign-rules-{queue}",
            task_queue=queue,
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), timeout=20)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidPolicy"
    assert "no batch slot" in cause.message
    assert fakes.statuses == ["running", "failed"]


async def test_a_call_whose_campaign_policy_went_bad_fails_for_good_not_forever(
    api: httpx.AsyncClient, database_url: str, pool: Pool
) -> None:
    # The dial-time re-check reads the stored policy: a bad one is not retried for hours.
    campaign_id = await _create(api, SLOW_RETRY)
    contact_id = rows(
        database_url, "SELECT id::text FROM contacts WHERE campaign_id = %s", campaign_id
    )[0]["id"]
    _spoil(database_url, campaign_id, _schedule(holiday_country="ZZ"))
    begin = BeginAttempt(
        attempt_key=f"campaign-{campaign_id}-contact-{contact_id}-attempt-1",
        campaign_id=campaign_id,
        contact_id=contact_id,
        attempt_number=1,
        phone=PHONE,
        agent=None,
        now=datetime.now(UTC),
    )
    calls = CallActivities(pool, SimulatedCarrier(PERSONAS, time_scale=0))
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(calls.place_call, PlaceCall(begin=begin))
    assert refused.value.non_retryable
    assert refused.value.type == "InvalidPolicy"
    assert "schedule.holiday_country" in refused.value.message
    assert refused.value.type in (DIAL_RETRY.non_retryable_error_types or [])
