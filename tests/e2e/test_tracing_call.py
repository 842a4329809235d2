"""One call, one trace: from the API request that creates the campaign to its webhooks.

Everything the production processes run, in this process, each over its real transport:
the API app (FastAPI, instrumented) starts the campaign on the real Temporal dev server;
the production orchestrator worker runs the campaign and the attempt and its dial
activity posts the call over HTTP (W3C `traceparent`) to the media worker's real app on
loopback, whose simulated carrier rings María's persona: a bot softphone holding a real
WebRTC conversation with the agent (faster-whisper, espeak-ng, the shipped flow). The
post-call worker analyses the call and the webhooks worker (outbox dispatcher and
delivery workflows) delivers its events to a receiver on 127.0.0.1.

Spans are read back from an in-memory exporter on the process's tracer provider, after
the masking every exporter gets. The test asserts the parent/child chain span by span,
that webhook attempts link back into it, and that no phone number or RUT appears in any
exported span, captured log record or the attempt's Temporal memo.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from temporalio.testing import WorkflowEnvironment

from centralita.campaigns.messages import campaign_workflow_id
from centralita.kernel.db import Pool, open_pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.logs import masking_installed
from centralita.kernel.telemetry import instrument_database
from realtime.carrier.dial_store import DialStore
from realtime.carrier.http_dialer import HttpDialer
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.whisper import WhisperSTT
from realtime.server.app import create_media_app
from tests.support.fakes.loopback import LoopbackServer
from tests.support.servers import AppClients, orchestrator_worker, settings_for, task_queue
from tests.support.stack import SMALL_CAMPAIGN_POLICY
from tests.support.tracing import captured_spans, texts_of
from tests.support.webhooks import WebhookReceiver, delivering, subscribe
from workers.media import media_parts
from workers.post_call import build_post_call_worker
from workflows.post_call import post_call_workflow_id

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# María, in the packaged demo personas: her bot answers and promises to pay.
PHONE = "+56961234567"
RUT = "12.345.678-5"
# Every written form either may take in telemetry (a URL encodes the '+').
PERSONAL = (PHONE, "%2B56961234567", "961234567", RUT, "12345678")
WEBHOOK_EVENTS = ("call_started", "call_ended", "call_analyzed")


class _MediaWorker(LoopbackServer):
    def __init__(self, app: FastAPI) -> None:
        super().__init__()
        self.app = app


@pytest.fixture
async def traced_pool(database_url: str) -> AsyncIterator[Pool]:
    """A pool whose connections trace their statements, as every process's do.

    `setup_tracing` instruments psycopg before a process opens its pool; connections
    made before that (the module's shared pool) are not traced.
    """
    instrument_database()
    pool = await open_pool(database_url, min_size=1, max_size=8)
    await pool.wait(timeout=10)
    yield pool
    await pool.close()


async def test_a_call_is_one_trace_from_the_campaign_request_to_its_webhooks(
    dev_env: WorkflowEnvironment,
    traced_pool: Pool,
    database_url: str,
    app_clients: AppClients,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = traced_pool
    orchestrator_queue, post_call_queue = task_queue(), task_queue()
    settings = settings_for(
        database_url,
        dev_env.client.service_client.config.target_host,
        task_queue=orchestrator_queue,
        post_call=True,
        post_call_task_queue=post_call_queue,
        record_calls=False,
    )
    receiver = WebhookReceiver()
    with captured_spans() as exported, masking_installed():
        caplog.set_level(logging.INFO)
        parts = media_parts(settings, pool, stt=WhisperSTT())
        media = _MediaWorker(
            create_media_app(parts.dialer, signalling=parts.signalling, dial_store=DialStore(pool))
        )
        try:
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(receiver)
                await subscribe(pool, DEFAULT_TENANT_ID, receiver.url, events=[*WEBHOOK_EVENTS])
                await stack.enter_async_context(delivering(dev_env.client, pool, database_url))
                await stack.enter_async_context(media)
                dialer = HttpDialer(media.origin, poll_interval=0.05)
                stack.push_async_callback(dialer.aclose)
                await stack.enter_async_context(
                    orchestrator_worker(dev_env.client, orchestrator_queue, pool, dialer)
                )
                await stack.enter_async_context(
                    build_post_call_worker(
                        dev_env.client,
                        post_call_queue,
                        pool,
                        stt=WhisperSTT(),
                        retranscribe="never",
                    )
                )
                api = await app_clients.open(settings, dev_env.client)
                facts = await _run_campaign(api, dev_env, pool)
                await receiver.wait_for(len(WEBHOOK_EVENTS), timeout_s=60)
                # A route that names the number in its path: its span must show it masked.
                lifted = await api.delete("/opt-outs/%2B56961234567")
                assert lifted.status_code == 404, lifted.text
                memo = await dev_env.client.get_workflow_handle(facts["key"]).describe()
                facts["memo"] = await memo.memo()
                facts["search_attributes"] = memo.typed_search_attributes
        finally:
            if parts.live is not None:
                await parts.live.close()
            restrict_ice_to_loopback(False)
        spans = list(exported.get_finished_spans())

    chain = _assert_chain(spans, facts)
    in_trace = [s for s in spans if s.context.trace_id == chain["api"].context.trace_id]
    print(  # a figure for the README: what one call's trace weighs
        f"\none call's trace: {len(in_trace)} spans "
        f"({sum(1 for s in in_trace if _attr(s, 'db.system'))} SQL, "
        f"{sum(1 for s in in_trace if s.name == 'turn')} turns); {len(spans)} spans in all"
    )
    _assert_webhook_attempts_link_back(spans, chain)
    _assert_nothing_personal(spans, caplog.records, facts)
    await _assert_receivers_never_see_the_trace(pool, receiver, facts["key"])


async def _run_campaign(api: Any, dev_env: WorkflowEnvironment, pool: Pool) -> dict[str, Any]:
    """Create the campaign through the API; wait for it, its call and its analysis."""
    created = await api.post(
        "/campaigns",
        json={
            "name": f"traced {uuid.uuid4().hex[:6]}",
            "policy": {**SMALL_CAMPAIGN_POLICY, "concurrency": 1},
            "contacts": [
                {
                    "name": "María",
                    "phone": PHONE,
                    "external_id": RUT,
                    "variables": {"monto_total": 200000, "fecha_limite": "2026-12-15", "rut": RUT},
                }
            ],
        },
    )
    assert created.status_code == 201, created.text
    campaign_id = created.json()["campaign"]["id"]
    campaign = dev_env.client.get_workflow_handle(campaign_workflow_id(campaign_id))
    await asyncio.wait_for(campaign.result(), 240)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT attempt_key, outcome FROM call_attempts WHERE campaign_id = %s::uuid",
            (campaign_id,),
        )
        [attempt] = await cur.fetchall()
    assert attempt["outcome"] is not None, attempt  # the call was held and stored
    key = str(attempt["attempt_key"])
    post_call = dev_env.client.get_workflow_handle(post_call_workflow_id(key))
    await asyncio.wait_for(post_call.result(), 120)
    return {"campaign_id": campaign_id, "key": key, "outcome": attempt["outcome"]}


# -- the chain -----------------------------------------------------------------------------


def _children(spans: Iterable[ReadableSpan], parent: ReadableSpan, name: str) -> list[ReadableSpan]:
    assert parent.context is not None
    return [
        s
        for s in spans
        if s.name == name and s.parent is not None and s.parent.span_id == parent.context.span_id
    ]


def _child(
    spans: list[ReadableSpan], parent: ReadableSpan, name: str, kind: SpanKind | None = None
) -> ReadableSpan:
    found = [s for s in _children(spans, parent, name) if kind is None or s.kind is kind]
    names = sorted(
        {s.name for s in spans if s.parent and s.parent.span_id == parent.context.span_id}
    )
    assert len(found) == 1, f"{name!r} under {parent.name!r}: {len(found)} (children: {names})"
    return found[0]


def _attr(span: ReadableSpan, key: str) -> Any:
    assert span.attributes is not None
    return span.attributes.get(key)


def _assert_chain(spans: list[ReadableSpan], facts: dict[str, Any]) -> dict[str, ReadableSpan]:
    """Each span of the lifecycle under the one before it; all of one trace."""
    key, campaign_id = facts["key"], facts["campaign_id"]
    [api] = [s for s in spans if s.name == "POST /campaigns" and s.kind is SpanKind.SERVER]
    assert api.parent is None  # the trace begins with the request
    chain = {"api": api}
    chain["start_campaign"] = _child(spans, api, "StartWorkflow:CampaignWorkflow")
    chain["campaign"] = _child(spans, chain["start_campaign"], "RunWorkflow:CampaignWorkflow")
    chain["start_attempt"] = _child(
        spans, chain["campaign"], "StartChildWorkflow:CallAttemptWorkflow"
    )
    chain["attempt"] = _child(spans, chain["start_attempt"], "RunWorkflow:CallAttemptWorkflow")
    chain["start_dial"] = _child(spans, chain["attempt"], "StartActivity:place_call")
    chain["dial"] = _child(spans, chain["start_dial"], "RunActivity:place_call")
    assert _attr(chain["dial"], "centralita.call_key") == key
    assert _attr(chain["dial"], "centralita.campaign_id") == campaign_id
    chain["carrier_request"] = _child(spans, chain["dial"], "POST /carrier/calls", SpanKind.CLIENT)
    chain["carrier"] = _child(
        spans, chain["carrier_request"], "POST /carrier/calls", SpanKind.SERVER
    )
    chain["call"] = _child(spans, chain["carrier"], "call")
    assert _attr(chain["call"], "centralita.call_key") == key
    assert _attr(chain["call"], "centralita.campaign_id") == campaign_id
    assert _attr(chain["call"], "centralita.call.outcome") == facts["outcome"]

    turns = _children(spans, chain["call"], "turn")
    assert turns, "no turn spans under the call"
    assert sorted({_attr(t, "centralita.turn_index") for t in turns}) == list(
        range(_attr(chain["call"], "centralita.call.turns"))
    )
    answered = [t for t in turns if all(_children(spans, t, s) for s in ("stt", "brain", "tts"))]
    assert answered, "no turn with its stt, brain and tts spans"
    for turn in answered:
        for stage, figure in (
            ("stt", "stt_ms"),
            ("brain", "brain_ms"),
            ("tts", "tts_first_audio_ms"),
        ):
            [span] = _children(spans, turn, stage)
            latency = _attr(span, "centralita.latency_ms")
            assert latency is not None, (stage, span.attributes)
            assert latency >= 0
            assert latency == _attr(turn, f"centralita.turn.{figure}")
        assert _attr(turn, "centralita.turn.voice_to_voice_ms") is not None

    chain["start_post_call"] = _child(
        spans, chain["attempt"], "StartChildWorkflow:PostCallWorkflow"
    )
    chain["post_call"] = _child(spans, chain["start_post_call"], "RunWorkflow:PostCallWorkflow")
    chain["announce"] = _child(
        spans, _child(spans, chain["post_call"], "StartActivity:announce"), "RunActivity:announce"
    )

    trace_id = api.context.trace_id
    members = [*chain.values(), *turns]
    members += [s for t in turns for n in ("stt", "brain", "tts") for s in _children(spans, t, n)]
    assert {s.context.trace_id for s in members} == {trace_id}
    # The call was stored inside its span: the SQL is there, its values are not.
    stored = [
        s
        for s in spans
        if s.context.trace_id == trace_id
        and str(_attr(s, "db.statement") or "").startswith("INSERT INTO calls ")
    ]
    assert stored, "the call's INSERT is not in its trace"
    assert "%s" in str(_attr(stored[0], "db.statement"))
    return chain


def _assert_webhook_attempts_link_back(
    spans: list[ReadableSpan], chain: dict[str, ReadableSpan]
) -> None:
    """Each delivery attempt links to the span that recorded its event, in the call's
    trace, while running in its delivery workflow's own trace (linked, not parented)."""
    attempts = {
        _attr(s, "centralita.event_type"): s
        for s in spans
        if s.name == "POST" and s.kind is SpanKind.CLIENT
    }
    assert set(attempts) == set(WEBHOOK_EVENTS)
    recorded_by = {
        "call_started": chain["call"],
        "call_ended": chain["call"],
        "call_analyzed": chain["announce"],
    }
    for event, attempt in attempts.items():
        assert _attr(attempt, "http.response.status_code") == 200
        assert _attr(attempt, "centralita.call_key") == _attr(chain["call"], "centralita.call_key")
        [link] = attempt.links
        producer = recorded_by[event]
        assert (link.context.trace_id, link.context.span_id) == (
            producer.context.trace_id,
            producer.context.span_id,
        ), event
        assert attempt.context.trace_id != producer.context.trace_id


def _assert_nothing_personal(
    spans: list[ReadableSpan], records: list[logging.LogRecord], facts: dict[str, Any]
) -> None:
    texts = list(texts_of(spans))
    assert [t for t in texts if any(p in t for p in PERSONAL)] == []
    # The opt-out route's span did carry the number, masked: the scan above can fail.
    assert any("/opt-outs/" in t and "56*****4567" in t for t in texts), "no masked path"
    assert not [s for s in spans for k in (s.attributes or {}) if "parameters" in k]
    logged = [r.getMessage() for r in records] + [r.exc_text for r in records if r.exc_text]
    assert logged, "no log record captured"
    assert [line for line in logged if any(p in line for p in PERSONAL)] == []
    assert facts["memo"] == {"phone": "+56*****4567"}
    assert not [p for p in PERSONAL if p in str(facts["search_attributes"])]


async def _assert_receivers_never_see_the_trace(
    pool: Pool, receiver: WebhookReceiver, key: str
) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT type, payload FROM domain_events WHERE payload->>'call_key' = %s", (key,)
        )
        stored = {r["type"]: r["payload"] for r in await cur.fetchall()}
    assert all("traceparent" in stored[event]["_trace"] for event in WEBHOOK_EVENTS)
    for request in receiver.unique:
        assert "_trace" not in request.event["data"]
        assert request.event["data"]["call_key"] == key
