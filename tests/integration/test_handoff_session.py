"""A call session applying its agent's handoff policy, turn by turn, on the real queue.

The session runs for real (endpointing, playback, the shipped Spanish flow) on a
scripted caller's audio paced in real time; the recogniser and the voice are scripted;
the human queue is Postgres (`PostgresHumanQueue`). Each test is one way a policy ends a
call or lets it go on: a legal matter becomes a person's callback, an offer declined
leaves the flow in charge, a caller who hangs up while waiting abandons the queue, and a
queue that cannot be reached ends in an apology that promises no time.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import pytest
from psycopg_pool import AsyncConnectionPool

from centralita.handoff import callbacks_store, queue_store
from centralita.handoff.policy import HandoffPolicy
from centralita.kernel.calls import CallOutcome, DialRequest
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.agents.setup import flow_agent_for
from realtime.audio.playback import AgentVoiceTrack
from realtime.session.call_session import CallSession
from realtime.session.record import CallRecord
from realtime.store.human_queue import PostgresHumanQueue
from tests.integration.test_call_session_ending import ScriptedCaller, pulled, run_timed
from tests.support.providers import ScriptedSTT, ScriptedTTS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def _request() -> DialRequest:
    key = f"session-handoff-{uuid.uuid4().hex[:8]}"
    return DialRequest(
        idempotency_key=key,
        to_number="+56961234567",
        campaign_id="handoff-session",
        contact_id=key,
        attempt_number=1,
        agent="cobranza-temprana",
        variables={"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"},
    )


def _session(
    pool: Pool,
    request: DialRequest,
    policy: HandoffPolicy,
    stt: ScriptedSTT,
    voice: AgentVoiceTrack,
) -> CallSession:
    setup = flow_agent_for(request)
    call = CallSession(
        call_id=request.idempotency_key,
        brain=setup.brain,
        stt=stt,
        tts=ScriptedTTS(),
        voice=voice,
        # One transcript per utterance: early transcription would ask the recogniser more.
        config=replace(setup.config, handoff=policy, early_transcribe_ms=None),
    )
    call.human_queue = PostgresHumanQueue(
        pool, DEFAULT_TENANT_ID, request, queue=policy.queue, max_wait_s=policy.max_wait_s
    )
    return call


def _stages(record: CallRecord) -> list[str]:
    return [str(e.payload["stage"]) for e in record.events if e.type == "handoff"]


def _agent_lines(record: CallRecord) -> list[str]:
    return [text for who, text in record.transcript if who == "agent"]


# The greeting, "Sí, con ella", the agent's reply, then the caller's second turn.
_TWO_TURNS = [(3.0, False), (1.0, True), (5.0, False), (1.2, True), (12.0, False)]


async def test_a_lawyer_mentioned_becomes_a_persons_callback(pool: Pool) -> None:
    policy = HandoffPolicy.model_validate(
        {"rules": [{"trigger": "legal", "action": "schedule_callback"}], "callback_after_min": 120}
    )
    request = _request()
    stt = ScriptedSTT(["Sí, con ella.", "Eso lo ve mi abogado, hable con él."])
    caller = ScriptedCaller(_TWO_TURNS)
    async with pulled(AgentVoiceTrack()) as voice:
        record, _ = await run_timed(_session(pool, request, policy, stt, voice), caller, 60)

    assert _stages(record) == ["decided", "callback_scheduled"]
    decided = next(e.payload for e in record.events if e.type == "handoff")
    assert decided["trigger"] == "legal"
    assert decided["reason"] == "legal matter: lawyer"
    assert record.outcome is CallOutcome.CALLBACK_REQUESTED
    assert record.ended_by == "agent"
    assert any("Para esto es mejor que le atienda una persona" in t for t in _agent_lines(record))
    async with pool.connection() as conn:
        owed = await callbacks_store.list_callbacks(conn, DEFAULT_TENANT_ID)
    [callback] = [c for c in owed if c.call_key == request.idempotency_key]
    assert callback.reason == "legal matter: lawyer"
    assert callback.context.summary[-1] == "user: Eso lo ve mi abogado, hable con él."
    assert callback.phone == "+56961234567"


async def test_an_offer_declined_leaves_the_flow_in_charge(pool: Pool) -> None:
    policy = HandoffPolicy.model_validate(
        {"rules": [{"trigger": "negative_sentiment", "action": "offer_transfer", "turns": 1}]}
    )
    request = _request()
    stt = ScriptedSTT(
        [
            "Sí, con ella.",
            "¡Esto es una vergüenza, estoy harta de que me llamen!",
            "No, gracias. Le pago el viernes.",
        ]
    )
    caller = ScriptedCaller([*_TWO_TURNS[:-1], (5.0, False), (1.2, True), (10.0, False)])
    async with pulled(AgentVoiceTrack()) as voice:
        record, _ = await run_timed(_session(pool, request, policy, stt, voice), caller, 60)

    assert _stages(record)[:3] == ["decided", "offered", "declined"], record.events
    assert any("le comunico con una ejecutiva" in t.lower() for t in _agent_lines(record))
    # The flow answered the third turn itself: no handoff, and it asked about the promise.
    assert "queued" not in _stages(record)
    assert record.extracted.get("transfer_failed") is None


async def test_a_caller_who_hangs_up_while_waiting_abandons_the_queue(pool: Pool) -> None:
    policy = HandoffPolicy.model_validate(
        {"rules": [{"trigger": "explicit_request"}], "max_wait_s": 60}
    )
    request = _request()
    stt = ScriptedSTT(["Sí, con ella.", "Quiero hablar con una persona."])
    # They hang up (the track ends) some seconds into the wait.
    caller = ScriptedCaller([*_TWO_TURNS[:-1], (30.0, False)])
    hang_up = asyncio.get_running_loop().call_later(16.0, caller.stop)
    try:
        async with pulled(AgentVoiceTrack()) as voice:
            call = _session(pool, request, policy, stt, voice)
            record, took_s = await run_timed(call, caller, 60)
    finally:
        hang_up.cancel()

    assert _stages(record) == ["decided", "queued", "abandoned"], record.events
    assert record.ended_by == "remote_hangup"
    assert took_s < 40
    async with pool.connection() as conn:
        abandoned = await queue_store.recent(conn, DEFAULT_TENANT_ID, states=["abandoned"])
    assert request.idempotency_key in [h.call_key for h in abandoned]


async def test_a_queue_that_cannot_be_reached_ends_in_an_apology_without_a_time() -> None:
    # A pool to a database nobody serves: queueing fails, so does storing a callback.
    broken: Pool = AsyncConnectionPool(
        "postgresql://nobody@127.0.0.1:1/gone", min_size=0, max_size=1, open=False, timeout=1.0
    )
    await broken.open(wait=False)
    policy = HandoffPolicy.model_validate({"rules": [{"trigger": "explicit_request"}]})
    request = _request()
    stt = ScriptedSTT(["Sí, con ella.", "Quiero hablar con una persona."])
    caller = ScriptedCaller(_TWO_TURNS)
    try:
        async with pulled(AgentVoiceTrack()) as voice:
            record, _ = await run_timed(_session(broken, request, policy, stt, voice), caller, 60)
    finally:
        await broken.close()

    errors = [e.payload["where"] for e in record.events if e.type == "error"]
    assert errors[:2] == ["handoff", "human_callback"], record.events
    assert any("Le volveremos a llamar" in t for t in _agent_lines(record))
    assert not any("le llamará" in t for t in _agent_lines(record))  # no time promised
    assert record.outcome is CallOutcome.CALLBACK_REQUESTED
    assert record.extracted["human_callback"] is False


async def test_turns_the_agent_does_not_understand_in_a_row_send_the_call_to_a_person(
    pool: Pool,
) -> None:
    policy = HandoffPolicy.model_validate(
        {"rules": [{"trigger": "fallbacks", "action": "schedule_callback", "turns": 2}]}
    )
    request = _request()
    stt = ScriptedSTT(["Sí, con ella.", "Perro azul montaña.", "Guitarra ventana nube."])
    caller = ScriptedCaller([*_TWO_TURNS[:-1], (5.0, False), (1.2, True), (12.0, False)])
    async with pulled(AgentVoiceTrack()) as voice:
        record, _ = await run_timed(_session(pool, request, policy, stt, voice), caller, 60)

    assert _stages(record) == ["decided", "callback_scheduled"], record.events
    decided = next(e.payload for e in record.events if e.type == "handoff")
    assert decided["trigger"] == "fallbacks"
    assert decided["reason"] == "the agent did not understand 2 turns"
    assert record.outcome is CallOutcome.CALLBACK_REQUESTED
