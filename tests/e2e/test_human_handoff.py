"""A caller who asks for a person waits in the human queue and gets one, or a callback.

Real parts: the caller is a bot softphone over WebRTC, the agent is a tenant's flow
(stored through the API) with a handoff policy, the media worker binds the Postgres
human queue (`TenantAgents`), the operator follows and answers the queue through the
API with a second bot softphone, and a callback's durable workflow runs on the Temporal
dev server. The first test prints the handoff's timings (decision to ring, answer to
the caller hearing the operator): `bench handoff` measures them over many calls.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.human_callbacks import HumanCallbackActivities
from api.app import create_app
from centralita.handoff import callbacks_store, queue_store
from centralita.kernel.calls import CallOutcome, DialRequest
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.conversation_line import ConversationLine
from realtime.session.record import CallRecord
from realtime.softphone.script import BotLine, BotScript
from realtime.store.agent_lookup import TenantAgents
from tests.support.fakes.loopback import ServedApp
from tests.support.handoffs import (
    AnsweringOperator,
    first_snapshot_with_a_call,
    flow_with_handoff,
    store_agent,
)
from tests.support.lines import MediaWorker, loopback_line, until
from tests.support.servers import api_key_for, bearer, settings_for
from workers.human_callback_starter import HumanCallbackStarter
from workflows.human_callback import HumanCallbackWorkflow

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

OPERATOR_LINE = "Buenas tardes, le habla Ana, ejecutiva de cobranza."
CALLER_REPLY = "Sí, correcto."
ASKS_FOR_A_PERSON = "Quiero hablar con una persona, por favor."
_POLICY = {"rules": [{"trigger": "explicit_request", "action": "transfer_now"}]}


def _maria(key: str, agent: str) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number="+56961234567",
        campaign_id="e2e-handoff",
        contact_id=key,
        attempt_number=1,
        agent=agent,
        variables={"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"},
    )


def _asks_for_a_person_then_answers_the_next_voice() -> BotScript:
    return BotScript(
        lines=[
            BotLine(say="Sí, con ella habla."),
            BotLine(say=ASKS_FOR_A_PERSON),
            BotLine(silent_s=0.2),  # "Le comunico con una ejecutiva, un momento por favor."
            BotLine(say=CALLER_REPLY),  # to whoever speaks next: the operator
            BotLine(silent_s=30),
        ]
    )


@pytest_asyncio.fixture
async def callbacks_worker(
    dev_env: WorkflowEnvironment, pool: Pool
) -> AsyncIterator[HumanCallbackStarter]:
    """The orchestrator's part for callbacks, on a queue of this test's own."""
    queue = f"handoff-{uuid.uuid4().hex[:8]}"
    async with Worker(
        dev_env.client,
        task_queue=queue,
        workflows=[HumanCallbackWorkflow],
        activities=[HumanCallbackActivities(pool).mark_callback_due],
    ):
        yield HumanCallbackStarter(lambda: _ready(dev_env.client), queue)


async def _ready(client: Client) -> Client:
    return client


@pytest_asyncio.fixture
async def stack(
    pool: Pool,
    database_url: str,
    callbacks_worker: HumanCallbackStarter,
    dev_env: WorkflowEnvironment,
) -> AsyncIterator[tuple[ConversationLine, httpx.AsyncClient]]:
    agents = TenantAgents(pool, refresh_s=0, callbacks=callbacks_worker.start)
    async with (
        loopback_line(agent_for=agents.setup_for_call) as line,
        MediaWorker(line) as media,
    ):
        app = create_app(
            settings_for(database_url, "127.0.0.1:1", carrier_url=media.origin),
            temporal_client=dev_env.client,
        )
        # Served on loopback: the operator's queue is a stream of server-sent events.
        async with (
            ServedApp(app) as served,
            httpx.AsyncClient(
                base_url=served.origin, headers=bearer(await api_key_for(database_url))
            ) as api,
        ):
            yield line, api


def _stages(record: CallRecord) -> list[str]:
    return [str(e.payload["stage"]) for e in record.events if e.type == "handoff"]


async def test_a_caller_who_asks_for_a_person_gets_an_operator(
    stack: tuple[ConversationLine, httpx.AsyncClient], pool: Pool
) -> None:
    line, api = stack
    await store_agent(
        api,
        flow_with_handoff(
            "cobranza-temprana",
            "cobranza-humana",
            {**_POLICY, "max_wait_s": 90, "hold_line_every_s": 120},
        ),
    )
    operator = (await api.post("/operators/sign-in", json={"name": "Ana"})).json()
    assert (
        await api.put(f"/operators/{operator['id']}/status", json={"status": "available"})
    ).status_code == 200
    key = f"handoff-{uuid.uuid4().hex[:8]}"
    call = asyncio.create_task(
        line.converse(
            _maria(key, "cobranza-humana"),
            _asks_for_a_person_then_answers_the_next_voice(),
            datetime.now(UTC),
        )
    )
    try:
        snapshot, rang_at = await first_snapshot_with_a_call(api, operator["id"], 60)
    except TimeoutError:
        session = line.live_session(key)
        events = [] if session is None else [(e.type, e.payload) for e in session.record.events]
        raise AssertionError(f"nothing rang; the call's events: {events}") from None
    waiting = snapshot["waiting"][0]
    assert waiting["call_key"] == key
    assert waiting["trigger"] == "explicit_request"
    assert waiting["context"]["name"] == "María"
    assert waiting["context"]["phone_masked"].endswith("4567")
    assert "monto_total" in waiting["context"]["variables"]
    assert any("persona" in line_.lower() for line_ in waiting["context"]["summary"])
    ring_ms = (rang_at - datetime.fromisoformat(waiting["decided_at"]).timestamp()) * 1000

    # The operator picks up once the caller was told (the caller's ear then hears a new
    # voice after a pause, as on a real line).
    session = line.live_session(key)
    assert session is not None
    told = next(i for i, e in enumerate(session.record.events) if e.type == "handoff")
    await until(lambda: any(e.type == "transcript" for e in session.record.events[told:]), 10)
    await until(lambda: session.agent_speaking, 10)  # "Le comunico con una ejecutiva…"
    await until(lambda: not session.agent_speaking, 20)
    await asyncio.sleep(1.0)
    ana = AnsweringOperator(OPERATOR_LINE)
    answered_at = time.monotonic()
    body = await ana.answer(api, operator["id"])
    assert body["handoff"]["id"] == waiting["id"]
    report = line.bot_reports  # filled when the call ends
    heard_by_operator = await asyncio.wait_for(ana.bot.done(), 60)
    await ana.hang_up()  # the operator's call: the call ends with them
    await asyncio.wait_for(call, 30)

    record = line.records[key]
    heard_by_caller = report[key]
    caller_hears_operator_ms = (
        min(t for t in heard_by_caller.speech_onsets if t > answered_at) - answered_at
    ) * 1000
    print(
        f"\nhandoff: decision to ring {ring_ms:.0f} ms; "
        f"answer to the caller hearing the operator {caller_hears_operator_ms:.0f} ms"
    )
    assert _stages(record) == ["decided", "queued", "connected"]
    assert record.ended_by == "operator"
    assert record.outcome is CallOutcome.COMPLETED
    assert record.extracted["handed_to"] == "Ana"
    # The caller heard the operator and answered; the operator heard the caller.
    assert CALLER_REPLY in heard_by_caller.lines_said
    assert heard_by_operator.speech_onsets, heard_by_operator
    # Nothing the agent said after the operator joined.
    joined = next(i for i, e in enumerate(record.events) if e.type == "human_joined")
    assert not [
        e
        for e in record.events[joined:]
        if e.type == "transcript" and e.payload["speaker"] == "agent"
    ]
    # Wrapped up with a disposition; the operator is free again.
    wrapped = await api.post(
        f"/handoffs/{waiting['id']}/wrap-up",
        json={
            "operator_id": operator["id"],
            "disposition": "promise_to_pay",
            "notes": "Paga el 15",
        },
    )
    assert wrapped.status_code == 200, wrapped.text
    async with pool.connection() as conn:
        stored = await queue_store.get(conn, DEFAULT_TENANT_ID, waiting["id"])
    assert stored is not None
    assert stored.state == "ended"
    assert stored.disposition == "promise_to_pay"
    assert stored.connected_at is not None
    me = (await api.get("/operators")).json()
    assert [o["status"] for o in me if o["id"] == operator["id"]] == ["available"]


async def test_nobody_answers_in_time_so_a_person_will_call_back(
    stack: tuple[ConversationLine, httpx.AsyncClient],
    pool: Pool,
    dev_env: WorkflowEnvironment,
) -> None:
    line, api = stack
    await store_agent(
        api,
        flow_with_handoff(
            "cobranza-temprana",
            "cobranza-sin-personas",
            {**_POLICY, "max_wait_s": 6, "hold_line_every_s": 30, "callback_after_min": 90},
        ),
    )
    key = f"handoff-{uuid.uuid4().hex[:8]}"
    script = BotScript(
        lines=[
            BotLine(say="Sí, con ella habla."),
            BotLine(say=ASKS_FOR_A_PERSON),
            BotLine(silent_s=30),
        ]
    )
    started = datetime.now(UTC)
    result = await asyncio.wait_for(
        line.converse(_maria(key, "cobranza-sin-personas"), script, started), 120
    )

    record = line.records[key]
    assert _stages(record) == ["decided", "queued", "timed_out", "callback_scheduled"]
    assert result.outcome is CallOutcome.CALLBACK_REQUESTED
    agent = [text for who, text in record.transcript if who == "agent"]
    assert any("Una ejecutiva le llamará hoy a las" in t or "mañana a las" in t for t in agent), (
        agent
    )
    async with pool.connection() as conn:
        [callback] = [
            c
            for c in await callbacks_store.list_callbacks(conn, DEFAULT_TENANT_ID)
            if c.call_key == key
        ]
        timed_out = await queue_store.recent(conn, DEFAULT_TENANT_ID, states=["timed_out"])
    assert callback.phone == "+56961234567"
    assert callback.name == "María"
    assert callback.state == "scheduled"
    expected = started + timedelta(minutes=90)
    assert abs((callback.due_at - expected).total_seconds()) < 60
    assert key in [h.call_key for h in timed_out]
    # The durable timer waits in Temporal for the callback's time.
    handle = dev_env.client.get_workflow_handle_for(HumanCallbackWorkflow.run, callback.workflow_id)
    description = await handle.describe()
    assert description.status is not None
    assert description.status.name == "RUNNING"
    # An operator reports it done: the workflow ends, the table says so.
    operator = (await api.post("/operators/sign-in", json={"name": "Luis"})).json()
    done = await api.post(
        f"/human-callbacks/{callback.id}/done",
        json={"operator_id": operator["id"], "disposition": "resolved"},
    )
    assert done.status_code == 200, done.text
    outcome = await handle.result()
    assert outcome.state == "done"
    assert outcome.by == "Luis"
