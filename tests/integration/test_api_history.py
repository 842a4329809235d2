"""Opt-outs, contact history and the call log, on the real app, Postgres and Temporal.

Rows are seeded with SQL (no campaign runs), so every expected answer is computed here
from the seed itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from psycopg.types.json import Jsonb
from temporalio.testing import WorkflowEnvironment

from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from tests.support.servers import AppClients, free_port, settings_for

pytestmark = pytest.mark.integration

SHARED = "+56961234567"  # in both campaigns
OTHER = "+56972345678"  # a_two's second phone
HIST = "+56987654321"  # b_hist's first phone
PRE_OPTED = "+56951112222"  # opted out by the seed
SOLO = "+34612345678"  # nobody's phone


def _address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- the seed ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedContact:
    key: str
    campaign: str
    phones: list[str]
    state: str
    outcome: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class SeedAttempt:
    contact: str
    number: int
    started_at: datetime
    status: str = "completed"
    outcome: str | None = None
    skip_reason: str | None = None

    @property
    def attempt_key(self) -> str:
        return f"attempt-{self.contact}-{self.number}"


CONTACTS = [
    SeedContact("a_single", "A", [SHARED], "retry_scheduled"),
    SeedContact("a_two", "A", [SHARED, OTHER], "pending"),
    SeedContact("a_done", "A", [SHARED], "done", "promise_to_pay"),
    SeedContact("b_single", "B", [SHARED], "pending"),
    SeedContact("b_hist", "B", [HIST, OTHER], "done", "promise_to_pay"),
    SeedContact("b_bulk", "B", [PRE_OPTED], "failed", "no_answer"),
]

ATTEMPTS = [
    SeedAttempt("a_single", 1, _at("2025-03-03T13:00"), outcome="no_answer"),
    SeedAttempt("a_single", 2, _at("2025-03-04T13:00"), outcome="busy"),
    SeedAttempt("a_two", 1, _at("2025-03-03T16:00"), outcome="voicemail"),
    SeedAttempt("a_two", 2, _at("2025-03-04T23:59:59.5"), status="error"),
    SeedAttempt("a_done", 1, _at("2025-03-03T12:00"), outcome="no_answer"),
    SeedAttempt("a_done", 2, _at("2025-03-05T12:00"), outcome="promise_to_pay"),
    SeedAttempt("b_single", 1, _at("2025-03-05T00:00"), "cancelled", skip_reason="cancelled"),
    # b_hist#1 starts with a_done#1: a tie the pagination must still order.
    SeedAttempt("b_hist", 1, _at("2025-03-03T12:00"), outcome="no_answer"),
    SeedAttempt("b_hist", 2, _at("2025-03-03T15:00"), outcome="busy"),
    SeedAttempt("b_hist", 3, _at("2025-03-04T02:00"), "skipped", skip_reason="outside window"),
    SeedAttempt("b_hist", 4, _at("2025-03-04T15:00"), outcome="promise_to_pay"),
    # Many attempts at a handful of instants, to page through ties.
    *(
        SeedAttempt("b_bulk", n, _at(f"2025-03-0{1 + n % 2}T1{n % 3}:00"), outcome="no_answer")
        for n in range(1, 21)
    ),
]

B_HIST_EVENTS = [
    (_at("2025-03-03T12:00"), "in_progress", "attempt 1", "attempt-b_hist-1"),
    (_at("2025-03-03T12:01"), "retry_scheduled", "no answer: retry in 60 min", None),
    (_at("2025-03-04T02:00"), "retry_scheduled", "outside window", "attempt-b_hist-3"),
    (_at("2025-03-04T15:05"), "done", "promise to pay", "attempt-b_hist-4"),
]


@dataclass(frozen=True)
class Seed:
    campaigns: dict[str, str]
    contacts: dict[str, SeedContact]

    def contact_id(self, key: str) -> str:
        return self.contacts[key].id

    def campaign_of(self, attempt: SeedAttempt) -> str:
        return self.campaigns[self.contacts[attempt.contact].campaign]


async def _insert_campaigns(pool: Pool) -> dict[str, str]:
    ids = {name: str(uuid.uuid4()) for name in ("A", "B")}
    async with pool.connection() as conn:
        for name, cid in ids.items():
            await conn.execute(
                "INSERT INTO campaigns (id, tenant_id, name, status, workflow_id) "
                "VALUES (%s, %s, %s, 'running', %s)",
                (cid, DEFAULT_TENANT_ID, f"history {name}", f"campaign-{cid}"),
            )
    return ids


async def _insert_contacts(pool: Pool, campaigns: dict[str, str]) -> None:
    async with pool.connection() as conn:
        for position, c in enumerate(CONTACTS, start=1):
            await conn.execute(
                "INSERT INTO contacts (id, tenant_id, campaign_id, position, name, phones, "
                "state, outcome, variables, segment, recipient_timezone, admitted_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'temprana', "
                "'America/Santiago', %s)",
                (
                    c.id,
                    DEFAULT_TENANT_ID,
                    campaigns[c.campaign],
                    position,
                    f"Persona {c.key}",
                    c.phones,
                    c.state,
                    c.outcome,
                    Jsonb({"monto_total": "150000", "RUT": "12.345.678-5"}),
                    _at("2025-03-03T12:00"),
                ),
            )


async def _insert_attempts(pool: Pool, seed: Seed) -> None:
    async with pool.connection() as conn:
        for a in ATTEMPTS:
            contact = seed.contacts[a.contact]
            await conn.execute(
                "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
                "attempt_number, phone, agent, status, outcome, skip_reason, started_at, "
                "duration_s, cost, extracted) "
                "VALUES (%s, %s, %s, %s, %s, %s, 'cobranza', %s, %s, %s, %s, %s, %s, %s)",
                (
                    a.attempt_key,
                    DEFAULT_TENANT_ID,
                    seed.campaign_of(a),
                    contact.id,
                    a.number,
                    contact.phones[0],
                    a.status,
                    a.outcome,
                    a.skip_reason,
                    a.started_at,
                    12.5 if a.outcome else None,
                    0.0125,
                    Jsonb({"promised_amount": 150000} if a.outcome == "promise_to_pay" else {}),
                ),
            )


async def _insert_events_and_opt_out(pool: Pool, seed: Seed) -> None:
    b_hist = seed.contacts["b_hist"]
    async with pool.connection() as conn:
        # Inserted newest first: the API must order by time, not by insertion.
        for n, (at, state, reason, attempt_key) in reversed(list(enumerate(B_HIST_EVENTS))):
            await conn.execute(
                "INSERT INTO contact_events (event_key, contact_id, campaign_id, at, state, "
                "reason, attempt_key, details) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    f"seed-{n}",
                    b_hist.id,
                    seed.campaigns["B"],
                    at,
                    state,
                    reason,
                    attempt_key,
                    Jsonb({"n": n}),
                ),
            )
        await conn.execute(
            "INSERT INTO opt_outs (tenant_id, phone, reason, source) VALUES (%s, %s, %s, 'seed')",
            (DEFAULT_TENANT_ID, PRE_OPTED, "pidió no llamar"),
        )


@pytest.fixture(scope="module")
async def seed(pool: Pool) -> Seed:
    """Two campaigns, their contacts, attempts of every kind, events and an opt-out."""
    campaigns = await _insert_campaigns(pool)
    await _insert_contacts(pool, campaigns)
    result = Seed(campaigns=campaigns, contacts={c.key: c for c in CONTACTS})
    await _insert_attempts(pool, result)
    await _insert_events_and_opt_out(pool, result)
    return result


@pytest.fixture
async def api(
    app_clients: AppClients,
    database_url: str,
    dev_env: WorkflowEnvironment,
    seed: Seed,
) -> httpx.AsyncClient:
    """The real app on this module's database and the dev server, history routes served."""
    return await app_clients.open(settings_for(database_url, _address(dev_env)), dev_env.client)


# -- helpers -----------------------------------------------------------------------------


async def _contact(api: httpx.AsyncClient, contact_id: str) -> dict[str, Any]:
    response = await api.get(f"/contacts/{contact_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _calls(api: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/calls", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def _keys(rows: Iterable[dict[str, Any]]) -> set[str]:
    return {r["attempt_key"] for r in rows}


def _expected(keep: Callable[[SeedAttempt], bool]) -> set[str]:
    found = {a.attempt_key for a in ATTEMPTS if keep(a)}
    assert found, "a filter that matches no seeded row proves nothing"
    return found


def _in_campaign(seed: Seed, name: str) -> Callable[[SeedAttempt], bool]:
    return lambda a: seed.contacts[a.contact].campaign == name


async def _opted_out_phones(api: httpx.AsyncClient) -> set[str]:
    response = await api.get("/opt-outs", params={"limit": 500})
    assert response.status_code == 200, response.text
    return {row["phone"] for row in response.json()}


# -- opt-outs ----------------------------------------------------------------------------


async def test_history_routers_are_served(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert {"/opt-outs", "/opt-outs/{phone}", "/contacts/{contact_id}", "/calls"} <= set(paths)


async def test_opt_out_of_a_shared_number_stops_single_phone_contacts_in_both_campaigns(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    response = await api.post("/opt-outs", json={"phone": "+56 9 6123 4567", "reason": "STOP"})

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["phone"] == SHARED
    assert (body["reason"], body["source"]) == ("STOP", "api")
    assert body["created_at"]
    assert body["campaigns_affected"] == sorted(seed.campaigns.values())
    assert body["signalled"] is True
    states = {
        key: (await _contact(api, seed.contact_id(key)))["state"]
        for key in ("a_single", "b_single", "a_two", "a_done")
    }
    assert states == {
        "a_single": "opted_out",
        "b_single": "opted_out",
        "a_two": "pending",  # still has OTHER to call
        "a_done": "done",  # finished contacts keep their result
    }
    stopped = await _contact(api, seed.contact_id("a_single"))
    assert stopped["state_reason"] == "opted out (api)"
    assert stopped["events"][-1]["state"] == "opted_out"
    assert SHARED in await _opted_out_phones(api)


async def test_posting_the_same_number_twice_is_idempotent(api: httpx.AsyncClient) -> None:
    first = await api.post("/opt-outs", json={"phone": "612 34 56 78", "default_region": "es"})
    again = await api.post("/opt-outs", json={"phone": SOLO, "reason": "otra vez"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["phone"] == again.json()["phone"] == SOLO
    # The stored opt-out is the first one: the second post changes nothing.
    assert again.json()["created_at"] == first.json()["created_at"]
    assert again.json()["reason"] is None
    assert again.json()["campaigns_affected"] == []
    listed = [p for p in await _opted_out_phones(api) if p == SOLO]
    assert listed == [SOLO]


@pytest.mark.parametrize(
    "body",
    [
        {"phone": "123"},
        {"phone": "not a phone"},
        {"phone": "9 6123 4567"},  # national form without a region
        {"phone": "+56 9 6123 4567", "default_region": "Chile"},
        {},
    ],
)
async def test_invalid_opt_out_is_422(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await api.post("/opt-outs", json=body)
    assert response.status_code == 422, response.text


async def test_invalid_phone_says_why(api: httpx.AsyncClient) -> None:
    response = await api.post("/opt-outs", json={"phone": "123"})
    assert "invalid phone" in response.json()["detail"]


async def test_opt_out_is_stored_even_when_temporal_is_down(
    app_clients: AppClients, database_url: str, seed: Seed
) -> None:
    api = await app_clients.open(settings_for(database_url, f"127.0.0.1:{free_port()}"))

    response = await api.post("/opt-outs", json={"phone": "+56 9 2345 6789"})

    assert response.status_code == 201, response.text
    assert response.json()["signalled"] is False
    assert "unreachable" in response.json()["signal_error"]
    assert "+56923456789" in await _opted_out_phones(api)


async def test_delete_then_list(api: httpx.AsyncClient) -> None:
    assert PRE_OPTED in await _opted_out_phones(api)

    deleted = await api.delete(f"/opt-outs/{PRE_OPTED.replace('+', '%2B')}")
    again = await api.delete(f"/opt-outs/{PRE_OPTED.replace('+', '%2B')}")

    assert (deleted.status_code, again.status_code) == (204, 404)
    assert PRE_OPTED not in await _opted_out_phones(api)


@pytest.mark.parametrize(
    ("phone", "path"),
    [
        pytest.param("+56934567890", "56934567890", id="without-plus"),
        pytest.param("+56945678901", "+56945678901", id="literal-plus"),
        pytest.param("+56945678901", "9%204567%208901?default_region=CL", id="national"),
    ],
)
async def test_delete_accepts_the_number_in_other_forms(
    api: httpx.AsyncClient, phone: str, path: str
) -> None:
    assert (await api.post("/opt-outs", json={"phone": phone})).status_code in (200, 201)
    assert (await api.delete(f"/opt-outs/{path}")).status_code == 204
    assert phone not in await _opted_out_phones(api)


async def test_delete_of_an_invalid_number_is_422(api: httpx.AsyncClient) -> None:
    assert (await api.delete("/opt-outs/12")).status_code == 422


async def test_list_opt_outs_pages(api: httpx.AsyncClient) -> None:
    everything = (await api.get("/opt-outs", params={"limit": 500})).json()
    assert len(everything) >= 2
    first = (await api.get("/opt-outs", params={"limit": 1})).json()
    second = (await api.get("/opt-outs", params={"limit": 1, "offset": 1})).json()
    assert [r["phone"] for r in first + second] == [r["phone"] for r in everything[:2]]
    assert (await api.get("/opt-outs", params={"limit": 0})).status_code == 422


# -- contacts ----------------------------------------------------------------------------


async def test_contact_has_every_attempt_and_event_in_order(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    body = await _contact(api, seed.contact_id("b_hist"))

    assert body["id"] == seed.contact_id("b_hist")
    assert body["campaign_id"] == seed.campaigns["B"]
    assert (body["phones"], body["state"], body["outcome"]) == (
        [HIST, OTHER],
        "done",
        "promise_to_pay",
    )
    assert body["variables"] == {"monto_total": "150000", "RUT": "12.345.678-5"}
    assert body["recipient_timezone"] == "America/Santiago"
    assert body["segment"] == "temprana"
    assert body["admitted_at"] is not None
    for column in ("timezone", "state_reason", "last_phone_tried", "next_attempt_at"):
        assert column in body
    assert body["callback_at"] is None
    seeded = [a for a in ATTEMPTS if a.contact == "b_hist"]
    assert [a["attempt_key"] for a in body["attempts"]] == [a.attempt_key for a in seeded]
    assert [a["status"] for a in body["attempts"]] == [a.status for a in seeded]
    assert body["attempts"][2]["skip_reason"] == "outside window"
    assert body["attempts"][3]["extracted"] == {"promised_amount": 150000}
    assert body["attempts"][3]["cost"] == pytest.approx(0.0125)
    events = [(e["state"], e["reason"], e["attempt_key"]) for e in body["events"]]
    assert events == [(state, reason, key) for _, state, reason, key in B_HIST_EVENTS]
    assert [e["details"]["n"] for e in body["events"]] == [0, 1, 2, 3]


async def test_contact_with_no_history_has_empty_lists(
    api: httpx.AsyncClient, pool: Pool, seed: Seed
) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO contacts (tenant_id, campaign_id, position, name, phones) "
            "VALUES (%s, %s, 99, 'Nueva', %s) RETURNING id::text AS id",
            (DEFAULT_TENANT_ID, seed.campaigns["A"], [OTHER]),
        )
        row = await cur.fetchone()
    assert row is not None
    body = await _contact(api, row["id"])
    assert (body["state"], body["attempts"], body["events"]) == ("pending", [], [])


@pytest.mark.parametrize("contact_id", [str(uuid.uuid4()), "not-a-uuid", "1"])
async def test_unknown_contact_is_404(api: httpx.AsyncClient, contact_id: str) -> None:
    response = await api.get(f"/contacts/{contact_id}")
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]


# -- calls -------------------------------------------------------------------------------


async def test_calls_lists_every_attempt_newest_first(api: httpx.AsyncClient, seed: Seed) -> None:
    rows = await _calls(api)

    assert _keys(rows) == {a.attempt_key for a in ATTEMPTS}
    assert len(rows) == len(ATTEMPTS)
    started = [r["started_at"] for r in rows]
    assert started == sorted(started, reverse=True)
    one = next(r for r in rows if r["attempt_key"] == "attempt-b_hist-3")
    assert one["contact_id"] == seed.contact_id("b_hist")
    assert one["campaign_id"] == seed.campaigns["B"]
    assert (one["status"], one["skip_reason"], one["agent"]) == (
        "skipped",
        "outside window",
        "cobranza",
    )
    expected_columns = {
        "id", "attempt_key", "campaign_id", "contact_id", "attempt_number", "phone", "agent",
        "status", "outcome", "disconnection_reason", "started_at", "answered_at", "ended_at",
        "duration_s", "cost", "extracted", "transcript", "skip_reason",
    }  # fmt: skip
    assert set(one) == expected_columns


async def test_calls_filter_by_campaign(api: httpx.AsyncClient, seed: Seed) -> None:
    for name, campaign_id in seed.campaigns.items():
        rows = await _calls(api, campaign_id=campaign_id)
        assert _keys(rows) == _expected(_in_campaign(seed, name))


async def test_calls_filter_by_contact(api: httpx.AsyncClient, seed: Seed) -> None:
    rows = await _calls(api, contact_id=seed.contact_id("a_done"))
    assert _keys(rows) == _expected(lambda a: a.contact == "a_done")


@pytest.mark.parametrize("outcome", ["no_answer", "busy", "voicemail", "promise_to_pay"])
async def test_calls_filter_by_outcome(api: httpx.AsyncClient, outcome: str) -> None:
    rows = await _calls(api, outcome=outcome)
    assert _keys(rows) == _expected(lambda a: a.outcome == outcome)


@pytest.mark.parametrize("status", ["completed", "skipped", "cancelled", "error"])
async def test_calls_filter_by_status(api: httpx.AsyncClient, status: str) -> None:
    rows = await _calls(api, status=status)
    assert _keys(rows) == _expected(lambda a: a.status == status)


@pytest.mark.parametrize(
    ("params", "low", "high"),
    [
        pytest.param({"date_from": "2025-03-04"}, "2025-03-04T00:00", None, id="from-date"),
        # A date as upper bound covers its whole day, up to the last fraction of a second.
        pytest.param({"date_to": "2025-03-04"}, None, "2025-03-05T00:00", id="to-date-inclusive"),
        pytest.param(
            {"date_from": "2025-03-04", "date_to": "2025-03-04"},
            "2025-03-04T00:00",
            "2025-03-05T00:00",
            id="one-day",
        ),
        pytest.param(
            {"date_from": "2025-03-03T12:00:00Z", "date_to": "2025-03-03T15:00:00+00:00"},
            "2025-03-03T12:00",
            "2025-03-03T15:00:00.000001",
            id="datetimes-inclusive",
        ),
        pytest.param(
            {"date_from": "2025-03-03T09:00:00-03:00"}, "2025-03-03T12:00", None, id="offset"
        ),
    ],
)
async def test_calls_filter_by_dates(
    api: httpx.AsyncClient, params: dict[str, str], low: str | None, high: str | None
) -> None:
    rows = await _calls(api, **params)
    assert _keys(rows) == _expected(
        lambda a: (
            (low is None or a.started_at >= _at(low)) and (high is None or a.started_at < _at(high))
        )
    )


async def test_calls_filters_combine(api: httpx.AsyncClient, seed: Seed) -> None:
    rows = await _calls(
        api, campaign_id=seed.campaigns["A"], outcome="no_answer", date_to="2025-03-03"
    )
    assert _keys(rows) == _expected(
        lambda a: (
            seed.contacts[a.contact].campaign == "A"
            and a.outcome == "no_answer"
            and a.started_at < _at("2025-03-04T00:00")
        )
    )


async def test_calls_pages_do_not_overlap(api: httpx.AsyncClient) -> None:
    everything = await _calls(api)
    pages = [
        await _calls(api, limit=7, offset=offset) for offset in range(0, len(everything) + 7, 7)
    ]

    flat = [r["attempt_key"] for page in pages for r in page]
    assert flat == [r["attempt_key"] for r in everything]
    assert len(set(flat)) == len(ATTEMPTS)
    assert [len(p) for p in pages[:-2]] == [7] * (len(pages) - 2)
    assert pages[-1] == []


@pytest.mark.parametrize(
    "params",
    [
        {"outcome": "maybe"},
        {"status": "ringing"},
        {"campaign_id": "not-a-uuid"},
        {"contact_id": "42"},
        {"date_from": "yesterday"},
        {"date_to": "2025-02-30"},
        {"date_from": "2025-03-05", "date_to": "2025-03-04"},
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
    ],
)
async def test_bad_call_filters_are_422(api: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await api.get("/calls", params=params)
    assert response.status_code == 422, response.text


async def test_bad_outcome_names_the_allowed_ones(api: httpx.AsyncClient) -> None:
    detail = (await api.get("/calls", params={"outcome": "maybe"})).json()["detail"]
    assert "promise_to_pay" in str(detail)
