"""An inbound call's trace: the softphone's offer, the call, and the post-call it starts.

No workflow stands behind an inbound call, so the media worker starts its post-call
workflow itself (`workers.post_call_starter`) once the call is stored. That start runs
inside the call's span, so the post-call workflow, on the real Temporal dev server with
the production post-call worker, continues the call's trace. The caller is a bot
softphone that reaches the media worker's real app only over HTTP signalling and
loopback WebRTC, as an external phone would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from temporalio.testing import WorkflowEnvironment

from centralita.kernel.db import Pool, open_pool
from centralita.kernel.logs import masking_installed
from centralita.kernel.telemetry import instrument_database
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.server.app import create_media_app
from realtime.softphone.http_client import HttpSoftphone
from realtime.softphone.script import BotLine, BotScript
from tests.support.servers import serving, settings_for, task_queue
from tests.support.tracing import captured_spans, texts_of
from workers.media import media_parts
from workers.post_call import build_post_call_worker
from workflows.post_call import post_call_workflow_id

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

AGENT_NUMBER = "+56229990000"
CALLER = "+56961110000"
PERSONAL = (AGENT_NUMBER, CALLER, "229990000", "961110000")
DEBTOR = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}


@pytest.fixture
async def traced_pool(database_url: str) -> AsyncIterator[Pool]:
    """A pool opened after psycopg is instrumented, as a process opens its own."""
    instrument_database()
    pool = await open_pool(database_url, min_size=1, max_size=4)
    await pool.wait(timeout=10)
    yield pool
    await pool.close()


async def test_an_inbound_calls_post_call_workflow_continues_the_calls_trace(
    dev_env: WorkflowEnvironment,
    traced_pool: Pool,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    post_call_queue = task_queue()
    settings = settings_for(
        database_url,
        dev_env.client.service_client.config.target_host,
        post_call=True,
        post_call_task_queue=post_call_queue,
        record_calls=False,
        inbound_numbers={AGENT_NUMBER: {"agent": "cobranza-temprana", "variables": DEBTOR}},
    )
    with captured_spans() as exported, masking_installed():
        caplog.set_level(logging.INFO)
        parts = media_parts(settings, traced_pool, stt=WhisperSTT())
        app = create_media_app(parts.dialer, signalling=parts.signalling)
        try:
            async with (
                build_post_call_worker(
                    dev_env.client,
                    post_call_queue,
                    traced_pool,
                    stt=WhisperSTT(),
                    retranscribe="never",
                ),
                serving(app) as url,
                httpx.AsyncClient(timeout=10) as http,
            ):
                phone = HttpSoftphone(url, CALLER, EspeakTTS(speed_wpm=140), http=http)
                script = BotScript(lines=[BotLine(say="No, no soy esa persona.")])
                call = await phone.call(AGENT_NUMBER, script)
                await _ended(http, f"{url}/calls/{call.call_id}")
                post_call = dev_env.client.get_workflow_handle(post_call_workflow_id(call.call_id))
                await asyncio.wait_for(post_call.result(), 120)
        finally:
            if parts.live is not None:
                await parts.live.close()
            restrict_ice_to_loopback(False)
        spans = list(exported.get_finished_spans())

    [offer] = [s for s in spans if s.name == "POST /calls/inbound" and s.kind is SpanKind.SERVER]
    call_span = _child(spans, offer, "call")
    assert _attr(call_span, "centralita.call_key") == call.call_id
    assert _attr(call_span, "centralita.call.direction") == "inbound"
    assert _attr(call_span, "centralita.campaign_id") is None  # no campaign behind it
    start = _child(spans, call_span, "StartWorkflow:PostCallWorkflow")
    run = _child(spans, start, "RunWorkflow:PostCallWorkflow")
    assert _child(spans, run, "StartActivity:find_call")
    assert {s.context.trace_id for s in (offer, call_span, start, run)} == {offer.context.trace_id}

    texts = list(texts_of(spans))
    assert [t for t in texts if any(p in t for p in PERSONAL)] == []
    logged = [r.getMessage() for r in caplog.records]
    assert any("answered" in line and "+56*****0000" in line for line in logged), logged[:20]
    assert [line for line in logged if any(p in line for p in PERSONAL)] == []


def _child(spans: list[ReadableSpan], parent: ReadableSpan, name: str) -> ReadableSpan:
    found = [
        s
        for s in spans
        if s.name == name and s.parent is not None and s.parent.span_id == parent.context.span_id
    ]
    assert len(found) == 1, f"{name!r} under {parent.name!r}: {len(found)}"
    return found[0]


def _attr(span: ReadableSpan, key: str) -> Any:
    assert span.attributes is not None
    return span.attributes.get(key)


async def _ended(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            status: dict[str, Any] = (await http.get(url)).json()
            if status["state"] == "ended":
                return status
            await asyncio.sleep(0.2)
