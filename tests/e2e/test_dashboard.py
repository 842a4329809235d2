"""The ops dashboard in headless Chromium, against a real API, Postgres and Temporal.

A campaign created through the API runs on the production orchestrator worker (a
simulated carrier rings its numbers); the page shows it with its progress, figures and
Temporal links, and its buttons pause, resume and cancel the real workflow (queried to
prove it). A real call through the media worker (loopback WebRTC, Whisper, espeak-ng)
shows up among the live calls with its transcript and sentiment, and the page's
controls inject a line into it and end it. Failures show in the page's banner. The test
saves screenshots to `.artifacts/dashboard.png` and `.artifacts/dashboard_live_call.png`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import (
    Browser,
    Dialog,
    Page,
    Request,
    Response,
    async_playwright,
    expect,
)
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from centralita.campaigns.messages import CampaignStatus, campaign_workflow_id
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.tenants.store import keys as tenants
from realtime.carrier.simulated import Persona, PersonaStep, SimulatedCarrier
from realtime.softphone.script import BotLine, BotScript
from realtime.store.live_events import LiveEvents
from tests.support.campaigns import ALWAYS_OPEN
from tests.support.fakes.loopback import LoopbackServer
from tests.support.lines import MediaWorker, loopback_line, maria_calls, until
from tests.support.servers import orchestrator_worker, settings_for, task_queue
from workflows.campaign import CampaignWorkflow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

ARTIFACTS = Path(__file__).parents[2] / ".artifacts"
SCREENSHOT = ARTIFACTS / "dashboard.png"
LIVE_SCREENSHOT = ARTIFACTS / "dashboard_live_call.png"
LAPTOP = {"width": 1366, "height": 900}

# Markup in a campaign name must show as text, never run.
NAME = 'Cobranza <img src=x onerror="window.__pwned=1"> octubre'


def _persona(number: str, outcome: CallOutcome, ring: float) -> Persona:
    return Persona(
        number=number, name=number, script=[PersonaStep(outcome=outcome, ring_seconds=ring)]
    )


# Real ringing times and 1 s retries: a running campaign keeps dialling, a paused one stops.
PERSONAS = [
    _persona("+56962000001", CallOutcome.NO_ANSWER, 0.3),
    _persona("+56962000002", CallOutcome.NO_ANSWER, 0.3),
    _persona("+56962000003", CallOutcome.BUSY, 0.2),
    _persona("+56962000004", CallOutcome.PROMISE_TO_PAY, 0.2),
]
KEEP_CALLING: dict[str, Any] = {
    **ALWAYS_OPEN,
    "caps": {"max_attempts": 200, "calls_per_day": 200, "no_answer_days_to_exclude": 3},
    "retry": {"no_answer_seconds": 1, "busy_seconds": 1, "failure_seconds": 1},
    "concurrency": 2,
}


class App(LoopbackServer):
    """The API served by uvicorn on loopback, as a browser needs it."""

    def __init__(self, app: object) -> None:
        super().__init__()
        self.app = app  # type: ignore[assignment]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make setup does)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        await chromium.close()


@pytest.fixture(scope="module")
async def queue(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[str]:
    name = task_queue()
    async with orchestrator_worker(dev_env.client, name, pool, SimulatedCarrier(PERSONAS)):
        yield name


@pytest.fixture(scope="module")
async def api_key(pool: Pool) -> str:
    """A key of the default tenant, for the page's `?key=` or its key field."""
    async with pool.connection() as conn:
        created = await tenants.create_key(conn, DEFAULT_TENANT_ID, "dashboard e2e")
    return created.key


async def _open(browser: Browser, url: str) -> tuple[Page, list[str]]:
    """A laptop-sized page at `url`; the list collects what went wrong in it: script
    errors, and answers of 400 and above (method, status, path)."""
    page = await browser.new_page(viewport=LAPTOP)  # type: ignore[arg-type]
    trouble: list[str] = []
    page.on("pageerror", lambda error: trouble.append(f"script: {error}"))
    page.on("response", lambda response: _note_failure(response, trouble))
    await page.goto(url)
    return page, trouble


def _note_failure(response: Response, trouble: list[str]) -> None:
    if response.status >= 400:
        path = urlsplit(response.url).path
        trouble.append(f"{response.request.method} {response.status} {path}")


def _record_key(request: Request, sent: list[str | None]) -> None:
    """Note the Authorization header of each request to the campaign routes."""
    if "/campaigns" in request.url:
        sent.append(request.headers.get("authorization"))


def _accept(dialog: Dialog) -> Awaitable[None]:
    return dialog.accept()


async def _dialled(pool: Pool, campaign_id: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) AS n FROM call_attempts "
            "WHERE campaign_id = %s AND status <> 'skipped'",
            (campaign_id,),
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


async def _dialled_more_than(pool: Pool, campaign_id: str, count: int) -> None:
    """Wait until the campaign dialled more than `count` attempts."""
    deadline = asyncio.get_running_loop().time() + 15.0
    while await _dialled(pool, campaign_id) <= count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"campaign {campaign_id} dialled no more than {count}")
        await asyncio.sleep(0.1)


async def test_a_campaign_is_watched_paused_resumed_and_cancelled_from_the_dashboard(
    browser: Browser,
    dev_env: WorkflowEnvironment,
    queue: str,
    database_url: str,
    pool: Pool,
    api_key: str,
) -> None:
    address = dev_env.client.service_client.config.target_host
    settings = settings_for(database_url, address, task_queue=queue)
    auth = {"Authorization": f"Bearer {api_key}"}
    async with App(create_app(settings, temporal_client=dev_env.client)) as api:
        async with httpx.AsyncClient(base_url=api.origin, headers=auth) as http:
            created = await http.post(
                "/campaigns",
                json={
                    "name": NAME,
                    "policy": KEEP_CALLING,
                    "contacts": [
                        {"name": f"c{i}", "phone": p.number} for i, p in enumerate(PERSONAS)
                    ],
                },
            )
        assert created.status_code == 201, created.text
        campaign_id = created.json()["campaign"]["id"]
        await _dialled_more_than(pool, campaign_id, len(PERSONAS) - 1)
        workflow = dev_env.client.get_workflow_handle_for(
            CampaignWorkflow.run, campaign_workflow_id(campaign_id)
        )

        page, errors = await _open(browser, f"{api.origin}/dashboard?key={api_key}")
        sent: list[str | None] = []
        page.on(
            "request",
            lambda r: (
                sent.append(r.headers.get("authorization")) if "/campaigns" in r.url else None
            ),
        )
        row = page.locator(f'#campaigns tr[data-campaign-id="{campaign_id}"]')
        status = row.locator('[data-field="status"]')
        await expect(status).to_have_text("running", timeout=10_000)

        # The key came from the address: kept in the browser, gone from the address bar.
        assert "key=" not in page.url
        stored = await page.evaluate("localStorage.getItem('centralita.apiKey')")
        assert stored == api_key
        # The name is text: no element was made of it and its handler never ran.
        await expect(row.locator(".name")).to_have_text(NAME)
        assert await page.locator("#campaigns img").count() == 0
        assert await page.evaluate("window.__pwned") is None

        # Progress, figures, charts and Temporal links of the campaign and its attempts.
        await expect(row.locator('[data-field="progress"]')).to_contain_text(
            f"of {len(PERSONAS)} settled"
        )
        temporal = await row.locator("a.temporal").get_attribute("href")
        assert temporal == f"{settings.temporal_ui_namespace_url}/workflows/campaign-{campaign_id}"
        await expect(page.locator("#detail-name")).to_have_text(NAME)
        await expect(page.locator("#chart-outcomes svg")).to_contain_text("no answer")
        await expect(page.locator("#chart-hours svg rect.bar").first).to_be_attached()
        first_attempt = page.locator("#attempts tbody tr a.temporal").first
        attempt_link = await first_attempt.get_attribute("href")
        assert attempt_link is not None
        assert f"/workflows/campaign-{campaign_id}-contact-" in attempt_link
        assert "-attempt-" in attempt_link

        # Pause: the page shows it and the workflow really stopped dialling.
        await row.locator('button[data-action="pause"]').click()
        await expect(status).to_have_text("paused", timeout=10_000)
        assert (await workflow.query(CampaignWorkflow.progress)).status == CampaignStatus.PAUSED
        await expect(row.locator('button[data-action="pause"]')).to_be_disabled()
        await asyncio.sleep(1.0)  # calls in flight finish
        paused_at = await _dialled(pool, campaign_id)
        await asyncio.sleep(2.5)  # retries are 1 s apart: a running campaign would dial more
        assert await _dialled(pool, campaign_id) == paused_at

        # Resume: running again, and dialling again.
        await row.locator('button[data-action="resume"]').click()
        await expect(status).to_have_text("running", timeout=10_000)
        assert (await workflow.query(CampaignWorkflow.progress)).status == CampaignStatus.RUNNING
        await _dialled_more_than(pool, campaign_id, paused_at)
        await page.click("#refresh")
        await expect(page.locator("#banner")).to_be_hidden()
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOT), full_page=True)

        # Cancel (after the page's confirmation): the workflow ends.
        page.once("dialog", _accept)
        await row.locator('button[data-action="cancel"]').click()
        await expect(status).to_have_text("cancelled", timeout=10_000)
        result = await asyncio.wait_for(workflow.result(), 20)
        assert result.status == CampaignStatus.CANCELLED
        for action in ("pause", "resume", "cancel"):
            await expect(row.locator(f'button[data-action="{action}"]')).to_be_disabled()
        await page.close()

    # Every request the page made to the campaign routes carried the key.
    assert sent
    assert set(sent) == {f"Bearer {api_key}"}
    assert errors == []
    assert SCREENSHOT.stat().st_size > 20_000


async def _unstarted_campaign(origin: str, api_key: str, name: str) -> str:
    """A campaign created through the API at `origin`, its workflow not started."""
    async with httpx.AsyncClient(
        base_url=origin, headers={"Authorization": f"Bearer {api_key}"}
    ) as http:
        created = await http.post(
            "/campaigns",
            json={
                "name": name,
                "start": False,
                "policy": KEEP_CALLING,
                "contacts": [{"name": "c", "phone": "+56962000009"}],
            },
        )
    assert created.status_code == 201, created.text
    return str(created.json()["campaign"]["id"])


async def test_a_failed_control_shows_in_the_banner(
    browser: Browser, database_url: str, api_key: str
) -> None:
    # Temporal is unreachable from this API: starting a campaign answers 503.
    settings = settings_for(database_url, "127.0.0.1:1")
    async with App(create_app(settings)) as api:
        campaign_id = await _unstarted_campaign(api.origin, api_key, "not started")
        page, errors = await _open(browser, f"{api.origin}/dashboard?key={api_key}")
        row = page.locator(f'#campaigns tr[data-campaign-id="{campaign_id}"]')
        await expect(row.locator('[data-field="status"]')).to_have_text("created")
        await row.locator('button[data-action="start"]').click()
        banner = page.locator("#banner")
        await expect(banner).to_be_visible(timeout=15_000)
        await expect(banner).to_contain_text("Start not started")
        await expect(banner).to_contain_text("503")
        await expect(banner).to_contain_text("unreachable")
        await expect(row.locator('button[data-action="start"]')).to_be_enabled()  # try again
        await page.close()
    assert errors == [f"POST 503 /campaigns/{campaign_id}/start"]


async def test_without_a_key_the_page_asks_for_one_and_takes_it_from_its_field(
    browser: Browser, database_url: str, api_key: str
) -> None:
    settings = settings_for(database_url, "127.0.0.1:1")
    async with App(create_app(settings)) as api:
        campaign_id = await _unstarted_campaign(api.origin, api_key, "seen with a key")
        page, errors = await _open(browser, f"{api.origin}/dashboard")
        row = page.locator(f'#campaigns tr[data-campaign-id="{campaign_id}"]')
        banner = page.locator("#banner")
        # One line for the key, not one per panel; the key field is pointed out.
        await expect(banner.locator(".problem")).to_have_count(1, timeout=10_000)
        await expect(banner).to_contain_text("401")
        await expect(banner).to_contain_text("Paste a key")
        await expect(page.locator("#api-key")).to_have_class("wanted")
        assert await page.locator("#campaigns tbody tr").count() == 0

        await page.fill("#api-key", api_key)
        await page.click('#key-form button[type="submit"]')
        await expect(banner).to_be_hidden(timeout=10_000)
        await expect(row).to_be_attached()
        await expect(page.locator("#api-key")).not_to_have_class("wanted")
        assert await page.evaluate("localStorage.getItem('centralita.apiKey')") == api_key
        await page.reload()  # kept in the browser: no key in the address needed
        await expect(row).to_be_attached()
        await expect(banner).to_be_hidden()

        await page.click("#forget-key")
        assert await page.evaluate("localStorage.getItem('centralita.apiKey')") is None
        await page.close()
    # Only the requests sent before the key was given were refused.
    assert errors
    assert all(" 401 " in e for e in errors), errors


CALL_KEY = "dashboard-call-1"
INJECTED = "Le recuerdo que puede pagar en línea."


async def test_a_live_call_is_watched_injected_into_and_ended_from_the_dashboard(
    browser: Browser, database_url: str, pool: Pool, api_key: str
) -> None:
    live = LiveEvents(pool)
    caller = BotScript(lines=[BotLine(say="Sí, con ella habla."), BotLine(silent_s=90)])
    async with loopback_line(on_event=live.publish) as line, MediaWorker(line) as media:
        settings = settings_for(database_url, "127.0.0.1:1", carrier_url=media.origin)
        async with App(create_app(settings)) as api:
            call = asyncio.create_task(
                line.converse(maria_calls(CALL_KEY, "e2e-dashboard"), caller, datetime.now(UTC))
            )
            try:
                page, errors = await _open(browser, f"{api.origin}/dashboard?key={api_key}")
                item = page.locator(f'#live-calls li[data-call-key="{CALL_KEY}"]')
                await item.locator("button.watch").click(timeout=30_000)
                transcript = page.locator("#transcript")
                # The caller's line as the agent heard it, with its sentiment, live.
                await expect(transcript.locator("li.user").first).to_contain_text(
                    "con ella", ignore_case=True, timeout=40_000
                )
                await expect(page.locator("#sentiment-now")).not_to_have_text("–")
                await expect(page.locator("#sentiment-trend svg")).to_be_attached()

                session = line.live_session(CALL_KEY)
                assert session is not None
                await until(lambda: not session.agent_speaking, 30)
                await page.fill("#inject-text", INJECTED)
                await page.click("#inject")
                await expect(
                    transcript.locator("li.note", has_text="dashboard: say")
                ).to_be_visible(timeout=10_000)
                await expect(transcript.locator("li.agent", has_text=INJECTED)).to_be_visible(
                    timeout=20_000
                )
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(LIVE_SCREENSHOT), full_page=True)

                page.once("dialog", _accept)
                await page.click('.call-control[data-action="end"]')
                await expect(page.locator("#call-state")).to_have_text("ended", timeout=20_000)
                await expect(transcript.locator("li.note", has_text="call ended")).to_be_visible()
                await expect(page.locator('.call-control[data-action="mute"]')).to_be_disabled()
                await asyncio.wait_for(call, 30)
                await expect(item).to_have_count(0, timeout=10_000)  # no longer live
                await page.close()
            finally:
                if not call.done():  # a failure above: hang up rather than hold the line
                    call.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await call
                await live.close()

    record = line.records[CALL_KEY]
    agent = [text for who, text in record.transcript if who == "agent"]
    assert INJECTED in agent
    controls = [e.payload for e in record.events if e.type == "control"]
    assert [(c["action"], c["by"]) for c in controls] == [
        ("say", "dashboard"),
        ("end", "dashboard"),
    ]
    assert errors == []
    assert LIVE_SCREENSHOT.stat().st_size > 20_000


async def test_the_page_and_its_modules_are_served_from_the_api_alone(database_url: str) -> None:
    # A UI address with markup in it stays an attribute value.
    ui = 'http://temporal.example:8080/"><script>alert(1)</script>'
    app = create_app(settings_for(database_url, "127.0.0.1:1", temporal_ui_base_url=ui))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        page = await http.get("/dashboard")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<script>alert(1)" not in page.text
        assert 'content="http://temporal.example:8080/&quot;&gt;&lt;script&gt;' in page.text
        # Everything the page loads comes from /dashboard/assets/, and every module it
        # imports too (no CDN, nothing missing).
        # (What it loads: scripts and stylesheets; a link to another page is not loaded.)
        loaded = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', page.text)
        assert loaded
        assert all(url.startswith("/dashboard/assets/") for url in loaded), loaded
        pending, seen = [url.rsplit("/", 1)[1] for url in loaded], set()
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            asset = await http.get(f"/dashboard/assets/{name}")
            assert asset.status_code == 200, name
            kind = "text/javascript" if name.endswith(".js") else "text/css"
            assert asset.headers["content-type"].startswith(kind)
            imports = re.findall(r'from\s+"([^"]+)"', asset.text)
            assert all(i.startswith("./") for i in imports), (name, imports)
            pending += [i[2:] for i in imports]
        assert {"main.js", "api.js", "calls.js", "campaigns.js", "charts.js"} <= seen
        # Nothing but the assets can be named.
        for bad in ("../dashboard.html", "..%2Fsoftphone.html", "main.js.map", "nope.js", "x.py"):
            assert (await http.get(f"/dashboard/assets/{bad}")).status_code == 404, bad
