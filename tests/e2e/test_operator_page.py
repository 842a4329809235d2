"""The operator page in headless Chromium answers a caller who asked for a person.

Real parts end to end: Debian's chromium (Playwright, `executable_path`) with a fake
microphone playing a Spanish line, the API serving `/operator` on loopback (its queue
is a stream of server-sent events), the media worker binding the Postgres human queue
(`TenantAgents`, a tenant's flow with a handoff policy stored through the API) and
publishing live events, and a bot caller over WebRTC. The operator signs in, goes
available, is rung, answers, sees who and why and the call so far, talks with the
caller, hangs up and wraps up. The test prints the decision to ring as the browser saw
it (`window.ringLog` against the handoff's `decided_at`) and saves a screenshot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, async_playwright

from api.app import create_app
from centralita.handoff import queue_store
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.conversation_line import ConversationLine
from realtime.session.call_session import CallSession
from realtime.session.record import CallRecord
from realtime.store.agent_lookup import TenantAgents
from realtime.store.live_events import LiveEvents
from tests.e2e.test_browser_softphone import CHROMIUM, _chromium, _fake_microphone
from tests.e2e.test_human_handoff import (
    OPERATOR_LINE,
    _asks_for_a_person_then_answers_the_next_voice,
    _maria,
)
from tests.support.fakes.loopback import ServedApp
from tests.support.handoffs import flow_with_handoff, store_agent
from tests.support.lines import MediaWorker, loopback_line, until
from tests.support.servers import api_key_for, bearer, settings_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(300),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make setup does)"),
]

SCREENSHOT = Path(__file__).parents[2] / ".artifacts" / "operator_page.png"
_POLICY = {
    "rules": [{"trigger": "explicit_request", "action": "transfer_now"}],
    "max_wait_s": 90,
    "hold_line_every_s": 120,
}


class Stack:
    """The line, the API's origin and a client of it with the tenant's key."""

    def __init__(self, line: ConversationLine, origin: str, api: httpx.AsyncClient, key: str):
        self.line, self.origin, self.api, self.key = line, origin, api, key


@pytest_asyncio.fixture
async def stack(pool: Pool, database_url: str) -> AsyncIterator[Stack]:
    live = LiveEvents(pool)  # the page's live transcript reads what the line publishes
    agents = TenantAgents(pool, refresh_s=0)
    try:
        async with (
            loopback_line(agent_for=agents.setup_for_call, on_event=live.publish) as line,
            MediaWorker(line) as media,
        ):
            app = create_app(settings_for(database_url, "127.0.0.1:1", carrier_url=media.origin))
            key = await api_key_for(database_url)
            async with (
                ServedApp(app) as served,
                httpx.AsyncClient(base_url=served.origin, headers=bearer(key)) as api,
            ):
                yield Stack(line, served.origin, api, key)
    finally:
        await live.close()


async def _sign_in_available(page: Page, origin: str, key: str) -> None:
    await page.goto(f"{origin}/operator?key={key}")
    await page.fill("#name", "Ana")
    await page.click("#sign-in")
    await page.wait_for_function("!document.getElementById('available').disabled")
    await page.click("#available")
    await page.wait_for_function(
        "document.getElementById('state').textContent === 'available'", timeout=10_000
    )


async def _after_the_transferring_line(line: ConversationLine, key: str) -> CallSession:
    """The session once the caller was told they are put through (a new voice then)."""
    session = line.live_session(key)
    assert session is not None
    told = next(i for i, e in enumerate(session.record.events) if e.type == "handoff")
    await until(lambda: any(e.type == "transcript" for e in session.record.events[told:]), 10)
    await until(lambda: session.agent_speaking, 10)  # "Le comunico con una ejecutiva…"
    await until(lambda: not session.agent_speaking, 20)
    await asyncio.sleep(1.0)
    return session


def _caller_words_after_joining(record: CallRecord) -> list[str]:
    joined = next(i for i, e in enumerate(record.events) if e.type == "human_joined")
    return [
        str(e.payload["text"])
        for e in record.events[joined:]
        if e.type == "transcript" and e.payload["speaker"] == "user"
    ]


async def test_an_operator_answers_a_handed_off_call_in_the_browser(
    stack: Stack, pool: Pool, tmp_path: Path
) -> None:
    line, api = stack.line, stack.api
    await store_agent(api, flow_with_handoff("cobranza-temprana", "cobranza-humana", _POLICY))
    wav = tmp_path / "operator.wav"
    await _fake_microphone(wav, OPERATOR_LINE, quiet_s=1)
    key = f"operator-page-{int(time.time())}"
    async with async_playwright() as playwright:
        browser = await _chromium(playwright, wav)
        call: asyncio.Task[object] | None = None
        try:
            page = await browser.new_page()
            await _sign_in_available(page, stack.origin, stack.key)
            call = asyncio.create_task(
                line.converse(
                    _maria(key, "cobranza-humana"),
                    _asks_for_a_person_then_answers_the_next_voice(),
                    datetime.now(UTC),
                )
            )
            await page.locator("#ringing.on").wait_for(timeout=60_000)
            ring_who = await page.inner_text("#ring-who")
            handoff_id = await page.evaluate("Object.keys(window.ringLog)[0]")
            rang_ms = await page.evaluate(f"window.ringLog[{handoff_id!r}]")

            session = await _after_the_transferring_line(line, key)
            await page.click("#answer")
            # Answered: the context panel shows and the call can be hung up.
            await page.locator("#context").wait_for(state="visible", timeout=20_000)
            await page.wait_for_function("!document.getElementById('hangup').disabled")
            shown = {field: await page.inner_text(f"#ctx-{field}") for field in ("who", "why")}
            summary = await page.locator("#summary li").all_inner_texts()
            # The caller hears Ana (the browser's microphone) and answers her.
            await until(lambda: bool(_caller_words_after_joining(session.record)), 40)
            reply = _caller_words_after_joining(session.record)[0]
            await page.locator("#transcript li.user", has_text=reply).first.wait_for(timeout=10_000)
            live = await page.locator("#transcript li").all_inner_texts()
            SCREENSHOT.parent.mkdir(exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT), full_page=True)

            await page.click("#hangup")  # the operator's call: it ends with them
            await asyncio.wait_for(call, 30)
            await page.locator("#wrap-up").wait_for(state="visible", timeout=10_000)
            await page.select_option("#disposition", "promise_to_pay")
            await page.fill("#notes", "Paga el 15")
            await page.click("#submit-wrap-up")
            await page.wait_for_function(
                "document.getElementById('status').textContent.startsWith('wrapped up')",
                timeout=10_000,
            )
            await page.wait_for_function(
                "document.getElementById('state').textContent === 'available'", timeout=10_000
            )
        finally:
            if call is not None and not call.done():
                call.cancel()
            await browser.close()

    handoff = (await api.get(f"/handoffs/{handoff_id}")).json()
    ring_ms = rang_ms - datetime.fromisoformat(handoff["decided_at"]).timestamp() * 1000
    print(f"\ndecision to ring in the browser: {ring_ms:.0f} ms")
    # The page rang with who and why, and showed the call's context once answered.
    assert "María" in ring_who, ring_who
    assert "explicit request" in ring_who, ring_who
    assert "María" in shown["who"], shown
    assert shown["why"].startswith("explicit request"), shown
    assert any("persona" in s.lower() for s in summary), summary
    assert f"user: {reply}" in live, live
    assert any(s.startswith("agent: ") for s in live), live  # the call so far, live
    # The caller heard the operator and answered; the call was the operator's.
    record = line.records[key]
    assert line.bot_reports[key].lines_said[-1] == "Sí, correcto.", line.bot_reports[key]
    assert record.ended_by == "operator"
    assert record.extracted["handed_to"] == "Ana"
    # Wrapped up with the disposition chosen on the page; Ana is free again.
    async with pool.connection() as conn:
        stored = await queue_store.get(conn, DEFAULT_TENANT_ID, handoff_id)
    assert stored is not None
    assert (stored.state, stored.disposition, stored.notes) == (
        "ended",
        "promise_to_pay",
        "Paga el 15",
    )
    assert stored.operator_name == "Ana"
    operators = (await api.get("/operators")).json()
    assert [o["status"] for o in operators if o["name"] == "Ana"] == ["available"]
    assert SCREENSHOT.stat().st_size > 10_000
