"""Replay committed workflow histories: a code change that breaks determinism fails here.

The histories were recorded from a real run (`CENTRALITA_RECORD_HISTORIES=1` re-records
them; only do that for a deliberate, `workflow.patched()`-guarded change). The `_v1`
ones were written before payloads were encrypted and must keep replaying with the
encrypting converter; `attempt_v2_encrypted.json` was written with the tests' fixed
key ring (tests/support/encryption.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from centralita.campaigns.messages import campaign_workflow_id
from centralita.campaigns.policy import CampaignPolicy
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from centralita.kernel.payload_codec import ENCRYPTED_ENCODING, data_converter_for
from tests.support.campaigns import (
    ALWAYS_OPEN,
    Population,
    instant_carrier,
    new_campaign,
    run_campaign,
    step,
)
from tests.support.encryption import fixed_ring
from tests.support.histories import records_histories
from workflows.attempt import CallAttemptWorkflow
from workflows.campaign import CampaignWorkflow

pytestmark = pytest.mark.integration

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
CAMPAIGN_HISTORY = HISTORIES / "campaign_v1.json"
ATTEMPT_HISTORY = HISTORIES / "attempt_v1.json"
ENCRYPTED_ATTEMPT_HISTORY = HISTORIES / "attempt_v2_encrypted.json"
# Recorded by tests/integration/test_media_waits.py: an attempt that waited for a media
# worker with room, then ran its call on that worker's own task queue (issue 20).
PLACED_ATTEMPT_HISTORY = HISTORIES / "attempt_v3_placed.json"
ENCRYPTED_PHONE = "+56980000001"


async def _record(env: WorkflowEnvironment, pool: Pool) -> None:
    people = Population()
    people.add("payer", 2, [step(CallOutcome.PROMISE_TO_PAY)])
    people.add("retry", 1, [step(CallOutcome.NO_ANSWER), step(CallOutcome.COMPLETED)])
    people.add(
        "callback",
        1,
        [
            step(CallOutcome.CALLBACK_REQUESTED, extracted={"callback_in_minutes": 30}),
            step(CallOutcome.PROMISE_TO_PAY),
        ],
    )
    policy = CampaignPolicy.model_validate(
        {**ALWAYS_OPEN, "retry": {"no_answer_seconds": 600}, "concurrency": 2}
    )
    campaign_id = await new_campaign(pool, people, policy)
    await run_campaign(env.client, pool, campaign_id, instant_carrier(people.personas))
    campaign = env.client.get_workflow_handle(campaign_workflow_id(campaign_id))
    HISTORIES.mkdir(exist_ok=True)
    CAMPAIGN_HISTORY.write_text(json.dumps((await campaign.fetch_history()).to_json_dict()))
    # The attempt that needed a callback: its history holds the most steps.
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT a.attempt_key FROM call_attempts a JOIN contacts c ON c.id = a.contact_id "
            "WHERE a.campaign_id = %s AND c.name LIKE 'callback-%%' ORDER BY a.attempt_number",
            (campaign_id,),
        )
        first = await cur.fetchone()
    assert first is not None
    attempt = env.client.get_workflow_handle(first["attempt_key"])
    ATTEMPT_HISTORY.write_text(json.dumps((await attempt.fetch_history()).to_json_dict()))


@records_histories
async def test_record_histories(time_skipping_env: WorkflowEnvironment, pool: Pool) -> None:
    await _record(time_skipping_env, pool)
    assert CAMPAIGN_HISTORY.exists()
    assert ATTEMPT_HISTORY.exists()


async def _record_encrypted(env: WorkflowEnvironment, pool: Pool) -> None:
    people = Population()
    people.add(
        "callback",
        1,
        [
            step(CallOutcome.CALLBACK_REQUESTED, extracted={"callback_in_minutes": 30}),
            step(CallOutcome.PROMISE_TO_PAY),
        ],
    )
    people.contacts[0].phones = [ENCRYPTED_PHONE]
    people.personas[0].number = ENCRYPTED_PHONE
    campaign_id = await new_campaign(pool, people, CampaignPolicy.model_validate(ALWAYS_OPEN))
    await run_campaign(env.client, pool, campaign_id, instant_carrier(people.personas))
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT attempt_key FROM call_attempts WHERE campaign_id = %s "
            "ORDER BY attempt_number LIMIT 1",
            (campaign_id,),
        )
        first = await cur.fetchone()
    assert first is not None
    attempt = env.client.get_workflow_handle(first["attempt_key"])
    history = (await attempt.fetch_history()).to_json_dict()
    ENCRYPTED_ATTEMPT_HISTORY.write_text(json.dumps(history))


@records_histories
async def test_record_encrypted_history(time_skipping_env: WorkflowEnvironment, pool: Pool) -> None:
    await _record_encrypted(time_skipping_env, pool)
    assert ENCRYPTED_ATTEMPT_HISTORY.exists()


@pytest.mark.parametrize(
    ("path", "workflow_id"),
    [
        (CAMPAIGN_HISTORY, "campaign"),
        (ATTEMPT_HISTORY, "attempt"),
        (ENCRYPTED_ATTEMPT_HISTORY, "attempt-encrypted"),
        (PLACED_ATTEMPT_HISTORY, "attempt-placed"),
    ],
)
async def test_committed_history_replays(path: Path, workflow_id: str) -> None:
    history = WorkflowHistory.from_json(workflow_id, await asyncio.to_thread(path.read_text))
    assert len(history.events) > 10  # a real run, not an empty file
    replayer = Replayer(
        workflows=[CampaignWorkflow, CallAttemptWorkflow],
        data_converter=data_converter_for(fixed_ring()),
    )
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None


async def test_the_encrypted_history_holds_ciphertext_only() -> None:
    text = await asyncio.to_thread(ENCRYPTED_ATTEMPT_HISTORY.read_text)
    assert ENCRYPTED_PHONE.removeprefix("+") not in text
    assert base64.b64encode(ENCRYPTED_ENCODING).decode() in text
    assert base64.b64encode(b"test-1").decode() in text  # the key id it was sealed with
