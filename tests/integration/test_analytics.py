"""Analytics endpoints against numbers computed here, in plain Python, from the seeds.

The seeded campaign (`tests/support/analytics_seed.py`) is stored in real Postgres the way the
media worker and the post-call pipeline store calls; every expected figure below is
computed from the `Seed` objects (never by the API's SQL), and the headline figures are
also written out by hand, so a definition that drifts on both sides still fails.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from centralita.kernel.db import Pool
from tests.support.analytics_seed import CAMPAIGN_TZ, Seed, World, seed
from tests.support.servers import AppClients, free_port, settings_for

pytestmark = pytest.mark.integration

UNREACHED = {"no_answer", "busy", "voicemail", "failed"}


@pytest.fixture(scope="module")
async def world(pool: Pool) -> World:
    return await seed(pool)


@pytest.fixture
async def api(database_url: str, world: World, app_clients: AppClients) -> httpx.AsyncClient:
    # A media worker address where nothing listens: these tests reach no live call.
    media = f"http://127.0.0.1:{free_port()}"
    return await app_clients.open(settings_for(database_url, "127.0.0.1:1", carrier_url=media))


# -- the definitions, in plain Python ---------------------------------------------------


def counted(world: World) -> list[Seed]:
    """Campaign A's dialled attempts whose call was not deleted."""
    return [
        s for s in world.in_campaign("A") if s.status in ("completed", "error") and not s.deleted
    ]


def answered(s: Seed) -> bool:
    return s.outcome is not None and s.outcome not in UNREACHED


def promise_of(s: Seed) -> tuple[float | None, str | None, str | None]:
    variables = (s.analysis or {}).get("variables") or {}
    found = variables.get("promised_amount") is not None or variables.get("promised_date")
    source = variables if found else s.live
    return (
        source.get("promised_amount"),
        source.get("promised_currency"),
        source.get("promised_date"),
    )


def promised(s: Seed) -> bool:
    amount, _, on = promise_of(s)
    return answered(s) and (s.outcome == "promise_to_pay" or amount is not None or on is not None)


def local(s: Seed) -> Any:
    return s.started.astimezone(ZoneInfo(CAMPAIGN_TZ))


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (Postgres `percentile_cont`)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def figures(group: list[Seed]) -> dict[str, Any]:
    took = [s for s in group if answered(s)]
    promises = [s for s in took if promised(s)]
    amounts: dict[str | None, list[float]] = defaultdict(list)
    for s in promises:
        amount, currency, _ = promise_of(s)
        if amount is not None:
            amounts[currency].append(amount)
    return {
        "attempts": len(group),
        "answered": len(took),
        "answer_rate": len(took) / len(group) if group else None,
        "promises": len(promises),
        "promise_rate": len(promises) / len(took) if took else None,
        "amounts_promised": sorted(
            ({"currency": c, "promises": len(v), "total": sum(v)} for c, v in amounts.items()),
            key=lambda a: (a["currency"] is None, a["currency"] or ""),
        ),
        "avg_duration_s": mean(s.duration_s for s in took),
        "cost": sum(s.cost for s in group),
        "outcomes": dict(Counter(s.outcome or "unknown" for s in group)),
    }


def same(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal, floats within rounding (money and averages are summed in another order)."""
    assert actual.keys() >= expected.keys(), set(expected) - set(actual)
    for key, want in expected.items():
        got = actual[key]
        if isinstance(want, float):
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), key
        elif isinstance(want, list) and want and isinstance(want[0], dict):
            assert len(got) == len(want), (key, got, want)
            for g, w in zip(got, want, strict=True):
                same(g, w)
        else:
            assert got == want, (key, got, want)


def stored(world: World) -> list[Seed]:
    """Seeds with a conversation stored and not deleted (any campaign, inbound too)."""
    return [s for s in world.seeds if s.call_id and not s.deleted]


def conversation(s: Seed) -> dict[str, Any]:
    def avg(part: Callable[[Any], float | None]) -> float | None:
        return mean(part(t) for t in s.turns)

    return {
        "call_id": s.call_id,
        "call_key": s.call_key,
        "attempt_key": s.attempt_key,
        "direction": s.direction,
        "outcome": s.outcome,
        "duration_s": s.duration_s,
        "cost": s.cost,
        "turns": len(s.turns),
        "avg_endpointing_ms": avg(lambda t: t.endpointing_ms),
        "avg_stt_ms": avg(lambda t: t.stt_ms),
        "avg_brain_ms": avg(lambda t: t.brain_ms),
        "avg_tts_first_audio_ms": avg(lambda t: t.tts_first_audio_ms),
        "avg_voice_to_voice_ms": avg(lambda t: t.voice_to_voice_ms),
        "avg_sentiment": avg(lambda t: t.sentiment),
        "interruptions": s.interruptions,
        "interrupted_turns": sum(t.interrupted for t in s.turns),
        "tool_calls": len(s.tools),
        "tool_failures": sum(t.success is False for t in s.tools),
    }


def same_approx(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    # Sentiment is stored as `real`: compare at its precision.
    for key, want in expected.items():
        if isinstance(want, float):
            assert actual[key] == pytest.approx(want, rel=1e-6, abs=1e-6), key
        else:
            assert actual[key] == want, (key, actual[key], want)


# -- GET /campaigns/{id}/stats ----------------------------------------------------------


async def test_campaign_totals_match_the_seeds(api: httpx.AsyncClient, world: World) -> None:
    response = await api.get(f"/campaigns/{world.campaign_a}/stats")
    assert response.status_code == 200, response.text
    stats = response.json()
    group = counted(world)
    same(stats["totals"], figures(group))
    # The same figures by hand: 11 dialled (skipped, cancelled and the deleted call
    # left out), 7 answered, 5 promises (one by the analysis only, one without amount).
    totals = stats["totals"]
    assert (totals["attempts"], totals["answered"], totals["promises"]) == (11, 7, 5)
    assert {a["currency"]: (a["promises"], a["total"]) for a in totals["amounts_promised"]} == {
        "CLP": (2, 200000.0),  # 150 000 said and analysed, 50 000 found by the analysis
        "USD": (2, 330.0),  # 200 said live, 130 analysed (over 100 said live)
    }
    assert totals["outcomes"]["unknown"] == 1  # the attempt that errored
    assert "wrong_person" not in totals["outcomes"]  # its call was deleted
    assert stats["timezone"] == CAMPAIGN_TZ
    assert stats["name"] == "cobranza marzo"


async def test_campaign_by_day_and_hour_on_its_own_clock(
    api: httpx.AsyncClient, world: World
) -> None:
    stats = (await api.get(f"/campaigns/{world.campaign_a}/stats")).json()
    group = counted(world)
    days: dict[str, list[Seed]] = defaultdict(list)
    hours: dict[int, list[Seed]] = defaultdict(list)
    clock_hours = set()
    for s in group:
        days[local(s).date().isoformat()].append(s)
        hours[local(s).hour].append(s)
        clock_hours.add(local(s).replace(minute=0, second=0, microsecond=0))
    assert [d["day"] for d in stats["by_day"]] == sorted(days)
    for row in stats["by_day"]:
        same(row, figures(days[row["day"]]))
    assert [h["hour"] for h in stats["by_hour"]] == sorted(hours)
    for row in stats["by_hour"]:
        same(row, figures(hours[row["hour"]]))
    # 01:30 UTC on the 11th is the 10th's 22:30 in Santiago: 5, 4 and 2 attempts a day.
    assert {d["day"]: d["attempts"] for d in stats["by_day"]} == {
        "2025-03-10": 5,
        "2025-03-11": 4,
        "2025-03-12": 2,
    }
    assert stats["active_hours"] == len(clock_hours) == 9
    assert stats["calls_per_hour"] == pytest.approx(len(group) / len(clock_hours))


async def test_campaign_tool_success_and_latency(api: httpx.AsyncClient, world: World) -> None:
    tools = (await api.get(f"/campaigns/{world.campaign_a}/stats")).json()["tools"]
    calls = [t for s in counted(world) if s.call_id for t in s.tools]

    def expected(group: list[Any]) -> dict[str, Any]:
        durations = [t.duration_ms for t in group if t.duration_ms is not None]
        ok = sum(t.success is True for t in group)
        failed = sum(t.success is False for t in group)
        return {
            "calls": len(group),
            "succeeded": ok,
            "failed": failed,
            "success_rate": ok / (ok + failed) if ok + failed else None,
            "avg_ms": mean(durations),
            "p50_ms": percentile(durations, 0.5),
            "p95_ms": percentile(durations, 0.95),
            "max_ms": max(durations, default=None),
        }

    same(tools["overall"], expected(calls))
    by_name: dict[str, list[Any]] = defaultdict(list)
    for t in calls:
        by_name[t.name].append(t)
    assert {t["name"] for t in tools["by_tool"]} == set(by_name)
    for row in tools["by_tool"]:
        same(row, expected(by_name[row["name"]]))
    # By hand: 8 tool calls, 5 succeeded, 2 failed, one said neither; the deleted call's
    # and the other campaign's slow calls stay out.
    assert (tools["overall"]["calls"], tools["overall"]["succeeded"]) == (8, 5)
    assert tools["overall"]["failed"] == 2
    assert tools["overall"]["max_ms"] == 500.0
    assert tools["by_tool"][0]["calls"] == 3  # most called first


async def test_campaign_latency_and_learning_are_the_existing_figures(
    api: httpx.AsyncClient, world: World
) -> None:
    stats = (await api.get(f"/campaigns/{world.campaign_a}/stats")).json()
    conversations = [s for s in counted(world) if s.call_id]
    assert stats["latency"]["calls"] == len(conversations) == 7
    assert stats["latency"]["turns"] == sum(len(s.turns) for s in conversations)
    assert stats["latency"] == (await api.get(f"/campaigns/{world.campaign_a}/latency")).json()
    assert stats["learning"] == (await api.get("/learning/metrics")).json()


async def test_other_campaign_is_its_own(api: httpx.AsyncClient, world: World) -> None:
    stats = (await api.get(f"/campaigns/{world.campaign_b}/stats")).json()
    same(stats["totals"], figures(world.in_campaign("B")))
    assert stats["totals"]["amounts_promised"] == [
        {"currency": "CLP", "promises": 1, "total": 999999.0}
    ]


async def test_campaign_stats_unknown_is_404(api: httpx.AsyncClient) -> None:
    for ref in ("00000000-0000-0000-0000-00000000abcd", "not-a-uuid"):
        response = await api.get(f"/campaigns/{ref}/stats")
        assert response.status_code == 404, response.text


async def test_campaign_with_no_calls_has_empty_figures(api: httpx.AsyncClient, pool: Pool) -> None:
    from tests.support.analytics_seed import insert_campaign

    empty = await insert_campaign(pool, "vacía", "Europe/Madrid")
    stats = (await api.get(f"/campaigns/{empty}/stats")).json()
    assert stats["totals"]["attempts"] == 0
    assert stats["totals"]["answer_rate"] is None
    assert stats["by_day"] == []
    assert stats["by_hour"] == []
    assert stats["calls_per_hour"] is None
    assert stats["tools"]["overall"]["calls"] == 0


# -- GET /conversations/{id}/metrics ----------------------------------------------------


async def test_conversation_metrics_by_id_and_by_key(api: httpx.AsyncClient, world: World) -> None:
    calls = stored(world)
    assert len(calls) == 9
    for s in calls:
        for ref in (s.call_id, s.call_key):
            response = await api.get(f"/conversations/{ref}/metrics")
            assert response.status_code == 200, (ref, response.text)
            same_approx(response.json(), conversation(s))
    maria = next(s for s in calls if s.label == "s1-promise-clp")
    got = (await api.get(f"/conversations/{maria.call_id}/metrics")).json()
    # By hand: turns at 300 / 331.5 / 363 ms of STT; one barge-in on the second turn.
    assert got["avg_stt_ms"] == pytest.approx(331.5)
    assert (got["turns"], got["interruptions"], got["interrupted_turns"]) == (3, 1, 1)
    assert got["campaign_id"] == world.campaign_a


async def test_conversation_metrics_unknown_or_deleted_is_404(
    api: httpx.AsyncClient, world: World
) -> None:
    deleted = next(s for s in world.seeds if s.deleted)
    no_call = next(s for s in world.seeds if s.label == "s2-no-answer")
    for ref in (
        "00000000-0000-0000-0000-00000000abcd",
        "no-such-call",
        deleted.call_id,
        deleted.attempt_key,
        no_call.attempt_key,
    ):
        response = await api.get(f"/conversations/{ref}/metrics")
        assert response.status_code == 404, (ref, response.text)


# -- GET /metrics/summary ---------------------------------------------------------------


async def test_summary_is_the_latest_calls_and_their_aggregates(
    api: httpx.AsyncClient, world: World
) -> None:
    response = await api.get("/metrics/summary", params={"limit": 4})
    assert response.status_code == 200, response.text
    body = response.json()
    latest = sorted(stored(world), key=lambda s: s.started, reverse=True)[:4]
    assert [c["call_id"] for c in body["calls"]] == [s.call_id for s in latest]
    assert [s.label for s in latest] == [
        "s30-inbound",
        "s13-promise-no-amount",
        "s10-promise-usd-both",
        "s8-disputed",
    ]
    for got, s in zip(body["calls"], latest, strict=True):
        same_approx(got, conversation(s))
    turns = [t for s in latest for t in s.turns]
    durations = [s.duration_s for s in latest if s.duration_s is not None]
    same_approx(
        body["aggregates"],
        {
            "calls": 4,
            "turns": len(turns),
            "avg_endpointing_ms": mean(t.endpointing_ms for t in turns),
            "avg_stt_ms": mean(t.stt_ms for t in turns),
            "avg_brain_ms": mean(t.brain_ms for t in turns),
            "avg_tts_first_audio_ms": mean(t.tts_first_audio_ms for t in turns),
            "avg_voice_to_voice_ms": mean(t.voice_to_voice_ms for t in turns),
            "avg_sentiment": mean(t.sentiment for t in turns),
            "interruptions": sum(s.interruptions for s in latest),
            "interrupted_turns": sum(t.interrupted for t in turns),
            "tool_calls": sum(len(s.tools) for s in latest),
            "tool_failures": sum(t.success is False for s in latest for t in s.tools),
            "avg_duration_s": sum(durations) / len(durations),
            "total_duration_s": float(sum(durations)),
            "total_cost": sum(s.cost for s in latest),
            "outcomes": dict(Counter(s.outcome for s in latest)),
        },
    )
    assert body["next_cursor"]


async def test_summary_cursor_walks_every_call_once(api: httpx.AsyncClient, world: World) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        body = (await api.get("/metrics/summary", params=params)).json()
        seen += [c["call_id"] for c in body["calls"]]
        assert body["aggregates"]["calls"] == len(body["calls"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    newest_first = sorted(stored(world), key=lambda s: s.started, reverse=True)
    assert seen == [s.call_id for s in newest_first]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": "many"},
        {"cursor": "not-a-cursor"},
        {"cursor": "W10"},
    ],
)
async def test_summary_bad_parameters_are_422(
    api: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    response = await api.get("/metrics/summary", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


# -- POST /conversations/{id}/end -------------------------------------------------------


async def test_end_of_a_finished_call_answers_its_metrics(
    api: httpx.AsyncClient, world: World
) -> None:
    maria = next(s for s in world.seeds if s.label == "s1-promise-clp")
    inbound = next(s for s in world.seeds if s.label == "s30-inbound")
    for s, ref in ((maria, maria.call_id), (maria, maria.attempt_key), (inbound, inbound.call_key)):
        response = await api.post(f"/conversations/{ref}/end", json={"by": "ana"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["state"] == "already_ended"
        assert body["id"] == ref
        assert body["metrics"] == (await api.get(f"/conversations/{s.call_id}/metrics")).json()
        same_approx(body["metrics"], conversation(s))


async def test_end_of_unknown_or_never_answered_is_404(
    api: httpx.AsyncClient, world: World
) -> None:
    no_answer = next(s for s in world.seeds if s.label == "s2-no-answer")
    for ref in ("no-such-call", "00000000-0000-0000-0000-00000000abcd", no_answer.attempt_key):
        response = await api.post(f"/conversations/{ref}/end")
        assert response.status_code == 404, (ref, response.text)


async def test_end_of_a_dialling_call_with_no_media_worker_is_502(
    api: httpx.AsyncClient, pool: Pool, world: World
) -> None:
    s1 = next(s for s in world.seeds if s.label == "s1-promise-clp")
    key = f"campaign-{world.campaign_a}-contact-{s1.contact_id}-attempt-2"
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, status, started_at) "
            "SELECT %s, tenant_id, campaign_id, contact_id, 2, phone, 'dialing', now() "
            "FROM call_attempts WHERE id = %s",
            (key, s1.attempt_id),
        )
    try:
        response = await api.post(f"/conversations/{key}/end", params={"wait_s": 0})
        assert response.status_code == 502, response.text
    finally:
        async with pool.connection() as conn:
            await conn.execute("DELETE FROM call_attempts WHERE attempt_key = %s", (key,))


async def test_end_bad_wait_is_422(api: httpx.AsyncClient, world: World) -> None:
    response = await api.post(f"/conversations/{world.seeds[0].call_id}/end?wait_s=-1")
    assert response.status_code == 422


async def test_openapi_documents_the_analytics(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    for path in (
        "/conversations/{ref}/metrics",
        "/conversations/{ref}/end",
        "/metrics/summary",
        "/campaigns/{campaign_id}/stats",
    ):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    for name in ("CampaignStats", "ConversationMetrics", "MetricsSummary", "ConversationEnd"):
        assert name in schemas, name
    assert "by_day" in schemas["CampaignStats"]["properties"]
