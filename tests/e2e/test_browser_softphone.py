"""The browser softphone in headless Chromium calls an agent and speaks a Spanish line.

Real parts end to end: Debian's chromium (driven by Playwright through its
`executable_path`) with a fake microphone playing a WAV, the API serving the page and
relaying its signalling, the media worker answering over WebRTC, Postgres carrying the
live events back to the page. The test asserts the stored transcript, the agent's
reply, and that the page showed the live transcript; it saves a screenshot.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import wave
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Playwright, async_playwright

from api.app import create_app
from centralita.correction.online import OnlineCorrector
from centralita.kernel.db import Pool
from realtime.agents.setup import flow_agent_for
from realtime.audio.frames import resample_pcm16
from realtime.conversation_line import ConversationLine
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.server.app import create_media_app
from realtime.server.inbound import InboundDirectory, InboundRoute
from realtime.server.signalling import signalling_router
from realtime.session.record import CallRecord
from realtime.softphone.exchange import SoftphoneExchange
from realtime.store.live_events import LiveEvents
from tests.support.fakes.loopback import LoopbackServer
from tests.support.lines import (
    MediaWorker,
    after_the_first_exchange,
    answers_whoever_speaks_next,
    maria_calls,
    until,
)
from tests.support.servers import api_key_for, settings_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(180),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make setup does)"),
]

AGENT_NUMBER = "+56229990000"
LINE = "Sí, con ella habla."
SCREENSHOT = Path(__file__).parents[2] / ".artifacts" / "browser_softphone.png"


class App(LoopbackServer):
    def __init__(self, app: object) -> None:
        super().__init__()
        self.app = app  # type: ignore[assignment]


async def _chromium(playwright: Playwright, wav: Path) -> Browser:
    """Headless Debian chromium whose microphone plays `wav`."""
    assert CHROMIUM is not None
    return await playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}",
            # Loopback only here: candidates on 127.0.0.1, not hidden behind mDNS.
            "--allow-loopback-in-peer-connection",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )


async def _fake_microphone(path: Path, line: str = LINE, quiet_s: int = 9) -> None:
    """A WAV for Chromium's fake microphone: quiet for `quiet_s`, then the line."""
    audio = await EspeakTTS(speed_wpm=140).synthesize(line, language="es")
    speech = np.asarray(resample_pcm16(audio.samples, audio.sample_rate, 48_000), np.int16)
    silence = np.zeros(48_000 * quiet_s, np.int16)  # e.g. the agent greets meanwhile
    samples = np.concatenate([silence, speech, np.zeros(48_000 * 30, np.int16)])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(samples.tobytes())


@pytest_asyncio.fixture
async def line(pool: Pool) -> AsyncIterator[tuple[ConversationLine, LiveEvents]]:
    restrict_ice_to_loopback()
    live = LiveEvents(pool)
    yield (
        ConversationLine(
            agent_for=flow_agent_for,
            stt=WhisperSTT(),
            tts=EspeakTTS(),
            corrector=OnlineCorrector(),
            on_event=live.publish,
        ),
        live,
    )
    await live.close()
    restrict_ice_to_loopback(False)


async def test_a_browser_calls_the_agent_and_sees_the_live_transcript(
    line: tuple[ConversationLine, LiveEvents], database_url: str, tmp_path: Path
) -> None:
    conversation, _ = line
    route = InboundRoute(
        agent="cobranza-temprana",
        variables={"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"},
    )
    directory = InboundDirectory({AGENT_NUMBER: route}, None)
    media_app = create_media_app(
        None, signalling=signalling_router(conversation, SoftphoneExchange(), directory)
    )
    wav = tmp_path / "line.wav"
    await _fake_microphone(wav)
    assert CHROMIUM is not None
    async with App(media_app) as media:
        api_app = create_app(settings_for(database_url, "127.0.0.1:1", carrier_url=media.origin))
        async with App(api_app) as api, async_playwright() as playwright:
            browser = await _chromium(playwright, wav)
            try:
                page = await browser.new_page()
                await page.goto(f"{api.origin}/softphone?key={await api_key_for(database_url)}")
                await page.fill("#to", AGENT_NUMBER)
                await page.click("#call")
                # The greeting, the caller's line, then the agent's reply, all live.
                transcript = page.locator("#transcript li.user")
                await transcript.first.wait_for(timeout=40_000)
                await page.wait_for_function(
                    "document.querySelectorAll('#transcript li.agent').length >= 3",
                    timeout=30_000,
                )
                call_id = (await page.inner_text("#call-id")).strip()
                shown_user = await transcript.all_inner_texts()
                shown_agent = await page.locator("#transcript li.agent").all_inner_texts()
                SCREENSHOT.parent.mkdir(exist_ok=True)
                await page.screenshot(path=str(SCREENSHOT), full_page=True)
                await page.click("#hangup")
                for _ in range(100):
                    if call_id in conversation.records:
                        break
                    await asyncio.sleep(0.1)
            finally:
                await browser.close()

    record = conversation.records[call_id]
    user = [text for who, text in record.transcript if who == "user"]
    agent = [text for who, text in record.transcript if who == "agent"]
    assert user, record.transcript_text()
    assert "con ella" in user[0].lower(), user  # the Spanish line, as the agent heard it
    # The agent confirmed the identity and moved on: it thanked María after her answer.
    assert any("gracias" in text.lower() for text in agent[2:]), agent
    # The page showed the same live transcript.
    assert shown_user[0] == user[0]
    assert shown_agent[:3] == agent[:3]
    assert SCREENSHOT.stat().st_size > 10_000


SUPERVISOR_LINE = "Buenas tardes, le habla Ana, la supervisora."
CALLER_REPLY = "Sí, correcto."
SUPERVISOR_SCREENSHOT = SCREENSHOT.with_name("browser_takeover.png")


async def test_a_supervisor_watches_a_call_in_the_browser_and_takes_it_over(
    line: tuple[ConversationLine, LiveEvents], database_url: str, tmp_path: Path
) -> None:
    conversation, _ = line
    key = "browser-takeover-1"
    request = maria_calls(key, "e2e-browser-takeover")
    caller = answers_whoever_speaks_next(CALLER_REPLY)
    wav = tmp_path / "supervisor.wav"
    await _fake_microphone(wav, SUPERVISOR_LINE, quiet_s=1)
    async with MediaWorker(conversation) as media:
        api_app = create_app(settings_for(database_url, "127.0.0.1:1", carrier_url=media.origin))
        async with App(api_app) as api, async_playwright() as playwright:
            call = asyncio.create_task(conversation.converse(request, caller, datetime.now(UTC)))
            session = await after_the_first_exchange(conversation, key)
            await asyncio.sleep(1.0)
            browser = await _chromium(playwright, wav)
            try:
                page = await browser.new_page()
                await page.goto(f"{api.origin}/softphone?key={await api_key_for(database_url)}")
                await page.fill("#watch-id", key)
                await page.click("#watch")
                await page.locator("#transcript li.user").first.wait_for(timeout=20_000)
                t_join = time.monotonic()
                await page.click("#takeover")
                await page.wait_for_function(
                    "document.getElementById('status').textContent.includes('you have the call')",
                    timeout=20_000,
                )
                joined = _index(session.record, "human_joined")
                await until(
                    lambda: any(
                        e.type == "transcript" and e.payload["speaker"] == "user"
                        for e in session.record.events[joined:]
                    ),
                    40,
                )
                await page.locator("#transcript li.note", has_text="takeover").first.wait_for(
                    timeout=10_000
                )
                SUPERVISOR_SCREENSHOT.parent.mkdir(exist_ok=True)
                await page.screenshot(path=str(SUPERVISOR_SCREENSHOT), full_page=True)
                await page.click("#hangup")  # the supervisor leaves; the agent has it back
                await until(lambda: any(e.type == "handed_back" for e in session.record.events), 20)
            finally:
                await browser.close()
            session.control("end", by="test")
            await asyncio.wait_for(call, 30)

    record = conversation.records[key]
    heard_by_caller = conversation.bot_reports[key]
    assert CALLER_REPLY in heard_by_caller.lines_said  # the caller heard the browser's voice
    assert any(t > t_join for t in heard_by_caller.speech_onsets), heard_by_caller
    joined, back = _index(record, "human_joined"), _index(record, "handed_back")
    assert record.events[joined].payload["by"] == "softphone"
    during = record.events[joined:back]
    assert not [e for e in during if e.type == "transcript" and e.payload["speaker"] == "agent"]
    assert SUPERVISOR_SCREENSHOT.stat().st_size > 10_000


def _index(record: CallRecord, kind: str) -> int:
    return next(i for i, e in enumerate(record.events) if e.type == kind)
