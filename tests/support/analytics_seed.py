"""A campaign's worth of stored calls for the analytics and export tests.

Every seed is one call attempt (or an inbound call) with what the live call stored
(turns with latencies and sentiment, interruption and tool-call events, through
`realtime.store.calls.save_call` as the media worker stores them) and what the post-call
analysis wrote (`call_analyses`). Attempts and contacts are inserted directly. The spread
covers what the figures must get right: answered and not, promises in two currencies
(live, from the analysis, or both, where the analysis wins), a promise without an amount,
skipped/cancelled/errored attempts, a soft-deleted call, days and hours on the campaign's
clock that differ from UTC's, tools that succeed, fail, or say neither, another campaign
and an inbound call that must stay out of the campaign's figures.

Tests compute every expected number from `Seed` objects in plain Python.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from centralita.kernel.call_events import CallEventType
from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.session.record import CallEvent, CallRecord, TurnMetrics
from realtime.store.calls import save_call

CAMPAIGN_TZ = "America/Santiago"  # UTC-3 in March 2025 (summer time ends in April)
AGENT = "cobranza-temprana"


@dataclass(frozen=True)
class Tool:
    """A tool call as the media worker records it (None: the key is left out)."""

    name: str
    success: bool | None
    duration_ms: float | None


@dataclass(frozen=True)
class Turn:
    """One turn's measurements (None: unmeasured)."""

    endpointing_ms: float | None
    stt_ms: float | None
    brain_ms: float | None
    tts_first_audio_ms: float | None
    voice_to_voice_ms: float | None
    sentiment: float | None
    interrupted: bool = False


@dataclass
class Seed:
    """One attempt (campaign "A" or "B") or inbound call (campaign None) to store."""

    label: str
    started: datetime
    outcome: str | None
    campaign: str | None = "A"
    status: str = "completed"
    duration_s: float | None = None
    cost: float = 0.0
    live: dict[str, Any] = field(default_factory=dict)  # the attempt's `extracted`
    turns: list[Turn] = field(default_factory=list)  # non-empty: a conversation is stored
    interruptions: int = 0
    tools: list[Tool] = field(default_factory=list)
    analysis: dict[str, Any] | None = None  # intent, sentiment_trend, summary, variables...
    deleted: bool = False
    name: str = "Contacto"
    phone: str = "+56900000000"
    variables: dict[str, Any] = field(default_factory=dict)
    # Filled in by `seed`:
    attempt_id: str | None = None
    attempt_key: str | None = None
    call_id: str | None = None
    contact_id: str | None = None

    @property
    def call_key(self) -> str | None:
        """The stored call's key (attempt key, or the inbound call's own key)."""
        return self.attempt_key or (f"inbound-{self.label}" if self.turns else None)

    @property
    def direction(self) -> str:
        """outbound for attempts, inbound otherwise."""
        return "outbound" if self.campaign else "inbound"


def _t(hour: int, minute: int, day: int = 10) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def _turns(n: int, base: float, *, gaps: bool = False, cut: tuple[int, ...] = ()) -> list[Turn]:
    """n turns with distinct figures; `gaps` leaves some parts unmeasured."""
    out = []
    for i in range(n):
        gap = gaps and i % 2 == 1
        out.append(
            Turn(
                endpointing_ms=None if gap else base + 10 * i,
                stt_ms=base + 31.5 * i,
                brain_ms=None if gap else base / 10 + 3 * i,
                tts_first_audio_ms=None if gap else base / 2 + 7 * i,
                voice_to_voice_ms=None if (gap and i == 1) else base * 2 + 55.25 * i,
                sentiment=round(-0.6 + 0.35 * i + base / 10000, 3),
                interrupted=i in cut,
            )
        )
    return out


def _analysis(
    intent: str,
    summary: str,
    *,
    trend: str = "stable",
    amount: int | None = None,
    currency: str | None = None,
    on: str | None = None,
    entities: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    return {
        "intent": intent,
        "sentiment_trend": trend,
        "summary": summary,
        "variables": {
            "promised_amount": amount,
            "promised_currency": currency,
            "promised_date": on,
        },
        "entities": [{"kind": k, "text": t, "value": t} for k, t in entities],
    }


MARIA_RUT = "12.345.678-5"
MARIA_EMAIL = "maria.perez@example.com"
MARIA_PHONE = "+56961234567"


def seeds() -> list[Seed]:
    """The spread described in the module docstring (fresh objects on every call)."""
    p = CallOutcome
    return [
        Seed(
            "s1-promise-clp", _t(13, 5), p.PROMISE_TO_PAY.value, duration_s=95.5, cost=0.0421,
            live={"promised_amount": 150000, "promised_currency": "CLP",
                  "promised_date": "2025-03-15"},
            turns=_turns(3, 300.0, cut=(1,)), interruptions=1,
            tools=[Tool("register_promise", True, 120.0), Tool("lookup_customer", True, 80.0)],
            analysis=_analysis(
                "payment_promise",
                f"Cliente María Pérez, RUT {MARIA_RUT}, promete pagar 150.000 el 15 de marzo.",
                trend="improving", amount=150000, currency="CLP", on="2025-03-15",
                entities=(("rut", MARIA_RUT),),
            ),
            name="María Pérez", phone=MARIA_PHONE,
            variables={"RUT": MARIA_RUT, "email": MARIA_EMAIL, "monto": 150000},
        ),
        Seed("s2-no-answer", _t(13, 40), p.NO_ANSWER.value, cost=0.001, phone="+56911111111"),
        Seed("s3-busy", _t(14, 10), p.BUSY.value, cost=0.001, name="Pedro Soto"),
        Seed(
            "s4-completed", _t(18, 20), p.COMPLETED.value, duration_s=61.0, cost=0.03,
            turns=_turns(4, 420.0, gaps=True, cut=(0, 2)), interruptions=2,
            tools=[Tool("lookup_customer", False, 300.0)],
            analysis=_analysis(
                "billing_inquiry",
                "Consulta su saldo; escribir a juan.soto@example.com o al +56 9 8765 4321.",
            ),
            name="Juan Soto", phone="+56987654321", variables={"correo": "juan.soto@example.com"},
        ),
        # 01:30 UTC on the 11th is 22:30 on the 10th on the campaign's clock.
        Seed(
            "s5-promise-usd-live", _t(1, 30, day=11), p.PROMISE_TO_PAY.value, duration_s=40.0,
            cost=0.02, live={"promised_amount": 200, "promised_currency": "USD",
                             "promised_date": "2025-03-20"},
            turns=_turns(2, 510.0), tools=[Tool("register_promise", True, None)],
            name="Ana Díaz",
        ),
        # No promise said live; the analysis found one: it is a promise.
        Seed(
            "s6-callback-analysis-promise", _t(13, 15, day=11), p.CALLBACK_REQUESTED.value,
            duration_s=33.0, cost=0.018, turns=_turns(2, 350.0),
            tools=[Tool("schedule_callback", None, 45.0)],
            analysis=_analysis(
                "callback_request", "Pide que lo llamen; pagaría 50.000 el viernes.",
                amount=50000, currency="CLP", on="2025-03-14",
            ),
            name="Luis Rojas",
        ),
        Seed("s7-voicemail", _t(13, 50, day=11), p.VOICEMAIL.value, duration_s=20.0, cost=0.002),
        Seed(
            "s8-disputed", _t(14, 30, day=11), p.DISPUTED.value, duration_s=72.25, cost=0.035,
            turns=_turns(3, 610.0, cut=(2,)), interruptions=1,
            tools=[Tool("send_payment_link", False, 500.0), Tool("lookup_customer", True, 95.0)],
            analysis=_analysis("dispute", "Dice que ya pagó.", trend="worsening"),
        ),
        Seed("s9-error", _t(15, 0, day=11), None, status="error"),
        # Live said 100 USD; the analysis heard 130 USD: the analysis wins.
        Seed(
            "s10-promise-usd-both", _t(12, 0, day=12), p.PROMISE_TO_PAY.value, duration_s=50.0,
            cost=0.025, live={"promised_amount": 100, "promised_currency": "USD"},
            turns=_turns(2, 280.0), tools=[Tool("register_promise", True, 95.0)],
            analysis=_analysis(
                "payment_promise", "Pagará 130 dólares.", amount=130, currency="USD",
                on="2025-03-19",
            ),
        ),
        Seed("s11-skipped", _t(12, 30, day=12), None, status="skipped"),
        Seed(
            "s12-deleted", _t(13, 0, day=12), p.WRONG_PERSON.value, duration_s=10.0, cost=0.5,
            turns=_turns(1, 9000.0), tools=[Tool("register_promise", True, 99999.0)],
            deleted=True,
        ),
        # A promise by outcome only: counted as a promise, with no amount.
        Seed(
            "s13-promise-no-amount", _t(16, 0, day=12), p.PROMISE_TO_PAY.value, duration_s=25.0,
            cost=0.011, turns=_turns(1, 333.0),
        ),
        Seed("s14-cancelled", _t(16, 40, day=12), None, status="cancelled"),
        Seed(
            "s20-other-campaign", _t(13, 0, day=11), p.PROMISE_TO_PAY.value, campaign="B",
            duration_s=500.0, cost=9.0, live={"promised_amount": 999999,
                                              "promised_currency": "CLP"},
            turns=_turns(1, 7000.0), tools=[Tool("register_promise", True, 5000.0)],
        ),
        Seed(
            "s30-inbound", _t(17, 0, day=12), p.COMPLETED.value, campaign=None,
            duration_s=44.0, cost=0.02, turns=_turns(2, 390.0, cut=(1,)), interruptions=1,
            analysis=_analysis(
                "payment_promise", "Llama para prometer 70.000.", amount=70000, currency="CLP",
            ),
            phone="+56922223333",
        ),
    ]  # fmt: skip


@dataclass
class World:
    """The seeded campaigns and calls."""

    campaign_a: str
    campaign_b: str
    seeds: list[Seed]

    def in_campaign(self, label: str) -> list[Seed]:
        """The seeds of campaign "A" or "B"."""
        return [s for s in self.seeds if s.campaign == label]


async def insert_campaign(pool: Pool, name: str, timezone: str) -> str:
    """A running campaign of the default tenant in `timezone`; its id."""
    campaign_id = str(uuid.uuid4())
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO campaigns (id, tenant_id, name, status, timezone, workflow_id) "
            "VALUES (%s, %s, %s, 'running', %s, %s)",
            (campaign_id, DEFAULT_TENANT_ID, name, timezone, f"campaign-{campaign_id}"),
        )
    return campaign_id


async def seed(pool: Pool) -> World:
    """Store every seed; returns them with their ids filled in."""
    world = World(
        campaign_a=await insert_campaign(pool, "cobranza marzo", CAMPAIGN_TZ),
        campaign_b=await insert_campaign(pool, "otra", "UTC"),
        seeds=seeds(),
    )
    campaigns = {"A": world.campaign_a, "B": world.campaign_b}
    for position, s in enumerate(world.seeds):
        if s.campaign is not None:
            await _attempt(pool, campaigns[s.campaign], position, s)
        if s.turns:
            await _call(pool, campaigns.get(s.campaign or "", ""), s)
    return world


async def _attempt(pool: Pool, campaign_id: str, position: int, s: Seed) -> None:
    s.contact_id = str(uuid.uuid4())
    s.attempt_key = f"campaign-{campaign_id}-contact-{s.contact_id}-attempt-1"
    ended = s.started + timedelta(seconds=s.duration_s or 0)
    answered = s.started + timedelta(seconds=2) if s.turns else None
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO contacts (id, tenant_id, campaign_id, position, external_id, name, "
            "phones, variables) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (s.contact_id, DEFAULT_TENANT_ID, campaign_id, position, f"C-{position:03d}",
             s.name, [s.phone], Jsonb(s.variables)),
        )  # fmt: skip
        cur = await conn.execute(
            "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, agent, status, outcome, started_at, answered_at, ended_at, "
            "duration_s, cost, extracted) "
            "VALUES (%s, %s, %s, %s, 1, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (s.attempt_key, DEFAULT_TENANT_ID, campaign_id, s.contact_id, s.phone, AGENT,
             s.status, s.outcome, s.started, answered, ended if s.outcome else None,
             s.duration_s, s.cost, Jsonb(s.live)),
        )  # fmt: skip
        row = await cur.fetchone()
        assert row is not None
        s.attempt_id = str(row["id"])


async def _call(pool: Pool, campaign_id: str, s: Seed) -> None:
    key = s.call_key
    assert key is not None
    assert s.outcome is not None
    record = CallRecord(call_id=key, language="es")
    for i, t in enumerate(s.turns):
        record.turns.append(
            TurnMetrics(
                index=i, user_text=f"usuario {i}", agent_text=f"agente {i}",
                endpointing_ms=t.endpointing_ms, stt_ms=t.stt_ms, brain_ms=t.brain_ms,
                tts_first_audio_ms=t.tts_first_audio_ms, voice_to_voice_ms=t.voice_to_voice_ms,
                sentiment=t.sentiment, interrupted=t.interrupted,
            )
        )  # fmt: skip
    # Payloads as older or partial rows hold them: analytics must read what is stored.
    events: list[tuple[CallEventType, dict[str, Any]]] = [
        (CallEventType.CALL_STARTED, {"agent": AGENT})
    ]
    events += [(CallEventType.INTERRUPTION, {"heard": "perdón"})] * s.interruptions
    for tool in s.tools:
        payload: dict[str, Any] = {"name": tool.name, "arguments": {}, "result": {}}
        if tool.success is not None:
            payload["success"] = tool.success
        if tool.duration_ms is not None:
            payload["duration_ms"] = tool.duration_ms
        events.append((CallEventType.TOOL_CALL, payload))
    events.append((CallEventType.CALL_ENDED, {"by": "agent"}))
    record.events = [
        CallEvent(i, kind, payload, 1.5 * i) for i, (kind, payload) in enumerate(events)
    ]
    request = DialRequest(
        idempotency_key=key, to_number=s.phone if s.campaign else "+56800000000",
        campaign_id=campaign_id, contact_id=s.contact_id or key, attempt_number=1, agent=AGENT,
    )  # fmt: skip
    result = DialResult(
        outcome=CallOutcome(s.outcome), disconnection_reason="agent", started_at=s.started,
        answered_at=s.started + timedelta(seconds=2),
        ended_at=s.started + timedelta(seconds=s.duration_s or 0), duration_s=s.duration_s or 0,
        cost=s.cost,
    )  # fmt: skip
    direction = "outbound" if s.campaign else "inbound"
    from_number = None if s.campaign else s.phone
    s.call_id = await save_call(
        pool, request, record, result, direction=direction, from_number=from_number
    )
    async with pool.connection() as conn:
        if s.analysis is not None:
            await conn.execute(
                "INSERT INTO call_analyses (call_id, version, intent, intent_confidence, "
                "sentiment_trend, success, quality, summary, analysis) "
                "VALUES (%s, 1, %s, 0.9, %s, NULL, 0.8, %s, %s)",
                (s.call_id, s.analysis["intent"], s.analysis["sentiment_trend"],
                 s.analysis["summary"], Jsonb(s.analysis)),
            )  # fmt: skip
        if s.deleted:
            await conn.execute("UPDATE calls SET deleted_at = now() WHERE id = %s", (s.call_id,))
