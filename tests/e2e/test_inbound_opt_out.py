"""A caller who phones an agent's number and asks not to be called again is opted out.

As on an outbound call: a row in the tenant's `opt_outs`, its `opt_out` event in the
outbox, and a signal to every running campaign that would call the number. The caller
is a bot softphone that reaches the media worker's real app (`workers.media.media_parts`:
faster-whisper, the shipped flows, espeak-ng) only over HTTP signalling and loopback
WebRTC; Postgres and the Temporal dev server are real. A caller who says something else
is opted out of nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from centralita.campaigns.messages import OPT_OUT_SIGNAL, campaign_workflow_id
from centralita.kernel.db import Pool
from centralita.kernel.events import call_subject
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.server.app import create_media_app
from realtime.softphone.http_client import HttpSoftphone
from realtime.softphone.script import BotLine, BotScript
from tests.support.events import subject_events
from tests.support.servers import serving, settings_for, task_queue
from tests.support.stored_calls import insert_campaign
from workers.media import media_parts

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

AGENT_NUMBER = "+56229990000"
OPTING_OUT, WRONG_NUMBER = "+56961117001", "+56961117002"
DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def media_url(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> AsyncIterator[str]:
    """The media worker's app, storing calls in this module's database."""
    settings = settings_for(
        database_url,
        dev_env.client.service_client.config.target_host,
        post_call=False,  # not what is tested here, and it would cost a worker
        record_calls=False,
        inbound_numbers={AGENT_NUMBER: {"agent": "cobranza-temprana", "variables": DEBTOR}},
    )
    parts = media_parts(settings, pool, stt=WhisperSTT())
    try:
        async with serving(create_media_app(parts.dialer, signalling=parts.signalling)) as url:
            yield url
    finally:
        if parts.live is not None:
            await parts.live.close()
        restrict_ice_to_loopback(False)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def campaign_calling_caller(
    dev_env: WorkflowEnvironment, pool: Pool
) -> AsyncIterator[WorkflowHandle[Any, Any]]:
    """A running campaign with a contact holding the caller's number.

    Its workflow is a stand-in nobody polls for: the signals it is sent stay in its
    history, which is all this test reads of it.
    """
    campaign_id = await insert_campaign(pool, "calls the caller")
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO contacts (id, tenant_id, campaign_id, position, name, phones) "
            "VALUES (%s, %s, %s, 0, 'María', %s)",
            (str(uuid.uuid4()), DEFAULT_TENANT_ID, campaign_id, [OPTING_OUT]),
        )
    handle = await dev_env.client.start_workflow(
        "CampaignWorkflow", id=campaign_workflow_id(campaign_id), task_queue=task_queue()
    )
    yield handle
    await handle.terminate("test over")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def calls(
    media_url: str, campaign_calling_caller: WorkflowHandle[Any, Any]
) -> dict[str, str]:
    """Both callers phone the agent at once (one call's time): their call keys by number.

    The campaign calling the first is running before either calls.
    """
    # Said at once, before the agent tells of the debt: the shortest call that opts out.
    opting_out = BotScript(lines=[BotLine(say="No me vuelvan a llamar, por favor.")])
    wrong_number = BotScript(lines=[BotLine(say="No, no soy esa persona.")])
    keys = await asyncio.gather(
        _call(media_url, OPTING_OUT, opting_out), _call(media_url, WRONG_NUMBER, wrong_number)
    )
    return dict(zip((OPTING_OUT, WRONG_NUMBER), keys, strict=True))


async def test_an_inbound_caller_who_asks_not_to_be_called_is_opted_out(
    calls: dict[str, str], pool: Pool, campaign_calling_caller: WorkflowHandle[Any, Any]
) -> None:
    key = calls[OPTING_OUT]

    assert await _outcome(pool, key) == "opt_out"
    assert await _opt_outs(pool, OPTING_OUT) == [(DEFAULT_TENANT_ID, "inbound_call")]
    [event] = [e for e in await subject_events(pool, call_subject(key)) if e["type"] == "opt_out"]
    assert event["tenant_id"] == DEFAULT_TENANT_ID
    assert event["payload"]["phone"] == OPTING_OUT
    assert event["payload"]["call_key"] == key
    assert await _signals(campaign_calling_caller) == [OPT_OUT_SIGNAL]


async def test_an_inbound_caller_who_says_something_else_is_not_opted_out(
    calls: dict[str, str], pool: Pool
) -> None:
    key = calls[WRONG_NUMBER]

    assert await _outcome(pool, key) == "wrong_person"
    assert await _opt_outs(pool, WRONG_NUMBER) == []
    events = await subject_events(pool, call_subject(key))
    assert "opt_out" not in [e["type"] for e in events]
    assert "call_ended" in [e["type"] for e in events]


async def _call(url: str, caller: str, script: BotScript) -> str:
    """Phone the agent's number from `caller`; the call's key."""
    async with httpx.AsyncClient(timeout=10) as http:
        phone = HttpSoftphone(url, caller, EspeakTTS(speed_wpm=140), http=http)
        return (await phone.call(AGENT_NUMBER, script)).call_id


async def _outcome(pool: Pool, key: str) -> str:
    """The stored call's outcome, once the media worker has stored it."""
    async with asyncio.timeout(60):
        while True:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT outcome FROM calls WHERE metadata->>'idempotency_key' = %s", (key,)
                )
                row = await cur.fetchone()
            if row is not None:
                return str(row["outcome"])
            await asyncio.sleep(0.2)


async def _opt_outs(pool: Pool, phone: str) -> list[tuple[str, str]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT tenant_id::text AS tenant_id, source FROM opt_outs WHERE phone = %s",
            (phone,),
        )
        return [(r["tenant_id"], r["source"]) for r in await cur.fetchall()]


async def _signals(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The names of the signals the workflow got, once it got one (sent after the store)."""
    async with asyncio.timeout(15):
        while True:
            history = await handle.fetch_history()
            names = [
                e.workflow_execution_signaled_event_attributes.signal_name
                for e in history.events
                if e.HasField("workflow_execution_signaled_event_attributes")
            ]
            if names:
                return names
            await asyncio.sleep(0.2)
