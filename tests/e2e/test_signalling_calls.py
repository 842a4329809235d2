"""Real conversations over HTTP signalling, both directions, recorded.

The media app is the one `centralita media` serves (`workers.media.media_parts`): the
embedded stack (faster-whisper, espeak-ng, the shipped flows). A bot softphone talks to
it only through HTTP and WebRTC, as an external phone would: it calls an agent's inbound
number, and it holds a number that the dial activity's HTTP dialer then calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio

from centralita.kernel.calls import CallOutcome, DialRequest
from centralita.kernel.settings import Settings
from realtime.audio.recorder import read_wav_channels
from realtime.carrier.http_dialer import HttpDialer
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.espeak import EspeakTTS
from realtime.server.app import create_media_app
from realtime.softphone.http_client import HttpSoftphone
from realtime.softphone.script import BotLine, BotScript
from tests.support.servers import serving
from workers.media import media_parts

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

AGENT_NUMBER = "+56229990000"
SOFTPHONE = "+56961110000"
DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}
WRONG_PERSON = BotScript(lines=[BotLine(say="No, no soy esa persona.")])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def media(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, Path]]:
    recordings = tmp_path_factory.mktemp("recordings")
    settings = Settings(
        _env_file=None,
        recordings_dir=recordings,
        inbound_numbers={AGENT_NUMBER: {"agent": "cobranza-temprana", "variables": DEBTOR}},
    )
    parts = media_parts(settings)  # no database: calls are not stored here
    async with serving(create_media_app(parts.dialer, signalling=parts.signalling)) as url:
        yield url, recordings
    restrict_ice_to_loopback(False)


def _channel_rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def _assert_recorded_both_sides(recordings: Path, call_id: str) -> None:
    [wav] = [p for p in recordings.glob("*.wav") if p.name.startswith(call_id[:40])]
    channels = read_wav_channels(wav)
    seconds = channels.caller.size / channels.sample_rate
    assert seconds > 3, f"recording of {seconds:.1f}s"
    assert _channel_rms(channels.caller) > 50, "the caller's side is silent"
    assert _channel_rms(channels.agent) > 50, "the agent's side is silent"


@pytest.mark.asyncio(loop_scope="module")
async def test_a_softphone_calls_the_agents_number(media: tuple[str, Path]) -> None:
    url, recordings = media
    async with httpx.AsyncClient(timeout=10) as http:
        phone = HttpSoftphone(url, SOFTPHONE, EspeakTTS(speed_wpm=140), http=http)
        call = await phone.call(AGENT_NUMBER, WRONG_PERSON)
        status = await _ended(http, f"{url}/calls/{call.call_id}")

    assert status["direction"] == "inbound"
    result = status["result"]
    assert result["outcome"] == CallOutcome.WRONG_PERSON.value, result["transcript"]
    assert "200.000" not in result["transcript"]
    assert call.report.lines_said == ["No, no soy esa persona."]
    assert call.report.heard_s > 1.0  # the agent's greeting reached the phone
    _assert_recorded_both_sides(recordings, call.call_id)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_agent_calls_the_number_a_softphone_holds(media: tuple[str, Path]) -> None:
    url, recordings = media
    request = DialRequest(
        idempotency_key="campaign-sig-contact-1-attempt-1",
        to_number=SOFTPHONE,
        campaign_id="sig",
        contact_id="1",
        attempt_number=1,
        agent="cobranza-temprana",
        variables=DEBTOR,
    )
    async with httpx.AsyncClient(timeout=10) as http:
        phone = HttpSoftphone(url, SOFTPHONE, EspeakTTS(speed_wpm=140), http=http)
        answering = asyncio.create_task(phone.answer_next(WRONG_PERSON, wait_s=20))
        await asyncio.sleep(0.3)  # the phone's poll holds the number
        dialer = HttpDialer(url, client=http, poll_interval=0.1)
        result = await dialer.dial(request)
        call = await answering

    assert call is not None
    assert call.call_id == request.idempotency_key
    assert result.outcome is CallOutcome.WRONG_PERSON, result.transcript
    assert result.answered_at is not None
    assert result.duration_s > 1
    assert call.report.heard_s > 1.0
    _assert_recorded_both_sides(recordings, request.idempotency_key)


async def _ended(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            status: dict[str, Any] = (await http.get(url)).json()
            if status["state"] == "ended":
                return status
            await asyncio.sleep(0.2)
