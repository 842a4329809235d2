"""The API on the real app, a real Temporal dev server, a real worker and Postgres."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from centralita.kernel.db import Pool
from centralita.kernel.settings import Settings
from realtime.carrier.simulated import PersonaBook, packaged_personas
from tests.support.campaigns import ALWAYS_OPEN
from tests.support.servers import (
    AppClients,
    free_port,
    instant_carrier,
    orchestrator_worker,
    settings_for,
    task_queue,
)

pytestmark = pytest.mark.integration

QUICK_POLICY = {
    **ALWAYS_OPEN,
    "caps": {"max_attempts": 3},
    "retry": {"no_answer_seconds": 0, "busy_seconds": 0, "failure_seconds": 0},
    "concurrency": 3,
}


def _address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


@pytest.fixture(scope="module")
async def queue(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[str]:
    """A running orchestrator worker (demo personas, instant calls) on a fresh queue."""
    name = task_queue()
    carrier = instant_carrier(PersonaBook.load(packaged_personas()).personas)
    async with orchestrator_worker(dev_env.client, name, pool, carrier):
        yield name


@pytest.fixture
def settings(database_url: str, dev_env: WorkflowEnvironment, queue: str) -> Settings:
    return settings_for(database_url, _address(dev_env), task_queue=queue)


@pytest.fixture
async def api(
    app_clients: AppClients, settings: Settings, dev_env: WorkflowEnvironment
) -> httpx.AsyncClient:
    return await app_clients.open(settings, dev_env.client)


async def _wait_completed(api: httpx.AsyncClient, campaign_id: str) -> dict[str, Any]:
    for _ in range(200):
        body: dict[str, Any] = (await api.get(f"/campaigns/{campaign_id}")).json()
        if body["status"] == "completed":
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"campaign {campaign_id} did not complete: {body}")


async def test_liveness_endpoints(api: httpx.AsyncClient) -> None:
    for path in ("/health", "/health/live"):
        response = await api.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


async def test_ready_when_postgres_and_temporal_answer(api: httpx.AsyncClient) -> None:
    response = await api.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["components"]["postgres"]["ok"] is True
    assert body["components"]["temporal"]["ok"] is True


async def test_not_ready_names_temporal_when_it_is_down(
    app_clients: AppClients, database_url: str
) -> None:
    dead = settings_for(database_url, f"127.0.0.1:{free_port()}")
    api = await app_clients.open(dead)
    response = await api.get("/health/ready")
    assert response.status_code == 503
    components = response.json()["components"]
    assert components["postgres"] == {"ok": True, "error": None}
    assert components["temporal"]["ok"] is False
    assert "unreachable" in components["temporal"]["error"]


async def test_not_ready_names_postgres_when_it_is_down(
    app_clients: AppClients, dev_env: WorkflowEnvironment
) -> None:
    dead = settings_for(
        f"postgresql://postgres@127.0.0.1:{free_port()}/none?connect_timeout=1", _address(dev_env)
    )
    api = await app_clients.open(dead, dev_env.client)
    response = await api.get("/health/ready")
    assert response.status_code == 503
    components = response.json()["components"]
    assert components["postgres"]["ok"] is False
    assert components["postgres"]["error"]
    assert components["temporal"]["ok"] is True


async def test_campaign_runs_through_temporal_and_stores_every_attempt(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/campaigns",
        json={
            "name": "API campaign",
            "timezone": "America/Santiago",
            "default_region": "cl",
            "policy": QUICK_POLICY,
            "contacts": [
                {"name": "María", "phone": "9 6123 4567", "variables": {"monto_total": 200000}},
                {"name": "Bad", "phone": "123"},
                {"name": "Juan", "phone": "+56 9 7234 5678", "external_id": "J1"},
                {"phone": "+56 9 8765 4321"},
                {"name": "Andrés", "phone": "+56 9 8765 4321", "timezone": "Mars/Olympus"},
                {"name": "Andrés", "phone": "+56 9 8765 4321", "timezone": "America/Santiago"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["accepted"] == 3
    assert created["started"] is True
    rejected = {r["row"]: r["reason"] for r in created["rejected"]}
    assert set(rejected) == {2, 4, 5}
    assert "invalid phone" in rejected[2]
    assert "name" in rejected[4]
    assert "Mars/Olympus" in rejected[5]

    campaign_id = created["campaign"]["id"]
    assert created["campaign"]["workflow_id"] == f"campaign-{campaign_id}"
    done = await _wait_completed(api, campaign_id)
    assert done["contacts_by_state"] == {"done": 2, "excluded": 1}
    assert done["contacts_total"] == 3
    assert done["temporal_ui_url"].endswith(f"/workflows/campaign-{campaign_id}")

    contacts = (await api.get(f"/campaigns/{campaign_id}/contacts")).json()
    summary = [
        (c["name"], c["state"], c["outcome"], [a["outcome"] for a in c["attempts"]])
        for c in contacts
    ]
    assert summary == [
        ("María", "done", "promise_to_pay", ["promise_to_pay"]),
        ("Juan", "done", "completed", ["no_answer", "no_answer", "completed"]),
        ("Andrés", "excluded", "wrong_person", ["wrong_person"]),
    ]
    assert contacts[0]["phones"] == ["+56961234567"]
    assert contacts[0]["variables"] == {"monto_total": 200000}
    assert contacts[0]["attempts"][0]["extracted"]["promised_amount"] == 200000

    listed = (await api.get("/campaigns")).json()
    assert campaign_id in [c["id"] for c in listed]


async def test_upload_with_no_valid_contact_is_422_and_stores_nothing(
    api: httpx.AsyncClient,
) -> None:
    before = len((await api.get("/campaigns", params={"limit": 500})).json())
    response = await api.post(
        "/campaigns",
        json={"name": "all bad", "contacts": [{"name": "x", "phone": "12"}, "not a row"]},
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [r["row"] for r in detail["rejected"]] == [1, 2]
    assert len((await api.get("/campaigns", params={"limit": 500})).json()) == before


@pytest.mark.parametrize(
    "body",
    [
        {"name": "no contacts", "contacts": []},
        {
            "name": "bad zone",
            "timezone": "Nowhere/City",
            "contacts": [{"name": "a", "phone": "+56961234567"}],
        },
        {
            "name": "bad policy",
            "policy": {"max_attempts": 0},
            "contacts": [{"name": "a", "phone": "+56961234567"}],
        },
        {"contacts": [{"name": "a", "phone": "+56961234567"}]},
    ],
)
async def test_malformed_campaign_requests_are_422(
    api: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await api.post("/campaigns", json=body)
    assert response.status_code == 422


async def test_unknown_campaign_is_404(api: httpx.AsyncClient) -> None:
    for path in ("/campaigns/nope", "/campaigns/00000000-0000-0000-0000-000000000000/contacts"):
        response = await api.get(path)
        assert response.status_code == 404
        assert "not found" in response.json()["detail"]


async def test_campaign_created_while_temporal_is_down_starts_later(
    app_clients: AppClients, api: httpx.AsyncClient, database_url: str, queue: str
) -> None:
    down = await app_clients.open(
        settings_for(database_url, f"127.0.0.1:{free_port()}", task_queue=queue)
    )
    response = await down.post(
        "/campaigns",
        json={
            "name": "stored while Temporal is down",
            "policy": QUICK_POLICY,
            "contacts": [{"name": "María", "phone": "+56961234567"}],
        },
    )
    assert response.status_code == 201
    created = response.json()
    assert created["started"] is False
    assert "unreachable" in created["start_error"]
    campaign_id = created["campaign"]["id"]
    assert (await down.post(f"/campaigns/{campaign_id}/start")).status_code == 503

    assert (await api.post(f"/campaigns/{campaign_id}/start")).status_code == 200
    # Starting again is harmless: the same workflow id is already running or done.
    assert (await api.post(f"/campaigns/{campaign_id}/start")).status_code == 200
    done = await _wait_completed(api, campaign_id)
    assert done["contacts_by_state"] == {"done": 1}


CSV_UPLOAD = (
    "nombre_completo;telefono;telefono_2;tipo_mora;monto_total;fecha_limite;RUT\n"
    "María González;+56 9 6123 4567;;temprana;200000;2026-12-01;12.345.678-5\n"
    "Juan Pérez;12;;tardia;350000;2026-12-05;9.876.543-3\n"
    "Lucía Fernández;+34 699 12 34 56;+34 911 23 45 67;tardia;420;2026-12-10;\n"
).encode("cp1252")


async def test_csv_upload_maps_columns_keeps_variables_and_explains_bad_rows(
    api: httpx.AsyncClient, database_url: str
) -> None:
    response = await api.post(
        "/campaigns",
        data={"name": "CSV", "start": "false", "policy": json.dumps(QUICK_POLICY)},
        files={"file": ("deudores.csv", CSV_UPLOAD, "text/csv")},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["accepted"] == 2
    assert created["started"] is False
    # Juan is on the third line of the file (the header is the first).
    assert [(r["row"], "phone" in r["reason"]) for r in created["rejected"]] == [(3, True)]
    contacts = (await api.get(f"/campaigns/{created['campaign']['id']}/contacts")).json()
    maria, lucia = contacts
    assert maria["name"] == "María González"
    assert maria["segment"] == "temprana"
    assert maria["variables"] == {
        "monto_total": "200000",
        "fecha_limite": "2026-12-01",
        "RUT": "12.345.678-5",
    }
    assert maria["recipient_timezone"] == "America/Santiago"
    assert lucia["phones"] == ["+34699123456", "+34911234567"]


async def test_upload_limits_and_content_types_answer_clearly(
    app_clients: AppClients, database_url: str, dev_env: WorkflowEnvironment, queue: str
) -> None:
    small = await app_clients.open(
        settings_for(
            database_url,
            _address(dev_env),
            task_queue=queue,
            max_upload_bytes=2048,
            max_contacts_per_campaign=2,
        ),
        dev_env.client,
    )
    big = b"name,phone\n" + b"x,+56961234567\n" * 200
    too_big = await small.post("/campaigns", data={"name": "big"}, files={"file": ("a.csv", big)})
    assert too_big.status_code == 413
    rows3 = b"name,phone\na,+56961234567\nb,+56972345678\nc,+56987654321\n"
    too_many = await small.post("/campaigns", data={"name": "n"}, files={"file": ("a.csv", rows3)})
    assert too_many.status_code == 413
    assert "2" in too_many.json()["detail"]
    plain = await small.post("/campaigns", content=b"hello", headers={"content-type": "text/plain"})
    assert plain.status_code == 415
    no_file = await small.post("/campaigns", data={"name": "n"}, files={"other": ("a.txt", b"x")})
    assert no_file.status_code == 422
    garbage = await small.post(
        "/campaigns", data={"name": "n"}, files={"file": ("a.xlsx", b"PK\x03\x04\x00\x00binary")}
    )
    assert garbage.status_code == 422
    broken_json = await small.post(
        "/campaigns", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken_json.status_code == 422
