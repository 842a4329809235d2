"""Stored conversations and campaign latency, on the real app and Postgres.

Calls are stored the way the media worker stores them (`realtime.store.calls.save_call`)
from hand-built records; every expected figure is computed here from those records.
These routes read only Postgres, so the app gets no Temporal (it connects lazily).
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from centralita.kernel.call_events import CallEventType
from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.session.record import CallEvent, CallRecord, TurnMetrics
from realtime.store.calls import save_call
from tests.support.servers import AppClients, free_port, settings_for

pytestmark = pytest.mark.integration

OTHER_TENANT_ID = "00000000-0000-0000-0000-0000000000aa"
AGENT = "cobranza-temprana"
STARTED = datetime(2025, 3, 3, 13, 0, tzinfo=UTC)


def _turn(
    index: int,
    v2v: float | None,
    parts: tuple[float | None, float | None, float | None, float | None],
    *,
    interrupted: bool = False,
) -> TurnMetrics:
    endpointing, stt, brain, tts = parts
    return TurnMetrics(
        index=index,
        user_text=f"usuario {index}",
        agent_text=f"agente {index}",
        endpointing_ms=endpointing,
        stt_ms=stt,
        brain_ms=brain,
        tts_first_audio_ms=tts,
        voice_to_voice_ms=v2v,
        sentiment=0.25 * (index % 3) - 0.25,
        interrupted=interrupted,
    )


# Turns are listed out of index order, events out of seq order: the API must sort them.
MARIA_TURNS = [
    _turn(2, 1170.0, (300.0, 420.5, 12.0, 180.0)),
    _turn(0, 820.5, (280.0, 390.0, 8.5, 150.0)),
    _turn(1, 1600.25, (310.0, 610.0, 15.0, 240.0), interrupted=True),
    _turn(3, 990.0, (295.0, 402.0, 9.0, 170.0)),
]
# Stored as they come: the API answers a stored payload as it is, whatever its fields.
MARIA_EVENTS = [
    CallEvent(2, CallEventType.TOOL_CALL, {"name": "registrar_promesa", "success": True}, 4.5),
    CallEvent(0, CallEventType.CALL_STARTED, {"agent": AGENT}, 0.0),
    CallEvent(3, CallEventType.CALL_ENDED, {"by": "agent"}, 9.25),
    CallEvent(1, CallEventType.INTERRUPTION, {"turn": 1}, 3.0),
]
# Unmeasured parts (a reply cut before its first frame, a turn with no brain time) are
# NULL and must be left out of their percentile, not counted as zero.
JUAN_TURNS = [
    _turn(0, 705.0, (250.0, 350.0, None, 140.0)),
    _turn(1, None, (260.0, None, 11.0, None), interrupted=True),
    _turn(2, 1333.3, (330.0, 480.0, 14.0, 200.0)),
    _turn(3, 2210.0, (None, 700.0, 30.0, 260.0), interrupted=True),
]
# Another campaign's much slower turns must not leak into the first one's figures.
OTHER_CAMPAIGN_TURNS = [_turn(0, 9000.0, (900.0, 900.0, 900.0, 900.0))]


@dataclass(frozen=True)
class StoredCall:
    attempt_key: str
    attempt_id: str
    campaign_id: str
    contact_id: str
    call_id: str
    record: CallRecord
    result: DialResult


@dataclass(frozen=True)
class Seed:
    maria: StoredCall
    juan: StoredCall
    other_campaign: StoredCall
    silent: StoredCall  # a call stored with no turn
    inbound_call_id: str  # no attempt behind it
    foreign: StoredCall  # another tenant's
    latency_campaign: str  # maria's and juan's, plus an attempt without a call
    no_answer_key: str  # that attempt
    empty_campaign: str  # attempts, no call


async def _insert_campaign(pool: Pool, tenant_id: str, name: str) -> str:
    campaign_id = str(uuid.uuid4())
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO campaigns (id, tenant_id, name, status, workflow_id) "
            "VALUES (%s, %s, %s, 'running', %s)",
            (campaign_id, tenant_id, name, f"campaign-{campaign_id}"),
        )
    return campaign_id


async def _insert_attempt(
    pool: Pool, tenant_id: str, campaign_id: str, position: int, outcome: str
) -> tuple[str, str, str]:
    """A contact and its first attempt; returns (attempt key, attempt id, contact id)."""
    contact_id = str(uuid.uuid4())
    attempt_key = f"campaign-{campaign_id}-contact-{contact_id}-attempt-1"
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO contacts (id, tenant_id, campaign_id, position, name, phones) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (contact_id, tenant_id, campaign_id, position, f"Persona {position}", ["+5696"]),
        )
        cur = await conn.execute(
            "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, agent, status, outcome, started_at) "
            "VALUES (%s, %s, %s, %s, 1, '+56961234567', %s, 'completed', %s, %s) "
            "RETURNING id::text AS id",
            (attempt_key, tenant_id, campaign_id, contact_id, AGENT, outcome, STARTED),
        )
        row = await cur.fetchone()
    assert row is not None
    return attempt_key, row["id"], contact_id


def _result(n: int) -> DialResult:
    started = STARTED + timedelta(minutes=n)
    return DialResult(
        outcome=CallOutcome.PROMISE_TO_PAY,
        disconnection_reason="agent_hangup",
        started_at=started,
        answered_at=started + timedelta(seconds=2),
        ended_at=started + timedelta(seconds=40 + n),
        duration_s=38.0 + n,
        cost=0.0123 * (n + 1),
        cost_breakdown={"stt_audio_s": 12.5 + n, "tts_characters": 340.0, "stt": 0.00125},
    )


async def _store_call(
    pool: Pool,
    tenant_id: str,
    campaign_id: str,
    position: int,
    turns: list[TurnMetrics],
    events: Sequence[CallEvent] = (),
) -> StoredCall:
    attempt_key, attempt_id, contact_id = await _insert_attempt(
        pool, tenant_id, campaign_id, position, "promise_to_pay"
    )
    record = CallRecord(call_id=attempt_key, language="es", turns=turns, events=list(events))
    result = _result(position)
    request = DialRequest(
        idempotency_key=attempt_key,
        to_number="+56961234567",
        campaign_id=campaign_id,
        contact_id=contact_id,
        attempt_number=1,
        agent=AGENT,
    )
    call_id = await save_call(pool, request, record, result)
    return StoredCall(attempt_key, attempt_id, campaign_id, contact_id, call_id, record, result)


async def _store_inbound(pool: Pool) -> str:
    """A call whose key matches no attempt (as an inbound call): stored without one."""
    record = CallRecord(call_id="inbound", language="es", turns=[_turn(0, 1000.0, (1, 1, 1, 1))])
    request = DialRequest(
        idempotency_key=f"inbound-{uuid.uuid4()}",
        to_number="+56229876543",
        campaign_id="none",
        contact_id="none",
        attempt_number=1,
    )
    return await save_call(pool, request, record, _result(0))


@pytest.fixture(scope="module")
async def seed(pool: Pool) -> Seed:
    """Campaigns with and without calls, a call with no turn, an inbound call, a foreign one."""
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO tenants (id, name) VALUES (%s, 'other')", (OTHER_TENANT_ID,)
        )
    latency = await _insert_campaign(pool, DEFAULT_TENANT_ID, "latency")
    maria = await _store_call(pool, DEFAULT_TENANT_ID, latency, 1, MARIA_TURNS, MARIA_EVENTS)
    juan = await _store_call(pool, DEFAULT_TENANT_ID, latency, 2, JUAN_TURNS)
    no_answer_key, _, _ = await _insert_attempt(pool, DEFAULT_TENANT_ID, latency, 3, "no_answer")

    other = await _insert_campaign(pool, DEFAULT_TENANT_ID, "other")
    other_call = await _store_call(pool, DEFAULT_TENANT_ID, other, 1, OTHER_CAMPAIGN_TURNS)

    empty = await _insert_campaign(pool, DEFAULT_TENANT_ID, "empty")
    await _insert_attempt(pool, DEFAULT_TENANT_ID, empty, 1, "no_answer")
    await _insert_attempt(pool, DEFAULT_TENANT_ID, empty, 2, "busy")

    silent_campaign = await _insert_campaign(pool, DEFAULT_TENANT_ID, "silent")
    silent = await _store_call(pool, DEFAULT_TENANT_ID, silent_campaign, 1, [])

    foreign_campaign = await _insert_campaign(pool, OTHER_TENANT_ID, "foreign")
    foreign = await _store_call(pool, OTHER_TENANT_ID, foreign_campaign, 1, MARIA_TURNS)

    return Seed(
        maria=maria,
        juan=juan,
        other_campaign=other_call,
        silent=silent,
        inbound_call_id=await _store_inbound(pool),
        foreign=foreign,
        latency_campaign=latency,
        no_answer_key=no_answer_key,
        empty_campaign=empty,
    )


@pytest.fixture
async def api(app_clients: AppClients, database_url: str, seed: Seed) -> httpx.AsyncClient:
    # A Temporal address nobody listens on: these routes must not need Temporal.
    settings = settings_for(database_url, f"127.0.0.1:{free_port()}")
    return await app_clients.open(settings)


async def _get(api: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await api.get(path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _percentile_cont(values: list[float | None], q: int) -> float | None:
    """Postgres's percentile_cont(q/100): linear interpolation, NULLs left out."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return statistics.quantiles(present, n=100, method="inclusive")[q - 1]


# -- one call ------------------------------------------------------------------------------


async def test_call_detail_has_the_stored_call(api: httpx.AsyncClient, seed: Seed) -> None:
    maria = seed.maria
    body = await _get(api, f"/calls/{maria.call_id}")

    assert body["id"] == maria.call_id
    assert (body["attempt_id"], body["attempt_key"]) == (maria.attempt_id, maria.attempt_key)
    assert (body["campaign_id"], body["contact_id"]) == (maria.campaign_id, maria.contact_id)
    assert (body["agent"], body["direction"], body["status"]) == (AGENT, "outbound", "ended")
    result = maria.result
    assert body["outcome"] == result.outcome.value
    assert body["disconnection_reason"] == result.disconnection_reason
    assert datetime.fromisoformat(body["started_at"]) == result.started_at
    assert datetime.fromisoformat(body["answered_at"]) == result.answered_at
    assert datetime.fromisoformat(body["ended_at"]) == result.ended_at
    assert body["duration_s"] == pytest.approx(result.duration_s)
    assert body["cost"] == pytest.approx(result.cost)
    assert body["usage"] == pytest.approx(result.cost_breakdown)
    assert body["recording_path"] is None


async def test_call_turns_come_in_spoken_order(api: httpx.AsyncClient, seed: Seed) -> None:
    turns = (await _get(api, f"/calls/{seed.maria.call_id}"))["turns"]

    expected = sorted(seed.maria.record.turns, key=lambda t: t.index)
    assert [t["turn_index"] for t in turns] == [t.index for t in expected] == [0, 1, 2, 3]
    for got, want in zip(turns, expected, strict=True):
        assert (got["user_text"], got["agent_text"]) == (want.user_text, want.agent_text)
        assert got["interrupted"] is want.interrupted
        for part in ("endpointing_ms", "stt_ms", "brain_ms", "tts_first_audio_ms"):
            assert got[part] == pytest.approx(getattr(want, part)), part
        assert got["voice_to_voice_ms"] == pytest.approx(want.voice_to_voice_ms)
        assert got["sentiment"] == pytest.approx(want.sentiment)


async def test_call_keeps_unmeasured_parts_null(api: httpx.AsyncClient, seed: Seed) -> None:
    turns = (await _get(api, f"/calls/{seed.juan.call_id}"))["turns"]

    assert turns[1]["voice_to_voice_ms"] is None
    assert turns[1]["stt_ms"] is None
    assert turns[0]["brain_ms"] is None


async def test_call_events_come_in_seq_order(api: httpx.AsyncClient, seed: Seed) -> None:
    events = (await _get(api, f"/calls/{seed.maria.call_id}"))["events"]

    expected = sorted(MARIA_EVENTS, key=lambda e: e.seq)
    assert [(e["seq"], e["type"], e["payload"]) for e in events] == [
        (e.seq, e.type, e.payload) for e in expected
    ]
    started = seed.maria.result.started_at
    assert [datetime.fromisoformat(e["at"]) for e in events] == [
        started + timedelta(seconds=e.at) for e in expected
    ]


async def test_call_without_turns_has_empty_lists(api: httpx.AsyncClient, seed: Seed) -> None:
    body = await _get(api, f"/calls/{seed.silent.call_id}")
    assert (body["turns"], body["events"]) == ([], [])


async def test_call_without_attempt_has_null_links(api: httpx.AsyncClient, seed: Seed) -> None:
    body = await _get(api, f"/calls/{seed.inbound_call_id}")

    links = ("attempt_id", "attempt_key", "campaign_id", "contact_id", "agent")
    assert {k: body[k] for k in links} == dict.fromkeys(links)
    assert [t["turn_index"] for t in body["turns"]] == [0]


async def test_call_by_attempt_is_the_same_call(api: httpx.AsyncClient, seed: Seed) -> None:
    for stored in (seed.maria, seed.juan):
        by_attempt = await _get(api, f"/calls/by-attempt/{stored.attempt_key}")
        assert by_attempt == await _get(api, f"/calls/{stored.call_id}")


async def test_unknown_call_is_404(api: httpx.AsyncClient, seed: Seed) -> None:
    for call_id in (uuid.uuid4(), seed.foreign.call_id):
        response = await api.get(f"/calls/{call_id}")
        assert response.status_code == 404, response.text
        assert "not found" in response.json()["detail"]


@pytest.mark.parametrize("call_id", ["not-a-uuid", "42", f"{uuid.uuid4()}x"])
async def test_malformed_call_id_is_422(api: httpx.AsyncClient, call_id: str) -> None:
    response = await api.get(f"/calls/{call_id}")
    assert response.status_code == 422, response.text


async def test_attempt_without_call_is_404(api: httpx.AsyncClient, seed: Seed) -> None:
    for key in (seed.no_answer_key, "campaign-x-contact-y-attempt-1", seed.foreign.attempt_key):
        response = await api.get(f"/calls/by-attempt/{key}")
        assert response.status_code == 404, response.text
        assert "no call stored" in response.json()["detail"]


# -- campaign latency --------------------------------------------------------------------


async def test_latency_percentiles_over_the_campaigns_turns(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    body = await _get(api, f"/campaigns/{seed.latency_campaign}/latency")

    turns = [*seed.maria.record.turns, *seed.juan.record.turns]
    v2v = [t.voice_to_voice_ms for t in turns]
    assert body["campaign_id"] == seed.latency_campaign
    assert (body["calls"], body["turns"]) == (2, len(turns))
    assert body["interrupted_turns"] == sum(t.interrupted for t in turns)
    assert body["voice_to_voice"] == {
        "samples": sum(v is not None for v in v2v),
        "p50_ms": pytest.approx(_percentile_cont(v2v, 50)),
        "p95_ms": pytest.approx(_percentile_cont(v2v, 95)),
        "max_ms": pytest.approx(max(v for v in v2v if v is not None)),
    }
    assert body["p50"] == {
        part: pytest.approx(_percentile_cont([getattr(t, part) for t in turns], 50))
        for part in ("endpointing_ms", "stt_ms", "brain_ms", "tts_first_audio_ms")
    }


async def test_latency_ignores_null_parts(api: httpx.AsyncClient, seed: Seed) -> None:
    # Guards the test above: with the NULLs read as zeros the medians would differ.
    body = await _get(api, f"/campaigns/{seed.latency_campaign}/latency")
    turns = [*seed.maria.record.turns, *seed.juan.record.turns]
    as_zero = statistics.median([t.stt_ms or 0.0 for t in turns])
    assert body["p50"]["stt_ms"] != pytest.approx(as_zero)


async def test_latency_of_a_single_turn_campaign(api: httpx.AsyncClient, seed: Seed) -> None:
    body = await _get(api, f"/campaigns/{seed.other_campaign.campaign_id}/latency")

    (turn,) = OTHER_CAMPAIGN_TURNS
    assert (body["calls"], body["turns"], body["interrupted_turns"]) == (1, 1, 0)
    v2v = turn.voice_to_voice_ms
    assert body["voice_to_voice"] == {"samples": 1, "p50_ms": v2v, "p95_ms": v2v, "max_ms": v2v}


async def test_latency_of_a_campaign_without_calls(api: httpx.AsyncClient, seed: Seed) -> None:
    body = await _get(api, f"/campaigns/{seed.empty_campaign}/latency")

    assert (body["calls"], body["turns"], body["interrupted_turns"]) == (0, 0, 0)
    assert body["voice_to_voice"] == {"samples": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    assert set(body["p50"].values()) == {None}


async def test_latency_of_calls_without_turns(api: httpx.AsyncClient, seed: Seed) -> None:
    body = await _get(api, f"/campaigns/{seed.silent.campaign_id}/latency")

    assert (body["calls"], body["turns"]) == (1, 0)
    assert body["voice_to_voice"]["samples"] == 0
    assert body["voice_to_voice"]["p50_ms"] is None


async def test_latency_of_unknown_campaign_is_404(api: httpx.AsyncClient, seed: Seed) -> None:
    for campaign_id in (str(uuid.uuid4()), "not-a-uuid", seed.foreign.campaign_id):
        response = await api.get(f"/campaigns/{campaign_id}/latency")
        assert response.status_code == 404, response.text
        assert "not found" in response.json()["detail"]
