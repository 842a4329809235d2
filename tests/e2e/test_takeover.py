"""A supervisor's softphone takes a call over: the caller and the supervisor hear each other.

Three real WebRTC peers on loopback: the caller (a bot softphone talking to the agent),
the media worker, and the supervisor (a second bot softphone joining through the API's
`POST /calls/{id}/takeover` with its SDP offer). While the supervisor is on, the agent
says nothing and answers nothing but still transcribes the caller; when the supervisor
hangs up, the agent has the call back and can be heard again.
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
from realtime.legs.webrtc import SessionDescription, new_peer_connection
from realtime.providers.espeak import EspeakTTS
from realtime.session.record import CallRecord
from realtime.softphone.bot import BotSoftphone
from realtime.softphone.script import BotLine, BotScript
from tests.support.lines import (
    MediaWorker,
    after_the_first_exchange,
    answers_whoever_speaks_next,
    loopback_line,
    maria_calls,
    until,
)
from tests.support.servers import api_key_for, bearer, settings_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

KEY = "takeover-1"
SUPERVISOR_LINE = "Buenas tardes, le habla Ana, la supervisora."
CALLER_REPLY = "Sí, correcto."
AFTER = "Gracias por su tiempo."


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def line() -> AsyncIterator[ConversationLine]:
    async with loopback_line() as conversation:
        yield conversation


def _index(record: CallRecord, kind: str) -> int:
    return next(i for i, e in enumerate(record.events) if e.type == kind)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_supervisor_takes_the_call_over_and_hands_it_back(
    line: ConversationLine, database_url: str
) -> None:
    request = maria_calls(KEY, "e2e-takeover")
    caller = answers_whoever_speaks_next(CALLER_REPLY)
    supervisor = BotSoftphone(
        BotScript(
            speaks_first=True,
            lines=[BotLine(say=SUPERVISOR_LINE), BotLine(silent_s=0.3)],
            linger_s=0.5,
        ),
        EspeakTTS(speed_wpm=140),
    )
    supervisor_pc = new_peer_connection()
    supervisor.attach(supervisor_pc)
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
            call = asyncio.create_task(line.converse(request, caller, datetime.now(UTC)))
            session = await after_the_first_exchange(line, KEY)
            await asyncio.sleep(1.0)  # the caller's ear: the agent's reply is over

            await supervisor_pc.setLocalDescription(await supervisor_pc.createOffer())
            offer = supervisor_pc.localDescription
            t_join = time.monotonic()
            taken = await api.post(
                f"/calls/{KEY}/takeover", json={"by": "ana", "sdp": offer.sdp, "type": "offer"}
            )
            assert taken.status_code == 200, taken.text
            assert taken.json()["type"] == "answer"
            await supervisor_pc.setRemoteDescription(
                SessionDescription(sdp=taken.json()["sdp"], type="answer").to_rtc()
            )
            second = await api.post(f"/calls/{KEY}/takeover", json={"by": "luis", "sdp": "v=0"})
            assert second.status_code == 409, second.text

            heard_by_supervisor = await asyncio.wait_for(supervisor.done(), 60)
            await supervisor_pc.close()
            await until(lambda: any(e.type == "handed_back" for e in session.record.events), 20)
            t_back = time.monotonic()

            garbage = await api.post(f"/calls/{KEY}/takeover", json={"sdp": "not sdp"})
            assert garbage.status_code == 422, garbage.text
            said = await api.post(f"/calls/{KEY}/inject", json={"message": AFTER})
            assert said.status_code == 200, said.text
            await until(lambda: not session.agent_speaking, 15)
            await asyncio.sleep(0.5)
            assert (await api.post(f"/calls/{KEY}/end", json={"by": "ana"})).status_code == 200
            await asyncio.wait_for(call, 30)

    record = line.records[KEY]
    heard_by_caller = line.bot_reports[KEY]
    # The caller heard the supervisor (the agent was quiet) and answered them ...
    assert CALLER_REPLY in heard_by_caller.lines_said, heard_by_caller
    assert any(t_join < t < t_join + 5 for t in heard_by_caller.speech_onsets)
    # ... and the supervisor heard the caller's answer.
    assert heard_by_supervisor.lines_said == [SUPERVISOR_LINE]
    assert heard_by_supervisor.speech_onsets, heard_by_supervisor
    # The agent said nothing while the supervisor had the call, but kept transcribing.
    joined, left = _index(record, "human_joined"), _index(record, "handed_back")
    during = record.events[joined:left]
    assert not [e for e in during if e.type == "transcript" and e.payload["speaker"] == "agent"]
    heard = [e.payload["text"] for e in during if e.type == "transcript"]
    # "Sí, correcto." as Whisper hears espeak over Opus: the words after "Sí" vary.
    assert any(text.lower().startswith(("sí", "si")) for text in heard), heard
    assert record.events[joined].payload["by"] == "ana"
    assert any(e.type == "human_left" for e in record.events[joined:])
    controls = [e.payload for e in record.events if e.type == "control"]
    assert [c["action"] for c in controls] == ["takeover", "say", "end"]
    # Handed back, the agent is heard again.
    assert any(t_back < t < t_back + 3 for t in heard_by_caller.speech_onsets)
    assert AFTER in [text for who, text in record.transcript if who == "agent"]
