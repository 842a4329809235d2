"""Supervisor controls on a real call: the API forwards them to the media worker.

The bot softphone talks to the agent over WebRTC; the test drives the API (in process)
whose controls reach a real media worker app on loopback. What the bot hears is
judged by when it heard the agent start talking (`BotReport.speech_onsets`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from realtime.conversation_line import ConversationLine
from realtime.softphone.script import BotLine, BotScript
from tests.support.lines import (
    MediaWorker,
    after_the_first_exchange,
    loopback_line,
    maria_calls,
    until,
)
from tests.support.servers import api_key_for, bearer, settings_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

KEY = "controls-1"
INJECTED = "Le recuerdo que puede pagar en línea."
MUTED = "Esto no se debe oír."
AFTER = "Gracias por su tiempo."


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def line() -> AsyncIterator[ConversationLine]:
    async with loopback_line() as conversation:
        yield conversation


@pytest.mark.asyncio(loop_scope="module")
async def test_inject_mute_unmute_end_reach_the_call(
    line: ConversationLine, database_url: str
) -> None:
    request = maria_calls(KEY, "e2e-controls")
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
            session = await after_the_first_exchange(line, KEY)
            await asyncio.sleep(1.5)  # the bot counts speech after a pause as a new onset

            t_inject = time.monotonic()
            said = await api.post(f"/calls/{KEY}/inject", json={"message": INJECTED, "by": "ana"})
            assert said.status_code == 200, said.text
            await until(lambda: not session.agent_speaking, 10)
            await asyncio.sleep(0.5)

            t_mute = time.monotonic()
            assert (await api.post(f"/calls/{KEY}/mute", json={"by": "ana"})).status_code == 200
            await api.post(f"/calls/{KEY}/inject", json={"message": MUTED})
            await asyncio.sleep(3.0)
            t_unmute = time.monotonic()
            assert (await api.post(f"/calls/{KEY}/unmute")).status_code == 200
            await api.post(f"/calls/{KEY}/inject", json={"message": AFTER})
            await asyncio.sleep(3.0)
            assert (await api.post(f"/calls/{KEY}/end", json={"by": "ana"})).status_code == 200
            await asyncio.wait_for(call, 30)

            missing = await api.post("/calls/no-such-call/mute")
            assert missing.status_code == 404

    record = line.records[KEY]
    onsets = line.bot_reports[KEY].speech_onsets
    assert any(t_inject < t < t_inject + 2.0 for t in onsets), (t_inject, onsets)
    assert not any(t_mute + 0.3 < t < t_unmute for t in onsets), (t_mute, t_unmute, onsets)
    assert any(t_unmute < t < t_unmute + 2.5 for t in onsets), (t_unmute, onsets)
    agent = [text for who, text in record.transcript if who == "agent"]
    assert INJECTED in agent
    assert AFTER in agent
    assert MUTED not in agent  # never played, so not in the transcript
    controls = [e.payload for e in record.events if e.type == "control"]
    assert [c["action"] for c in controls] == ["say", "mute", "say", "unmute", "say", "end"]
    assert controls[0]["by"] == "ana"
    assert all(c["at_utc"] for c in controls)
    assert record.ended_by == "supervisor"
