"""Whole campaigns on Temporal's time-skipping server with real activities and Postgres."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.testing import WorkflowEnvironment

from centralita.db import Pool
from centralita.store import DEFAULT_TENANT_ID, campaigns
from centralita.store.campaigns import NewContact
from realtime.carrier.simulated import Persona, PersonaStep
from tests.conftest import instant_carrier, orchestrator_worker, task_queue
from workflows.campaign import CampaignWorkflow, campaign_workflow_id
from workflows.contact import contact_workflow_id
from workflows.models import CallOutcome, CampaignPolicy, CampaignRunInput

pytestmark = pytest.mark.integration

PERSONAS = [
    Persona(
        number="+56961234567",
        name="pays",
        script=[PersonaStep(outcome=CallOutcome.PROMISE_TO_PAY, extracted={"amount": 200000})],
    ),
    Persona(
        number="+56972345678",
        name="answers third time",
        script=[
            PersonaStep(outcome=CallOutcome.NO_ANSWER),
            PersonaStep(outcome=CallOutcome.BUSY),
            PersonaStep(outcome=CallOutcome.COMPLETED),
        ],
    ),
    Persona(
        number="+56223456789", name="never", script=[PersonaStep(outcome=CallOutcome.NO_ANSWER)]
    ),
    Persona(
        number="+34699123456", name="dead line", script=[PersonaStep(outcome=CallOutcome.FAILED)]
    ),
    Persona(
        number="+34911234567",
        name="second phone",
        script=[PersonaStep(outcome=CallOutcome.COMPLETED)],
    ),
]

# Hour-long retry delays: only time skipping lets this test finish in seconds.
POLICY = CampaignPolicy(
    max_attempts=3, retry_delay_seconds=3600, failure_retry_delay_seconds=1800, concurrency=2
)


async def _new_campaign(pool: Pool, contacts: list[NewContact]) -> str:
    row = await campaigns.create_campaign(
        pool,
        tenant_id=DEFAULT_TENANT_ID,
        name="time-skipping",
        timezone="America/Santiago",
        policy=POLICY,
        contacts=contacts,
        workflow_id_for=campaign_workflow_id,
    )
    return row.id


async def test_campaign_runs_every_contact_to_its_final_state(
    time_skipping_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    contacts = [
        NewContact(name="Paga", phones=["+56961234567"]),
        NewContact(name="Tercera", phones=["+56972345678"]),
        NewContact(name="Nunca", phones=["+56223456789"]),
        NewContact(name="Dos números", phones=["+34699123456", "+34911234567"]),
    ]
    campaign_id = await _new_campaign(pool, contacts)
    carrier = instant_carrier(PERSONAS)
    queue = task_queue()
    client = time_skipping_env.client

    async with orchestrator_worker(client, queue, pool, carrier):
        result = await client.execute_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(campaign_id=campaign_id),
            id=campaign_workflow_id(campaign_id),
            task_queue=queue,
            execution_timeout=timedelta(days=2),
        )

    assert result.total == 4
    assert result.by_state == {"done": 3, "excluded": 1}
    assert result.by_outcome == {"promise_to_pay": 1, "completed": 2, "no_answer": 1}

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT c.name, c.state, c.outcome, c.attempts_count, c.last_phone_tried, "
            "array_agg(a.outcome ORDER BY a.attempt_number), "
            "array_agg(a.phone ORDER BY a.attempt_number) "
            "FROM contacts c JOIN call_attempts a ON a.contact_id = c.id "
            "WHERE c.campaign_id = %s GROUP BY c.id ORDER BY c.position",
            (campaign_id,),
        ).fetchall()
        status = conn.execute(
            "SELECT status, started_at IS NOT NULL, completed_at IS NOT NULL FROM campaigns "
            "WHERE id = %s",
            (campaign_id,),
        ).fetchone()
    assert rows == [
        ("Paga", "done", "promise_to_pay", 1, "+56961234567", ["promise_to_pay"], ["+56961234567"]),
        (
            "Tercera",
            "done",
            "completed",
            3,
            "+56972345678",
            ["no_answer", "busy", "completed"],
            ["+56972345678"] * 3,
        ),
        (
            "Nunca",
            "excluded",
            "no_answer",
            3,
            "+56223456789",
            ["no_answer"] * 3,
            ["+56223456789"] * 3,
        ),
        (
            "Dos números",
            "done",
            "completed",
            2,
            "+34911234567",
            ["failed", "completed"],
            ["+34699123456", "+34911234567"],
        ),
    ]
    assert status == ("completed", True, True)
    # Every attempt reached the carrier exactly once, under its own attempt id.
    keys = [request.idempotency_key for request in carrier.dial_log]
    assert len(keys) == len(set(keys)) == 1 + 3 + 3 + 2


async def test_retry_waits_the_policy_delay_in_workflow_time(
    time_skipping_env: WorkflowEnvironment, pool: Pool
) -> None:
    campaign_id = await _new_campaign(pool, [NewContact(name="Tercera", phones=["+56972345678"])])
    queue = task_queue()
    client = time_skipping_env.client
    async with orchestrator_worker(client, queue, pool, instant_carrier(PERSONAS)):
        await client.execute_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(campaign_id=campaign_id),
            id=campaign_workflow_id(campaign_id),
            task_queue=queue,
        )
    contact_id = (await campaigns.contact_ids(pool, campaign_id))[0]
    history = await client.get_workflow_handle(
        contact_workflow_id(campaign_id, contact_id)
    ).fetch_history()
    timers = [
        event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for event in history.events
        if event.HasField("timer_started_event_attributes")
    ]
    # no answer, then busy: two waits of the policy's delay before the third attempt
    assert timers == [timedelta(seconds=3600)] * 2


async def test_unknown_campaign_fails_without_retrying_forever(
    time_skipping_env: WorkflowEnvironment, pool: Pool
) -> None:
    queue = task_queue()
    client = time_skipping_env.client
    missing = "00000000-0000-0000-0000-00000000dead"
    async with orchestrator_worker(client, queue, pool, instant_carrier(PERSONAS)):
        with pytest.raises(WorkflowFailureError) as failure:
            await client.execute_workflow(
                CampaignWorkflow.run,
                CampaignRunInput(campaign_id=missing),
                id=campaign_workflow_id(missing),
                task_queue=queue,
                execution_timeout=timedelta(minutes=5),
            )
    cause = failure.value.cause
    assert isinstance(cause, ActivityError)
    assert isinstance(cause.cause, ApplicationError)
    assert cause.cause.type == "NotFound"
    assert cause.retry_state == RetryState.NON_RETRYABLE_FAILURE
