"""Exports of calls and results: CSV and JSON, filters, masking, streaming, cursors.

The seeded campaign of `tests/support/analytics_seed.py`, plus a bulk campaign of 1 200 plain
attempts so that an export spans many pages. Every expected row set is computed here
from the seeds, in Python.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from psycopg.types.json import Jsonb

from api.app import create_app
from centralita.analytics.export_csv import COLUMNS
from centralita.analytics.exports import ExportFilter, export_pages
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from tests.support.analytics_seed import (
    MARIA_EMAIL,
    MARIA_PHONE,
    MARIA_RUT,
    World,
    insert_campaign,
    seed,
)
from tests.support.servers import AppClients, api_key_for, settings_for

pytestmark = pytest.mark.integration

BULK = 1200
BULK_START = datetime(2025, 2, 1, tzinfo=UTC)
BULK_OUTCOMES = ("no_answer", "busy", "completed", "promise_to_pay")
FORMULA_NAME = "=SUM(A1:A2)"


@dataclass(frozen=True)
class Expected:
    """What an export row must be, for filtering in Python."""

    row_id: str  # attempt id, or the call id of a call without attempt
    campaign_id: str | None
    started: datetime
    outcome: str | None
    direction: str


@dataclass
class Data:
    world: World
    bulk_campaign: str
    rows: list[Expected]


async def _bulk(pool: Pool) -> tuple[str, list[Expected]]:
    campaign = await insert_campaign(pool, "bulk", "UTC")
    contacts, attempts, rows = [], [], []
    for i in range(BULK):
        contact, attempt = str(uuid.uuid4()), str(uuid.uuid4())
        outcome = BULK_OUTCOMES[i % len(BULK_OUTCOMES)]
        started = BULK_START + timedelta(minutes=i)
        live = {"promised_amount": 1000 + i, "promised_currency": "CLP"} if i % 4 == 3 else {}
        name = FORMULA_NAME if i == 7 else f"Cliente {i}"
        contacts.append((contact, DEFAULT_TENANT_ID, campaign, i, name, [f"+569{i:08d}"]))
        attempts.append(
            (attempt, f"bulk-{i}", DEFAULT_TENANT_ID, campaign, contact, f"+569{i:08d}",
             outcome, started, 0.001, Jsonb(live))
        )  # fmt: skip
        rows.append(Expected(attempt, campaign, started, outcome, "outbound"))
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO contacts (id, tenant_id, campaign_id, position, name, phones) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            contacts,
        )
        await cur.executemany(
            "INSERT INTO call_attempts (id, attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, status, outcome, started_at, cost, extracted) "
            "VALUES (%s, %s, %s, %s, %s, 1, %s, 'completed', %s, %s, %s, %s)",
            attempts,
        )
    return campaign, rows


@pytest.fixture(scope="module")
async def data(pool: Pool) -> Data:
    world = await seed(pool)
    bulk_campaign, rows = await _bulk(pool)
    campaigns = {"A": world.campaign_a, "B": world.campaign_b}
    for s in world.seeds:
        if s.deleted:
            continue
        if s.campaign is not None and s.status in ("completed", "error"):
            assert s.attempt_id is not None
            rows.append(
                Expected(s.attempt_id, campaigns[s.campaign], s.started, s.outcome, "outbound")
            )
        elif s.campaign is None and s.call_id is not None:
            rows.append(Expected(s.call_id, None, s.started, s.outcome, "inbound"))
    return Data(world, bulk_campaign, rows)


@pytest.fixture
async def api(database_url: str, data: Data, app_clients: AppClients) -> httpx.AsyncClient:
    return await app_clients.open(settings_for(database_url, "127.0.0.1:1"))


def row_id(row: dict[str, Any]) -> str:
    return str(row["attempt_id"] or row["call_id"])


def parse_csv(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    return list(reader)


async def get_csv(api: httpx.AsyncClient, **params: Any) -> list[dict[str, str]]:
    response = await api.get("/exports/calls.csv", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return parse_csv(response.text)


async def walk_json(api: httpx.AsyncClient, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every page from the first to the one whose `next_cursor` is null."""
    rows: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10_000):
        page_params = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await api.get("/exports/calls.json", params=page_params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        rows += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows
    raise AssertionError("the cursor never ended")


def by_label(data: Data, label: str) -> str:
    s = next(s for s in data.world.seeds if s.label == label)
    return str(s.attempt_id or s.call_id)


# -- content -----------------------------------------------------------------------------


async def test_csv_has_every_row_once(api: httpx.AsyncClient, data: Data) -> None:
    rows = await get_csv(api)
    ids = [row_id(r) for r in rows]
    assert len(ids) == len(set(ids)) == len(data.rows) == BULK + 11 + 1 + 1
    assert set(ids) == {e.row_id for e in data.rows}
    # Oldest first.
    starts = [datetime.fromisoformat(r["started_at"]) for r in rows]
    assert starts == sorted(starts)


async def test_rows_carry_the_results(api: httpx.AsyncClient, data: Data) -> None:
    rows = {row_id(r): r for r in (await walk_json(api, 500, unmask=True))}
    maria = rows[by_label(data, "s1-promise-clp")]
    assert maria["outcome"] == "promise_to_pay"
    assert maria["answered"] is True
    assert (maria["promised_amount"], maria["promised_currency"]) == (150000.0, "CLP")
    assert maria["promised_date"] == "2025-03-15"
    assert (maria["intent"], maria["sentiment_trend"]) == ("payment_promise", "improving")
    assert maria["turns"] == 3
    assert maria["duration_s"] == 95.5
    assert maria["avg_sentiment"] == pytest.approx((-0.57 - 0.22 + 0.13) / 3, abs=1e-6)
    assert maria["summary"].startswith("Cliente María Pérez")
    # The analysis heard 130 USD where the live tool registered 100: the analysis wins.
    both = rows[by_label(data, "s10-promise-usd-both")]
    assert (both["promised_amount"], both["promised_currency"]) == (130.0, "USD")
    live_only = rows[by_label(data, "s5-promise-usd-live")]
    assert (live_only["promised_amount"], live_only["promised_currency"]) == (200.0, "USD")
    assert live_only["intent"] is None
    no_answer = rows[by_label(data, "s2-no-answer")]
    assert no_answer["call_id"] is None
    assert no_answer["answered"] is False
    assert no_answer["turns"] == 0
    inbound = rows[by_label(data, "s30-inbound")]
    assert (inbound["direction"], inbound["phone"]) == ("inbound", "+56922223333")
    assert inbound["attempt_id"] is None


# -- masking -----------------------------------------------------------------------------


async def test_personal_fields_are_masked_by_default(api: httpx.AsyncClient, data: Data) -> None:
    response = await api.get("/exports/calls.csv")
    text = response.text
    for secret in (MARIA_PHONE, "María", "Pérez", MARIA_RUT, MARIA_EMAIL, "juan.soto@",
                   "+56 9 8765 4321", "+56922223333"):  # fmt: skip
        assert secret not in text, secret
    rows = {row_id(r): r for r in parse_csv(text)}
    maria = rows[by_label(data, "s1-promise-clp")]
    # Masked or not, a phone is written as it is: digits and stars run nothing.
    assert maria["phone"] == "+56*****4567"
    assert maria["contact_name"] == "M**** P****"
    assert maria["national_id"] == "**.***.**8-5"
    assert maria["email"] == "m***@example.com"
    assert maria["summary"] == "Cliente [name], RUT [id], promete pagar 150.000 el 15 de marzo."
    juan = rows[by_label(data, "s4-completed")]
    assert juan["summary"] == "Consulta su saldo; escribir a [email] o al [phone]."
    assert juan["email"] == "j***@example.com"
    # Results are not personal: they stay.
    assert maria["promised_amount"] == "150000.0"
    only_a: dict[str, str | int] = {"limit": 1000, "campaign_id": data.world.campaign_a}
    json_page = (await api.get("/exports/calls.json", params=only_a)).json()
    json_maria = next(r for r in json_page["items"] if row_id(r) == row_id(maria))
    assert json_maria["phone"] == "+56*****4567"  # JSON cells need no spreadsheet guard
    assert MARIA_PHONE not in str(json_page)
    assert MARIA_RUT not in str(json_page)


async def test_unmask_shows_personal_fields(api: httpx.AsyncClient, data: Data) -> None:
    rows = {row_id(r): r for r in await get_csv(api, unmask="true")}
    maria = rows[by_label(data, "s1-promise-clp")]
    assert maria["phone"] == MARIA_PHONE
    assert maria["contact_name"] == "María Pérez"
    assert maria["national_id"] == MARIA_RUT
    assert maria["email"] == MARIA_EMAIL
    assert MARIA_RUT in maria["summary"]


async def test_csv_cells_never_run_as_formulas(api: httpx.AsyncClient, data: Data) -> None:
    for unmask in ("true", "false"):
        rows = await get_csv(api, unmask=unmask, campaign_id=data.bulk_campaign)
        named = rows[7]["contact_name"]
        assert named.startswith("'="), named
    rows = await get_csv(api, unmask="true", campaign_id=data.bulk_campaign)
    assert rows[0]["phone"] == "+56900000000"  # a phone number is data, left exact
    masked = await get_csv(api, campaign_id=data.bulk_campaign)
    assert masked[0]["phone"] == "+56*****0000"  # and so is a masked one: same prefix


# -- filters -----------------------------------------------------------------------------


def _expected(data: Data, **where: Any) -> set[str]:
    def keep(e: Expected) -> bool:
        checks = {
            "campaign_id": e.campaign_id,
            "outcome": e.outcome,
            "direction": e.direction,
            "day": e.started.date().isoformat(),
        }
        return all(checks[key] == value for key, value in where.items())

    return {e.row_id for e in data.rows if keep(e)}


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"campaign": "A"}, {}),
        ({"campaign": "A", "outcome": "busy"}, {"outcome": "busy"}),
        ({"outcome": "promise_to_pay"}, {"outcome": "promise_to_pay"}),
        ({"direction": "inbound"}, {"direction": "inbound"}),
        ({"direction": "outbound", "campaign": "B"}, {"direction": "outbound"}),
        ({"date_from": "2025-03-11", "date_to": "2025-03-11"}, {"day": "2025-03-11"}),
        ({"campaign": "bulk", "date_from": "2025-02-01T10:00:00Z",
          "date_to": "2025-02-01T10:59:59Z"}, {"hour": 10}),
    ],
)  # fmt: skip
async def test_filters_select_exactly_the_matching_rows(
    api: httpx.AsyncClient, data: Data, params: dict[str, str], where: dict[str, Any]
) -> None:
    campaigns = {"A": data.world.campaign_a, "B": data.world.campaign_b, "bulk": data.bulk_campaign}
    query = dict(params)
    if "campaign" in query:
        where = {**where, "campaign_id": campaigns[query.pop("campaign")]}
        query["campaign_id"] = where["campaign_id"]
    if "hour" in where:  # 10:00:00 to 10:59:59 inclusive: the bulk's minutes 600-659
        hour = where.pop("hour")
        expected = {e.row_id for e in data.rows if e.campaign_id == data.bulk_campaign
                    and e.started.hour == hour and e.started.day == 1}  # fmt: skip
        assert len(expected) == 60
    else:
        expected = _expected(data, **where)
    assert expected, "a filter that matches nothing proves little"
    csv_ids = [row_id(r) for r in await get_csv(api, **query)]
    assert sorted(csv_ids) == sorted(expected)
    json_ids = [row_id(r) for r in await walk_json(api, 25, **query)]
    assert sorted(json_ids) == sorted(expected)


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "yesterday"},
        {"date_from": "2025-03-12", "date_to": "2025-03-10"},
        {"outcome": "maybe"},
        {"direction": "sideways"},
        {"campaign_id": "not-a-uuid"},
        {"unmask": "perhaps"},
    ],
)
async def test_bad_filters_are_422(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    for path in ("/exports/calls.csv", "/exports/calls.json"):
        response = await api.get(path, params=params)
        assert response.status_code == 422, (path, params, response.text)
        assert response.json()["detail"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"cursor": "nonsense"}])
async def test_bad_pages_are_422(api: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await api.get("/exports/calls.json", params=params)
    assert response.status_code == 422, response.text


# -- pages and streaming -----------------------------------------------------------------


async def test_json_cursor_walk_returns_every_row_once(api: httpx.AsyncClient, data: Data) -> None:
    rows = await walk_json(api, 97)
    ids = [row_id(r) for r in rows]
    assert len(ids) == len(set(ids)) == len(data.rows)
    assert set(ids) == {e.row_id for e in data.rows}
    keys = [(datetime.fromisoformat(r["started_at"]), row_id(r)) for r in rows]
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)


async def _asgi_get(app: Any, path: str, key: str) -> list[dict[str, Any]]:
    """The ASGI messages the app sends for GET `path` (httpx's in-process transport
    joins the body, so the messages are collected here to see how it was sent)."""
    sent: list[dict[str, Any]] = []
    requested, done = asyncio.Event(), asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not requested.is_set():
            requested.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "server": ("api", 80),
        "headers": [(b"host", b"api"), (b"authorization", f"Bearer {key}".encode())],
        "client": ("127.0.0.1", 50000),
    }  # fmt: skip
    try:
        await app(scope, receive, send)
    finally:
        done.set()
    return sent


async def test_csv_streams_in_pages(database_url: str, data: Data) -> None:
    app = create_app(settings_for(database_url, "127.0.0.1:1"))
    async with app.router.lifespan_context(app):
        sent = await _asgi_get(app, "/exports/calls.csv", await api_key_for(database_url))
    start, bodies = sent[0], [m for m in sent[1:] if m.get("body")]
    assert start["status"] == 200
    assert b"content-length" not in dict(start["headers"])  # sent as it is made
    # The header, then one message per page of 500: the rows were never one string.
    assert len(bodies) == 1 + (len(data.rows) + 499) // 500
    rows = parse_csv(b"".join(m["body"] for m in bodies).decode())
    assert len(rows) == len(data.rows)


async def test_pages_are_read_one_query_at_a_time(pool: Pool, data: Data) -> None:
    """A row added after the first page was read still comes out later in the same
    export: each page is its own query, not a slice of rows loaded at the start."""
    where = ExportFilter(campaign_id=uuid.UUID(data.bulk_campaign))
    pages = export_pages(pool, DEFAULT_TENANT_ID, where, page_size=100)
    first = await anext(pages)
    assert len(first) == 100
    late_id = str(uuid.uuid4())
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO contacts (tenant_id, campaign_id, position, name, phones) "
            "VALUES (%s, %s, %s, 'Tardío', %s) RETURNING id",
            (DEFAULT_TENANT_ID, data.bulk_campaign, BULK + 1, ["+56911112222"]),
        )
        contact = await cur.fetchone()
        assert contact is not None
        await conn.execute(
            "INSERT INTO call_attempts (id, attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, status, outcome, started_at) "
            "VALUES (%s, 'bulk-late', %s, %s, %s, 1, '+56911112222', 'completed', 'busy', %s)",
            (late_id, DEFAULT_TENANT_ID, data.bulk_campaign, contact["id"],
             BULK_START + timedelta(days=5)),
        )  # fmt: skip
    try:
        rest = [row async for page in pages for row in page]
        ids = [r.attempt_id for r in first + rest]
        assert ids[-1] == late_id
        assert len(ids) == len(set(ids)) == BULK + 1
    finally:
        async with pool.connection() as conn:
            await conn.execute("DELETE FROM call_attempts WHERE id = %s", (late_id,))
            await conn.execute("DELETE FROM contacts WHERE id = %s", (contact["id"],))


async def test_openapi_documents_the_exports(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    csv_op = spec["paths"]["/exports/calls.csv"]["get"]
    assert "text/csv" in csv_op["responses"]["200"]["content"]
    json_op = spec["paths"]["/exports/calls.json"]["get"]
    names = {p["name"] for p in json_op["parameters"]}
    assert {"campaign_id", "date_from", "date_to", "outcome", "direction", "unmask", "limit",
            "cursor"} <= names  # fmt: skip
    unmask = next(p for p in json_op["parameters"] if p["name"] == "unmask")
    assert "masked" in unmask["description"]
    assert "ExportRow" in spec["components"]["schemas"]
