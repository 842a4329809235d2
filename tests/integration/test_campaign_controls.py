"""Operating live campaigns through the API on a real Temporal dev server, in real time.

Pause, resume, cancel, policy edits (a workflow update), opt-outs that stop calls in
flight, search attributes and memos for operators, and continue-as-new.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecution
from temporalio.testing import WorkflowEnvironment

from centralita.campaigns.messages import campaign_workflow_id
from centralita.campaigns.policy import CampaignPolicy, history_bound
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from centralita.kernel.settings import Settings
from realtime.carrier.simulated import Persona, PersonaStep, SimulatedCarrier
from tests.support.campaigns import (
    ALWAYS_OPEN,
    Population,
    instant_carrier,
    new_campaign,
    rows,
    run_campaign,
    step,
)
from tests.support.servers import AppClients, orchestrator_worker, settings_for, task_queue

pytestmark = pytest.mark.integration


def _persona(number: str, outcome: CallOutcome, ring: float) -> Persona:
    return Persona(
        number=number, name=number, script=[PersonaStep(outcome=outcome, ring_seconds=ring)]
    )


# Real ringing times: calls are in flight when the operator acts.
PERSONAS = [
    _persona("+56961000001", CallOutcome.NO_ANSWER, 0.3),
    _persona("+56961000002", CallOutcome.NO_ANSWER, 0.3),
    _persona("+56961000003", CallOutcome.NO_ANSWER, 0.3),
    _persona("+56961000004", CallOutcome.NO_ANSWER, 0.3),
    _persona("+56961000010", CallOutcome.NO_ANSWER, 2.0),  # slow: still ringing on opt-out
    _persona("+56961000011", CallOutcome.PROMISE_TO_PAY, 0.2),
]

KEEP_CALLING: dict[str, Any] = {
    **ALWAYS_OPEN,
    "caps": {"max_attempts": 200, "calls_per_day": 200, "no_answer_days_to_exclude": 3},
    "retry": {"no_answer_seconds": 1, "busy_seconds": 1, "failure_seconds": 1},
    "concurrency": 2,
}


@pytest.fixture(scope="module")
async def queue(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[str]:
    name = task_queue()
    async with orchestrator_worker(dev_env.client, name, pool, SimulatedCarrier(PERSONAS)):
        yield name


@pytest.fixture
async def api(
    app_clients: AppClients, database_url: str, dev_env: WorkflowEnvironment, queue: str
) -> httpx.AsyncClient:
    address = dev_env.client.service_client.config.target_host
    settings: Settings = settings_for(database_url, address, task_queue=queue)
    return await app_clients.open(settings, dev_env.client)


async def _create(api: httpx.AsyncClient, phones: list[list[str]], **policy: Any) -> str:
    contacts = [{"name": f"c{i}", "phone": p[0], "try_phones": p[1:]} for i, p in enumerate(phones)]
    response = await api.post(
        "/campaigns",
        json={"name": "live", "policy": {**KEEP_CALLING, **policy}, "contacts": contacts},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return str(body["campaign"]["id"])


async def _eventually(check: Callable[[], Any], within: float = 15.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def _dialled(database_url: str, campaign_id: str) -> int:
    return len(
        rows(
            database_url,
            "SELECT 1 FROM call_attempts WHERE campaign_id = %s AND status <> 'skipped'",
            campaign_id,
        )
    )


async def _status(api: httpx.AsyncClient, campaign_id: str) -> str:
    return str((await api.get(f"/campaigns/{campaign_id}")).json()["status"])


async def test_pause_resume_and_cancel(api: httpx.AsyncClient, database_url: str) -> None:
    campaign_id = await _create(api, [["+56961000001"], ["+56961000002"]])
    await _eventually(lambda: _async(_dialled(database_url, campaign_id) >= 2))

    assert (await api.post(f"/campaigns/{campaign_id}/pause")).status_code == 202
    await _eventually(lambda: _is(api, campaign_id, "paused"))
    await asyncio.sleep(1.0)  # calls in flight finish
    paused_at = _dialled(database_url, campaign_id)
    await asyncio.sleep(2.5)  # retries are 1 s apart: a running campaign would dial more
    assert _dialled(database_url, campaign_id) == paused_at

    assert (await api.post(f"/campaigns/{campaign_id}/resume")).status_code == 202
    await _eventually(lambda: _async(_dialled(database_url, campaign_id) > paused_at))
    await _eventually(lambda: _is(api, campaign_id, "running"))

    assert (await api.post(f"/campaigns/{campaign_id}/cancel")).status_code == 202
    await _eventually(lambda: _is(api, campaign_id, "cancelled"))
    states = rows(database_url, "SELECT state FROM contacts WHERE campaign_id = %s", campaign_id)
    assert {s["state"] for s in states} == {"cancelled"}
    after = _dialled(database_url, campaign_id)
    await asyncio.sleep(2.0)
    assert _dialled(database_url, campaign_id) == after
    assert (
        rows(
            database_url,
            "SELECT 1 FROM call_attempts WHERE campaign_id = %s AND status = 'dialing'",
            campaign_id,
        )
        == []
    )
    # The workflow is over: controls now say so instead of pretending.
    assert (await api.post(f"/campaigns/{campaign_id}/pause")).status_code == 409


async def test_policy_edit_is_validated_and_applied_live(
    api: httpx.AsyncClient, database_url: str
) -> None:
    campaign_id = await _create(api, [["+56961000003"]])
    edited = await api.patch(
        f"/campaigns/{campaign_id}", json={"retry": {"no_answer_seconds": 3600}, "concurrency": 3}
    )
    assert edited.status_code == 200, edited.text
    policy = edited.json()["policy"]
    assert policy["retry"]["no_answer_seconds"] == 3600
    assert policy["retry"]["busy_seconds"] == 1  # untouched fields keep their values
    assert policy["concurrency"] == 3
    # Effective from the next decision: with an hour between calls, dialling stops.
    await asyncio.sleep(1.5)
    settled = _dialled(database_url, campaign_id)
    await asyncio.sleep(2.5)
    assert _dialled(database_url, campaign_id) == settled

    for bad in (
        {"profile": "nowhere"},
        {"concurrency": 0},
        {"unknown": 1},
        {"caps": {"calls_per_day": 0}},
    ):
        response = await api.patch(f"/campaigns/{campaign_id}", json=bad)
        assert response.status_code == 422, (bad, response.text)
    stored = rows(database_url, "SELECT policy FROM campaigns WHERE id = %s", campaign_id)
    assert stored[0]["policy"]["concurrency"] == 3
    await api.post(f"/campaigns/{campaign_id}/cancel")


async def test_opt_out_stops_a_call_in_flight_and_every_later_one(
    api: httpx.AsyncClient, database_url: str
) -> None:
    # One contact rings slowly on its only number; another has two numbers.
    campaign_id = await _create(api, [["+56961000010"], ["+56961000004", "+56961000011"]])

    async def ringing() -> bool:
        return bool(
            rows(
                database_url,
                "SELECT 1 FROM call_attempts WHERE phone = '+56961000010' AND status = 'dialing'",
            )
        )

    try:
        await _eventually(ringing)
    except AssertionError as exc:
        raise AssertionError(_dump(database_url, campaign_id)) from exc
    for phone in ("+56961000010", "+56961000004"):
        response = await api.post("/opt-outs", json={"phone": phone, "reason": "test"})
        assert response.status_code in {200, 201}, response.text
        assert response.json()["signalled"] is True

    async def settled() -> bool:
        contacts = rows(
            database_url,
            "SELECT name, state, outcome FROM contacts WHERE campaign_id = %s ORDER BY name",
            campaign_id,
        )
        return [c["state"] for c in contacts] == ["opted_out", "done"]

    try:
        await _eventually(settled)
    except AssertionError as exc:
        raise AssertionError(_dump(database_url, campaign_id)) from exc
    slow = rows(
        database_url,
        "SELECT status FROM call_attempts WHERE phone = '+56961000010' ORDER BY attempt_number",
    )
    assert slow[0]["status"] == "cancelled"  # hung up mid-ring, not left to finish
    later = rows(
        database_url,
        "SELECT phone FROM call_attempts a JOIN contact_events e ON e.attempt_key = a.attempt_key "
        "WHERE a.campaign_id = %s AND e.reason LIKE 'opted out%%'",
        campaign_id,
    )
    assert later == []
    second = rows(
        database_url,
        "SELECT a.phone, a.outcome FROM call_attempts a JOIN contacts c ON c.id = a.contact_id "
        "WHERE c.name = 'c1' AND a.campaign_id = %s AND a.status = 'completed' "
        "ORDER BY a.attempt_number",
        campaign_id,
    )
    assert second[-1] == {"phone": "+56961000011", "outcome": "promise_to_pay"}


async def test_operators_filter_by_search_attributes_and_see_masked_memos(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment, database_url: str
) -> None:
    campaign_id = await _create(api, [["+56961000011"]])
    await _eventually(lambda: _is(api, campaign_id, "completed"))
    client = dev_env.client

    async def listed() -> list[Any]:
        return [
            w
            async for w in client.list_workflows(
                f'CampaignId = "{campaign_id}" AND Outcome = "promise_to_pay" AND AttemptNumber = 1'
            )
        ]

    found = await _eventually(listed)
    assert len(found) == 1
    memo = await found[0].memo()
    assert memo == {"phone": "+56*****0011"}


async def _events(client: Client, execution: WorkflowExecution) -> int:
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    return len((await handle.fetch_history()).events)


async def test_long_campaigns_continue_as_new_without_losing_or_repeating(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    people = Population()
    people.add("payer", 60, [step(CallOutcome.PROMISE_TO_PAY)])
    people.add("retry", 20, [step(CallOutcome.NO_ANSWER), step(CallOutcome.COMPLETED)])
    policy = CampaignPolicy.model_validate(
        {**ALWAYS_OPEN, "retry": {"no_answer_seconds": 0}, "concurrency": 10}
    )
    campaign_id = await new_campaign(pool, people, policy)
    carrier = instant_carrier(people.personas)
    result = await run_campaign(dev_env.client, pool, campaign_id, carrier, max_history_events=200)
    runs = [
        w async for w in dev_env.client.list_workflows(f'WorkflowId = "campaign-{campaign_id}"')
    ]
    assert len(runs) >= 3
    # No run passes its budget by more than one dispatch round and a drain allow.
    lengths = [await _events(dev_env.client, run) for run in runs]
    assert 200 < max(lengths) <= history_bound(200, 10)
    assert result.attempts_started == 100
    keys = [r.idempotency_key for r in carrier.dial_log]
    assert len(keys) == len(set(keys)) == 100
    states = rows(
        database_url,
        "SELECT state, count(*) AS n FROM contacts WHERE campaign_id = %s GROUP BY state",
        campaign_id,
    )
    assert states == [{"state": "done", "n": 80}]


async def test_finished_calls_do_not_churn_timers_in_the_campaign_history(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    """Each finished call wakes the dispatcher; it must not start a timer each time."""
    people = Population()
    people.add("payer", 40, [step(CallOutcome.PROMISE_TO_PAY)])
    policy = CampaignPolicy.model_validate({**ALWAYS_OPEN, "concurrency": 8})
    campaign_id = await new_campaign(pool, people, policy)
    await run_campaign(dev_env.client, pool, campaign_id, instant_carrier(people.personas))

    handle = dev_env.client.get_workflow_handle(campaign_workflow_id(campaign_id))
    history = await handle.fetch_history()
    kinds = Counter(EventType.Name(event.event_type) for event in history.events)
    completed = kinds["EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED"]
    assert completed == 40
    # At most one timer per dispatch round (a round every few finished calls).
    assert kinds["EVENT_TYPE_TIMER_STARTED"] <= kinds["EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"]
    assert kinds["EVENT_TYPE_TIMER_STARTED"] < completed / 2


async def _async(value: bool) -> bool:
    return value


async def _is(api: httpx.AsyncClient, campaign_id: str, status: str) -> bool:
    return await _status(api, campaign_id) == status


def _dump(database_url: str, campaign_id: str) -> str:
    """Contacts, attempts and events of a campaign, for a failure message."""
    parts = [
        rows(database_url, q, campaign_id)
        for q in (
            "SELECT name, state, state_reason, next_attempt_at FROM contacts "
            "WHERE campaign_id = %s ORDER BY name",
            "SELECT attempt_number, phone, status, outcome, skip_reason FROM call_attempts "
            "WHERE campaign_id = %s ORDER BY contact_id, attempt_number",
            "SELECT state, reason FROM contact_events WHERE campaign_id = %s ORDER BY id",
        )
    ]
    return "\n".join(str(p) for p in parts)
