"""Payments and contact memory through the API on real Postgres: one payment or a batch,
idempotent on its reference, all or none; refused rows named; and the memory an operator
reads is what the agent is told, masked until identity is verified, and only the tenant's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.settings import Settings
from tests.support.remembered_calls import insert_attempt, insert_campaign, insert_contact
from tests.support.servers import AppClients, settings_for
from tests.support.tenants import ADMIN_KEY, other_tenant_client

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url, "127.0.0.1:1", admin_api_key=ADMIN_KEY)


@pytest.fixture
async def api(settings: Settings, app_clients: AppClients) -> httpx.AsyncClient:
    return await app_clients.open(settings)


@pytest.fixture
async def other(settings: Settings, app_clients: AppClients) -> httpx.AsyncClient:
    """A client of a second tenant."""
    return await other_tenant_client(settings, app_clients)


def _payment(**overrides: Any) -> dict[str, Any]:
    body = {
        "reference": f"TX-{uuid.uuid4().hex[:8]}",
        "phone": "+56 9 6123 4567",
        "amount": "150000",
        "currency": "clp",
        "paid_on": "2025-03-27",
    }
    return {**body, **overrides}


async def test_one_payment_is_stored_once_and_a_retry_answers_it_unchanged(
    api: httpx.AsyncClient,
) -> None:
    body = _payment()
    created = await api.post("/payments", json=body)
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["result"] == "created"
    stored = first["payment"]
    assert (stored["phone"], stored["currency"], stored["paid_on"]) == (
        "+56961234567",
        "CLP",
        "2025-03-27",
    )
    assert float(stored["amount"]) == 150000

    retried = await api.post("/payments", json=body)
    assert retried.status_code == 200, retried.text
    assert retried.json()["result"] == "unchanged"
    assert retried.json()["payment"]["id"] == stored["id"]

    listed = await api.get("/payments", params={"phone": "+56961234567"})
    assert [p["reference"] for p in listed.json()].count(body["reference"]) == 1


async def test_a_batch_is_all_or_none(api: httpx.AsyncClient) -> None:
    known = _payment()
    assert (await api.post("/payments", json=known)).status_code == 201
    fresh = _payment(external_ref="CLI-9", phone=None)
    batch = await api.post("/payments", json=[fresh, known])
    assert batch.status_code == 201, batch.text
    assert [i["result"] for i in batch.json()["items"]] == ["created", "unchanged"]

    # A reference reused for another payment stops the batch: its first row is not kept.
    newer = _payment()
    clash = {**known, "amount": "1"}
    refused = await api.post("/payments", json=[newer, clash])
    assert refused.status_code == 409
    assert "row 1" in refused.json()["detail"]
    assert known["reference"] in refused.json()["detail"]
    listed = (await api.get("/payments", params={"limit": 500})).json()
    assert newer["reference"] not in {p["reference"] for p in listed}


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": "10.001"}, "amount"),
        ({"currency": "pesos"}, "currency"),
        ({"phone": "12"}, "phone"),
        ({"phone": None}, None),  # no payer named at all
        ({"paid_on": "el viernes"}, "paid_on"),
    ],
)
async def test_an_invalid_row_is_refused_with_its_position(
    api: httpx.AsyncClient, row: dict[str, Any], field: str | None
) -> None:
    bad = _payment(**row)
    refused = await api.post("/payments", json=[_payment(), _payment(), bad])
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["detail"]
    assert error["loc"][:3] == ["body", "batch", 2]
    if field is not None:
        assert error["loc"][3] == field
    single = await api.post("/payments", json=bad)
    assert single.status_code == 422


async def test_the_memory_route_shows_what_the_agent_is_told_and_only_to_its_tenant(
    api: httpx.AsyncClient, other: httpx.AsyncClient, pool: Pool
) -> None:
    phone = "+56955551234"
    campaign = await insert_campaign(pool, DEFAULT_TENANT_ID)
    contact = await insert_contact(pool, DEFAULT_TENANT_ID, campaign, [phone])
    promised_on = datetime.now(UTC) - timedelta(days=20)
    due = (promised_on + timedelta(days=5)).date().isoformat()
    attempt = await insert_attempt(
        pool, DEFAULT_TENANT_ID, campaign, contact, started=promised_on,
        outcome="promise_to_pay",
        extracted={"promised_amount": 80000, "promised_currency": "CLP", "promised_date": due},
    )  # fmt: skip
    paid = _payment(phone=phone, amount="30000", paid_on=due)
    assert (await api.post("/payments", json=paid)).status_code == 201
    # Another tenant's payment on the same number changes nothing here.
    assert (await other.post("/payments", json=_payment(phone=phone, paid_on=due))).is_success

    seen = await api.get(f"/contacts/{contact}/memory")
    assert seen.status_code == 200, seen.text
    view = seen.json()
    [promise] = view["memory"]["promises"]
    assert (promise["source"], promise["status"], promise["payments"]) == (
        attempt,
        "partial",
        [paid["reference"]],
    )
    assert view["variables"]["ultima_promesa_estado"] == "parcial"
    assert view["variables"]["ultima_promesa_monto"] == "80000"
    assert f"prometió pagar 80000 CLP a más tardar el {due}" in view["context_verified"]
    assert "80000" not in view["context_unverified"]
    assert due not in view["context_unverified"]
    english = (await api.get(f"/contacts/{contact}/memory", params={"language": "en"})).json()
    assert "partly kept (paid 30000 CLP so far)" in english["context_verified"]

    assert (await other.get(f"/contacts/{contact}/memory")).status_code == 404
    assert (await api.get("/contacts/not-a-contact/memory")).status_code == 404
    theirs = (await other.get("/payments", params={"phone": phone})).json()
    assert paid["reference"] not in {p["reference"] for p in theirs}
