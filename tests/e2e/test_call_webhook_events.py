"""A real call's webhook events, in order: call_started ... turn_completed ... call_ended.

The media worker's own wiring (`workers.media.conversation_line`: live events batched
into Postgres, the call stored when it ends) holds a real WebRTC call on loopback with
the bot softphone: espeak-ng voices, faster-whisper, the shipped Spanish collections
flow. What a subscriber would receive is read back from the outbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from centralita.kernel.calls import CallOutcome, DialRequest
from centralita.kernel.db import Pool
from centralita.kernel.events import call_subject
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.whisper import WhisperSTT
from realtime.softphone.script import BotLine, BotScript
from realtime.store.live_events import LiveEvents
from tests.support.events import AGENT, dialling_attempt
from tests.support.servers import settings_for
from tests.support.stored_calls import PHONE, insert_campaign
from workers.media import conversation_line

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}


@pytest.fixture
async def live(pool: Pool) -> AsyncIterator[LiveEvents]:
    events = LiveEvents(pool)
    yield events
    await events.close()


async def _dialled(pool: Pool) -> DialRequest:
    """A campaign's contact with an attempt being dialled, as the call activity leaves it."""
    campaign_id = await insert_campaign(pool, "webhooks e2e")
    key, contact_id = await dialling_attempt(pool, campaign_id)
    return DialRequest(
        idempotency_key=key,
        to_number=PHONE,
        campaign_id=campaign_id,
        contact_id=contact_id,
        attempt_number=1,
        agent=AGENT,
        variables=DEBTOR,
    )


async def test_a_real_call_announces_its_start_turns_promise_and_end_in_order(
    pool: Pool, database_url: str, live: LiveEvents
) -> None:
    request = await _dialled(pool)
    settings = settings_for(database_url, "127.0.0.1:1", record_calls=False)
    try:
        line = conversation_line(settings, pool, stt=WhisperSTT(), live=live, keep_finished=1)
        script = BotScript(
            lines=[
                BotLine(say="Sí, con ella habla."),
                BotLine(say="Doscientos mil pesos, el viernes."),
                BotLine(say="Sí, correcto."),
            ]
        )
        result = await line.converse(request, script, datetime.now(UTC))
    finally:
        restrict_ice_to_loopback(False)
    record = line.records[request.idempotency_key]
    assert result.outcome is CallOutcome.PROMISE_TO_PAY, record.transcript_text()

    key = request.idempotency_key
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT type, subject, payload, occurred_at FROM domain_events "
            "WHERE payload->>'call_key' = %s ORDER BY seq",
            (key,),
        )
        events = [dict(r) for r in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT t.turn_index, t.user_text, t.agent_text FROM call_turns t "
            "JOIN calls c ON c.id = t.call_id WHERE c.metadata->>'idempotency_key' = %s "
            "ORDER BY t.turn_index",
            (key,),
        )
        stored_turns = [dict(r) for r in await cur.fetchall()]

    types = [e["type"] for e in events]
    assert types[0] == "call_started", types
    assert types[-1] == "call_ended", types
    assert {e["subject"] for e in events} == {call_subject(key)}
    stamps = [e["occurred_at"] for e in events]
    assert stamps == sorted(stamps)
    started, ended = events[0]["payload"], events[-1]["payload"]
    assert (started["phone"], started["direction"]) == (PHONE, "outbound")
    assert started["campaign_id"] == request.campaign_id
    assert ended["phone"] == PHONE
    assert ended["outcome"] == "promise_to_pay"

    # One turn_completed per stored turn, in turn order, saying what was stored.
    turns = [e["payload"] for e in events if e["type"] == "turn_completed"]
    assert stored_turns
    assert len(turns) == len(stored_turns) == ended["turns"]
    assert [
        {"turn_index": t["turn_index"], "user_text": t["user_text"], "agent_text": t["agent_text"]}
        for t in turns
    ] == stored_turns
    assert any(t["voice_to_voice_ms"] for t in turns)

    [promise] = [e["payload"] for e in events if e["type"] == "promise_registered"]
    assert (promise["amount"], promise["currency"], promise["source"]) == (200000, "CLP", "call")
    # Reported during the call, before the call ended.
    assert types.index("promise_registered") < types.index("call_ended")
