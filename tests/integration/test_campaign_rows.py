"""Campaign creation judges each row as its call will: on the real app and Postgres.

CSV rows are reported by their file line; rows repeating a phone or an external id, rows
whose segment no agent takes and rows whose agent could not read an amount or a date
are refused; a row missing a variable its agent requires is kept with a warning. The
agent may be the tenant's own (from the database) or a shipped one.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from centralita.kernel.settings import Settings
from realtime.agents.loader import load_any_agent
from tests.support.servers import AppClients, settings_for

pytestmark = pytest.mark.integration

MAPPED = {"segment_agents": {"temprana": "cobranza-temprana", "tardia": "cobranza-tardia"}}

# Line numbers as an editor shows them: 1 header, 2 blank, 5 blank, 6 Excel padding,
# 8-10 one row whose note spans three lines.
CSV = (
    b"nombre;telefono;segmento;monto_total;fecha_limite;nota\n"  # 1
    b"\n"  # 2
    b"Ana;+56 9 6123 4567;temprana;200.000;2026-12-01;\n"  # 3
    b"Beto;+56 9 7234 5678;tardia;abc;2026-12-01;\n"  # 4  unreadable amount
    b"\n"  # 5
    b";;;;;\n"  # 6
    b"Ana bis;+56961234567;temprana;1000;2026-12-01;\n"  # 7  Ana's phone again
    b'Carla;+56 9 8765 4321;tardia;1250,50;2026-12-01;"uno\ndos\ntres"\n'  # 8-10
    b"Dora;+56 9 9123 4567;grave;1000;2026-12-01;\n"  # 11 no agent for `grave`
    b"Eva;912345678;temprana;1000;2026-12-01;\n"  # 12 no country code
    b"Fede;+56 9 8123 4567;temprana;1000;15/12/2026;\n"  # 13 date day first
    b"Gabi;+56 9 7123 4567;temprana;1000;;\n"  # 14 no fecha_limite: a warning
)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url, "127.0.0.1:1")


@pytest.fixture
async def api(settings: Settings, app_clients: AppClients) -> httpx.AsyncClient:
    return await app_clients.open(settings)


async def _contacts(api: httpx.AsyncClient, created: dict[str, Any]) -> list[dict[str, Any]]:
    campaign_id = created["campaign"]["id"]
    found: list[dict[str, Any]] = (await api.get(f"/campaigns/{campaign_id}/contacts")).json()
    return found


async def test_csv_rows_are_reported_by_file_line_with_what_their_agent_needs(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/campaigns",
        data={"name": "líneas", "start": "false", "policy": json.dumps(MAPPED)},
        files={"file": ("deudores.csv", CSV, "text/csv")},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    rejected = {r["row"]: r["reason"] for r in created["rejected"]}
    assert rejected == {
        4: "monto_total 'abc' is not an amount (agent 'cobranza-tardia')",
        7: "duplicate of line 3 (same phone)",
        11: "segment 'grave' has no agent: segment_agents maps tardia, temprana and there "
        "is no default_agent",
        12: "invalid phone '912345678': it has no country code; start it with + and the "
        "country code (+56 9 6123 4567), or set default_region (CL, ES...)",
        13: "fecha_limite '15/12/2026' is not a date (write it as YYYY-MM-DD) "
        "(agent 'cobranza-temprana')",
    }
    assert created["warnings"] == [
        {
            "row": 14,
            "reason": "no fecha_limite, which agent 'cobranza-temprana' requires: a call "
            "that reaches the agent will fail",
        }
    ]
    assert created["accepted"] == 3
    stored = await _contacts(api, created)
    assert [c["name"] for c in stored] == ["Ana", "Carla", "Gabi"]
    assert stored[1]["variables"]["nota"] == "uno\ndos\ntres"


async def test_json_rows_are_reported_by_their_index(api: httpx.AsyncClient) -> None:
    good = {"monto_total": 1000, "fecha_limite": "2026-12-01"}
    response = await api.post(
        "/campaigns",
        json={
            "name": "json",
            "start": False,
            "policy": MAPPED,
            "contacts": [
                {"name": "Ana", "phone": "+56961234567", "segment": "temprana",
                 "external_id": "A1", "variables": good},
                {"name": "Beto", "phone": "+56972345678", "segment": "tardia",
                 "variables": {**good, "monto_total": "NaN"}},
                {"name": "Carla", "phone": "+56987654321", "segment": "tardia",
                 "external_id": "A1", "variables": good},
                {"name": "Dora", "phone": "+56 9 6123 4567", "segment": "tardia",
                 "variables": good},
                {"name": "Eva", "phone": "+56991234567", "variables": good},
                {"name": "Fede", "phone": "+56981234567", "segment": "temprana",
                 "variables": good},
            ],
        },
    )  # fmt: skip
    assert response.status_code == 201, response.text
    created = response.json()
    assert [(r["row"], r["reason"]) for r in created["rejected"]] == [
        (2, "monto_total 'NaN' is not an amount (agent 'cobranza-tardia')"),
        (3, "duplicate of row 1 (same external_id 'A1')"),
        (4, "duplicate of row 1 (same phone)"),
        (
            5,
            "no segment, and the campaign picks its agent by segment (tardia, temprana) "
            "with no default_agent",
        ),
    ]
    assert created["warnings"] == []
    assert [c["name"] for c in await _contacts(api, created)] == ["Ana", "Fede"]


async def test_the_tenants_own_agent_declares_what_is_checked(api: httpx.AsyncClient) -> None:
    name = f"propio-{uuid.uuid4().hex[:8]}"
    definition = load_any_agent("cobranza-temprana").model_dump(mode="json", exclude_defaults=True)
    definition["name"] = name
    definition["variables"] = [
        *definition["variables"],
        {"name": "vence", "kind": "date", "required": True},
    ]
    assert (await api.put(f"/agents/{name}", json=definition)).status_code == 201
    good = {"monto_total": 1000, "fecha_limite": "2026-12-01", "vence": "2026-12-31"}
    response = await api.post(
        "/campaigns",
        json={
            "name": "agente propio",
            "start": False,
            "policy": {"default_agent": name},
            "contacts": [
                {"name": "Ana", "phone": "+56961234567", "variables": good},
                {"name": "Beto", "phone": "+56972345678", "variables": {**good, "vence": "pronto"}},
                {"name": "Carla", "phone": "+56987654321", "variables": {**good, "vence": ""}},
            ],
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert [(r["row"], r["reason"]) for r in created["rejected"]] == [
        (2, f"vence 'pronto' is not a date (write it as YYYY-MM-DD) (agent {name!r})")
    ]
    assert [(w["row"], w["reason"][:9]) for w in created["warnings"]] == [(3, "no vence,")]


async def test_an_unknown_default_region_is_a_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/campaigns",
        json={
            "name": "región",
            "start": False,
            "default_region": "XX",
            "contacts": [{"name": "Ana", "phone": "9 6123 4567"}],
        },
    )
    assert response.status_code == 422
    assert "unknown region 'XX'" in response.text
