"""`POST /conversations/{id}/end` on a real call under way: it hangs up and answers the
stored call's final metrics.

A real conversation: the media worker's own line (`workers.media.conversation_line`:
faster-whisper, the shipped flow, espeak-ng, and the store that writes the call when it
ends) talks to a bot softphone over loopback WebRTC; the API (in process) reaches the
media worker's app on 127.0.0.1. It is an end-to-end test kept beside the other
analytics tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.conversation_line import ConversationLine
from realtime.softphone.script import BotLine, BotScript
from tests.support.analytics_seed import insert_campaign
from tests.support.lines import MediaWorker, after_the_first_exchange, maria_calls
from tests.support.servers import api_key_for, bearer, settings_for
from workers.media import conversation_line

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def line(database_url: str, pool: Pool) -> AsyncIterator[ConversationLine]:
    settings = settings_for(database_url, "127.0.0.1:1", post_call=False, record_calls=False)
    # The media worker's line keeps no records; these tests read the last calls'.
    yield conversation_line(settings, pool, keep_finished=10)


@pytest.mark.asyncio(loop_scope="module")
async def test_end_hangs_up_and_answers_the_final_metrics(
    line: ConversationLine, database_url: str, pool: Pool
) -> None:
    campaign = await insert_campaign(pool, "en vivo", "America/Santiago")
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO contacts (tenant_id, campaign_id, position, name, phones) "
            "VALUES (%s, %s, 0, 'María', %s) RETURNING id::text AS id",
            (DEFAULT_TENANT_ID, campaign, ["+56961234567"]),
        )
        contact = await cur.fetchone()
        assert contact is not None
        key = f"campaign-{campaign}-contact-{contact['id']}-attempt-1"
        # The attempt is dialling, as the campaign's attempt workflow leaves it.
        await conn.execute(
            "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, status) VALUES (%s, %s, %s, %s, 1, %s, 'dialing')",
            (key, DEFAULT_TENANT_ID, campaign, contact["id"], "+56961234567"),
        )
    request = maria_calls(key, campaign)
    script = BotScript(lines=[BotLine(say="Sí, con ella habla."), BotLine(silent_s=60)])
    async with MediaWorker(line) as media:
        app = create_app(settings_for(database_url, "127.0.0.1:1", carrier_url=media.origin))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://api",
                headers=bearer(await api_key_for(database_url)),
            ) as api,
        ):
            call = asyncio.create_task(line.converse(request, script, datetime.now(UTC)))
            await after_the_first_exchange(line, key)
            before = await api.get(f"/conversations/{key}/metrics")
            assert before.status_code == 404  # under way: nothing stored yet

            response = await api.post(f"/conversations/{key}/end", json={"by": "ana"})
            assert response.status_code == 200, response.text
            result = await asyncio.wait_for(call, 30)

            body = response.json()
            assert body["state"] == "ended"
            metrics = body["metrics"]
            assert metrics["call_key"] == key
            assert metrics["attempt_key"] == key
            assert metrics["campaign_id"] == campaign
            assert metrics["outcome"] == result.outcome.value
            assert metrics["duration_s"] == pytest.approx(result.duration_s)
            record = line.records[key]
            assert metrics["turns"] == len(record.turns) >= 1
            measured = [t.stt_ms for t in record.turns if t.stt_ms is not None]
            assert metrics["avg_stt_ms"] == pytest.approx(sum(measured) / len(measured))
            controls = [e.payload for e in record.events if e.type == "control"]
            assert [(c["action"], c["by"]) for c in controls] == [("end", "ana")]
            assert record.ended_by == "supervisor"

            again = await api.post(f"/conversations/{key}/end")
            assert again.status_code == 200
            assert again.json()["state"] == "already_ended"
            assert again.json()["metrics"] == metrics
