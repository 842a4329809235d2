"""After a real call: the attempt starts the post-call workflow, which re-transcribes the
recording, corrects, analyses, documents and announces it.

A one-contact campaign runs on the real Temporal dev server with the production
orchestrator worker; the simulated carrier's persona answers with a bot softphone over
WebRTC; the media side records the call and stores it as the media worker does. The
post-call worker (its own task queue, real faster-whisper with beam search, the tenant's
pgvector lexicon) then processes the recording.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from centralita.campaigns.messages import campaign_workflow_id
from centralita.campaigns.policy import CampaignPolicy, CampaignRunInput
from centralita.campaigns.store.campaigns import NewContact
from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from centralita.kernel.db import Pool
from realtime.carrier.simulated import Persona, PersonaStep, SimulatedCarrier
from realtime.conversation_line import CallParties
from realtime.session.record import CallRecord
from realtime.softphone.script import BotLine, BotScript
from realtime.store.calls import save_call
from tests.support.campaigns import ALWAYS_OPEN, Population, new_campaign, rows
from tests.support.lines import loopback_line
from tests.support.servers import orchestrator_worker, task_queue
from workers.post_call import build_post_call_worker
from workflows.campaign import CampaignWorkflow
from workflows.post_call import PostCallWorkflow, post_call_workflow_id

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PHONE = "+56963000001"
SANTIAGO = ZoneInfo("America/Santiago")


def _population() -> Population:
    people = Population()
    people.contacts = [
        NewContact(
            name="María",
            phones=[PHONE],
            recipient_timezone="America/Santiago",
            variables={"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"},
        )
    ]
    # She confirms the promise and says goodbye: a settled call, so the campaign ends (a
    # caller who hung up before confirming would be no_decision and called again later).
    script = BotScript(
        lines=[
            BotLine(say="Sí, con ella habla."),
            BotLine(say="Doscientos mil pesos, el viernes."),
            BotLine(say="Sí, correcto."),
            BotLine(say="No, gracias. Adiós."),
        ]
    )
    people.personas = [
        Persona(
            number=PHONE,
            name="María",
            script=[
                PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=0, conversation=script)
            ],
        )
    ]
    return people


@pytest_asyncio.fixture(loop_scope="session")
async def carrier(
    pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SimulatedCarrier]:
    async def store(
        request: DialRequest, record: CallRecord, result: DialResult, parties: CallParties
    ) -> None:
        await save_call(pool, request, record, result, direction=parties.direction)

    recordings = tmp_path_factory.mktemp("recordings")
    async with loopback_line(on_call_ended=store, recordings_dir=recordings) as line:
        yield SimulatedCarrier(_population().personas, line=line)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_recorded_campaign_call_is_retranscribed_corrected_and_analysed(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str, carrier: SimulatedCarrier
) -> None:
    policy = CampaignPolicy.model_validate(ALWAYS_OPEN)
    campaign_id = await new_campaign(pool, _population(), policy)
    queue, post_queue = task_queue(), task_queue()
    async with (
        orchestrator_worker(dev_env.client, queue, pool, carrier),
        build_post_call_worker(dev_env.client, post_queue, pool),
    ):
        await dev_env.client.execute_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(campaign_id=campaign_id, post_call_task_queue=post_queue),
            id=campaign_workflow_id(campaign_id),
            task_queue=queue,
        )
        [attempt] = rows(
            database_url,
            "SELECT attempt_key, contact_id::text AS contact_id FROM call_attempts "
            "WHERE campaign_id = %s::uuid",
            campaign_id,
        )
        handle = dev_env.client.get_workflow_handle_for(
            PostCallWorkflow.run, post_call_workflow_id(attempt["attempt_key"])
        )
        result = await handle.result()

    [call] = rows(
        database_url,
        "SELECT id::text AS id, recording_path, started_at FROM calls WHERE id = %s::uuid",
        result.call_id,
    )
    [offline] = rows(
        database_url,
        "SELECT text, segments FROM transcripts WHERE call_id = %s::uuid AND kind = 'offline'",
        result.call_id,
    )
    [analysis] = rows(
        database_url,
        "SELECT intent, success, analysis FROM call_analyses WHERE call_id = %s::uuid",
        result.call_id,
    )
    [document] = rows(
        database_url,
        "SELECT document, checksum FROM call_documents WHERE call_id = %s::uuid",
        result.call_id,
    )
    [contact] = rows(
        database_url, "SELECT extracted FROM contacts WHERE id = %s::uuid", attempt["contact_id"]
    )
    # The caller's two lines, re-heard from the recording, with word timings inside the call
    # and the recogniser's probabilities kept.
    assert result.retranscribed.source == "offline"
    assert result.retranscribed.segments >= 2
    assert "viernes" in offline["text"].lower()
    words = [w for s in offline["segments"] for w in s["words"]]
    assert all(0.0 <= w["probability"] <= 1.0 for w in words)
    # On the call's clock: each word within its utterance (Whisper may place a first word
    # a little into the pre-roll before the detected onset).
    assert all(
        s["start"] - 0.5 <= w["start"] <= w["end"] <= s["end"] + 0.5
        for s in offline["segments"]
        for w in s["words"]
    )
    # The promise reached the analysis, the contact and the campaign.
    called_on = call["started_at"].astimezone(SANTIAGO).date()
    friday = called_on + timedelta(days=(4 - called_on.weekday()) % 7 or 7)
    assert analysis["intent"] == "payment_promise"
    assert contact["extracted"]["promised_amount"] == "200000"
    assert contact["extracted"]["promised_date"] == friday.isoformat()
    # The document names the very recording it was made from.
    digest = await asyncio.to_thread(_sha256, Path(call["recording_path"]))
    assert document["checksum"] == digest
    assert document["document"]["audio"]["channels"] == 2
    assert result.event_id.startswith(f"call_analyzed-{result.call_id}")
    assert datetime.now(UTC) - call["started_at"] < timedelta(minutes=10)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
