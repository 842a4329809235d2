"""Per-tenant agents through the API on real Postgres: create, list, read, replace and
delete flow and LLM agents; the parser's problems come back as 422s; campaigns may name
the tenant's agents and no unknown one; another tenant sees nothing of them; and the
media worker's lookup gives a call its tenant's agent, falling back to the shipped one.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest

from centralita.kernel.calls import DialRequest
from centralita.kernel.db import Pool
from centralita.kernel.settings import Settings
from realtime.agents.flows.schema import AgentDefinition
from realtime.agents.llm.agent import LlmAgentDefinition
from realtime.agents.loader import AgentNotFoundError, load_any_agent, shipped_agents
from realtime.store.agent_lookup import TenantAgents
from tests.support.servers import AppClients, settings_for
from tests.support.stored_calls import insert_campaign
from tests.support.tenants import ADMIN_KEY, other_tenant_client

pytestmark = pytest.mark.integration

FIRST_LINE = "Hola {nombre}, le llama Ramona de la cooperativa Los Andes."


def flow(name: str, first_line: str = FIRST_LINE) -> dict[str, Any]:
    """A copy of the shipped default flow under `name`, opening with `first_line`."""
    data = load_any_agent("cobranza-temprana").model_dump(mode="json", exclude_defaults=True)
    data["name"] = name
    start = next(n for n in data["nodes"] if n["id"] == data["start"])
    start["say"] = [first_line]
    return data


def llm_agent(name: str) -> dict[str, Any]:
    return {
        "kind": "llm",
        "name": name,
        "language": "es-CL",
        "currency": "CLP",
        "model": {
            "base_url": "https://llm.example/v1",
            "model": "gpt-4o-mini",
            "api_key_env": "TENANT_LLM_KEY",
        },
        "prompt": "Eres Ramona, asistente de la cooperativa.",
        "greeting": "Hola, le habla Ramona.",
    }


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


def _name() -> str:
    return f"propio-{uuid.uuid4().hex[:8]}"


async def test_create_read_replace_and_delete_a_flow_agent(api: httpx.AsyncClient) -> None:
    name = _name()
    created = await api.put(f"/agents/{name}", json=flow(name))
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["source"], body["kind"], body["language"]) == ("tenant", "flow", "es-CL")
    assert body["overrides_shipped"] is False
    # What is stored parses as the same flow (the document round-trips).
    assert AgentDefinition.model_validate(body["definition"]).node("saludo").say == [FIRST_LINE]

    got = await api.get(f"/agents/{name}")
    assert got.status_code == 200
    assert got.json()["definition"] == body["definition"]

    replaced = await api.put(f"/agents/{name}", json=flow(name, "Buenas tardes, {nombre}."))
    assert replaced.status_code == 200, replaced.text
    again = (await api.get(f"/agents/{name}")).json()
    start = next(n for n in again["definition"]["nodes"] if n["id"] == "saludo")
    assert start["say"] == ["Buenas tardes, {nombre}."]

    assert (await api.delete(f"/agents/{name}")).status_code == 204
    assert (await api.get(f"/agents/{name}")).status_code == 404
    assert (await api.delete(f"/agents/{name}")).status_code == 404


async def test_an_llm_agent_names_its_key_and_never_holds_one(api: httpx.AsyncClient) -> None:
    name = _name()
    created = await api.put(f"/agents/{name}", json=llm_agent(name))
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "llm"
    stored = LlmAgentDefinition.model_validate(created.json()["definition"])
    assert stored.model.api_key_env == "TENANT_LLM_KEY"

    with_key = llm_agent(name)
    with_key["model"]["api_key"] = "sk-secret-do-not-store"
    refused = await api.put(f"/agents/{name}", json=with_key)
    assert refused.status_code == 422
    assert "model.api_key: Extra inputs are not permitted" in refused.json()["detail"]["problems"]
    assert "sk-secret" not in (await api.get(f"/agents/{name}")).text


async def test_invalid_definitions_answer_the_parsers_problems(api: httpx.AsyncClient) -> None:
    name = _name()
    broken = flow(name)
    broken["start"] = "no-such-node"
    broken["currency"] = "pesos"
    response = await api.put(f"/agents/{name}", json=broken)
    assert response.status_code == 422
    problems = response.json()["detail"]["problems"]
    assert any(p.startswith("currency:") for p in problems), problems
    assert (await api.get(f"/agents/{name}")).status_code == 404  # nothing written

    mismatch = await api.put(f"/agents/{name}", json=flow("otro-nombre"))
    assert mismatch.status_code == 422
    assert "differs from the path" in mismatch.json()["detail"]["problems"][0]

    not_a_mapping = await api.put(f"/agents/{name}", json=["nodes"])
    assert not_a_mapping.status_code == 422


async def test_the_list_shows_own_agents_then_shipped_ones_paginated(
    api: httpx.AsyncClient,
) -> None:
    mine = sorted([_name(), _name()])
    for name in mine:
        assert (await api.put(f"/agents/{name}", json=flow(name))).status_code == 201
    # A tenant's agent of a shipped name takes its place (listed once, as its own).
    replaced = await api.put("/agents/cobranza-tardia", json=flow("cobranza-tardia"))
    assert replaced.status_code == 201, replaced.text
    assert replaced.json()["overrides_shipped"] is True
    try:
        page = (await api.get("/agents", params={"limit": 500})).json()
        items = page["items"]
        own = [a["name"] for a in items if a["source"] == "tenant"]
        shipped = [a["name"] for a in items if a["source"] == "shipped"]
        assert set(mine) <= set(own)
        assert "cobranza-tardia" in own
        assert shipped == sorted(set(shipped_agents()) - {"cobranza-tardia"})
        assert [a["source"] for a in items] == ["tenant"] * len(own) + ["shipped"] * len(shipped)
        assert page["total"] == len(items)
        # Pages cut across both halves without losing or repeating an agent.
        walked: list[str] = []
        for offset in range(0, page["total"], 3):
            part = (await api.get("/agents", params={"limit": 3, "offset": offset})).json()
            assert part["total"] == page["total"]
            walked += [a["name"] for a in part["items"]]
        assert walked == [a["name"] for a in items]
        assert (await api.delete("/agents/cobranza-tardia")).status_code == 204
        assert (await api.get("/agents/cobranza-tardia")).json()["source"] == "shipped"
        assert (await api.delete("/agents/cobranza-tardia")).status_code == 409
    finally:
        await api.delete("/agents/cobranza-tardia")


async def test_another_tenant_cannot_see_or_use_the_agent(
    api: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    name = _name()
    assert (await api.put(f"/agents/{name}", json=flow(name))).status_code == 201
    assert (await other.get(f"/agents/{name}")).status_code == 404
    assert (await other.delete(f"/agents/{name}")).status_code == 404
    listed = (await other.get("/agents", params={"limit": 500})).json()
    assert name not in [a["name"] for a in listed["items"]]
    refused = await other.post("/campaigns", json=_campaign(name))
    assert refused.status_code == 422
    assert name in refused.json()["detail"]
    assert (await api.get(f"/agents/{name}")).status_code == 200  # A's is untouched


def _campaign(agent: str, segment_agent: str = "cobranza-severa") -> dict[str, Any]:
    return {
        "name": "con agente propio",
        "start": False,
        "policy": {"default_agent": agent, "segment_agents": {"severa": segment_agent}},
        "contacts": [{"name": "Ana", "phone": "+56961234567"}],
    }


async def test_campaigns_name_the_tenants_agents_and_no_unknown_one(
    api: httpx.AsyncClient,
) -> None:
    name = _name()
    assert (await api.put(f"/agents/{name}", json=flow(name))).status_code == 201
    accepted = await api.post("/campaigns", json=_campaign(name))
    assert accepted.status_code == 201, accepted.text
    campaign_id = accepted.json()["campaign"]["id"]

    unknown = await api.post("/campaigns", json=_campaign(name, segment_agent="no-existe"))
    assert unknown.status_code == 422
    assert "no-existe" in unknown.json()["detail"]
    assert name not in unknown.json()["detail"]

    # The campaign still names it: deleting it would fail its calls.
    blocked = await api.delete(f"/agents/{name}")
    assert blocked.status_code == 409
    assert campaign_id in blocked.json()["detail"]
    assert (await api.post(f"/campaigns/{campaign_id}/cancel")).status_code in {200, 503}


def _request(key: str, agent: str | None) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number="+56961234567",
        campaign_id="c",
        contact_id="c",
        attempt_number=1,
        agent=agent,
        variables={"nombre": "María", "monto_total": 1000, "fecha_limite": "2026-11-30"},
    )


async def test_the_lookup_gives_a_call_its_tenants_agent(
    pool: Pool, api: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    name = _name()
    assert (await api.put(f"/agents/{name}", json=flow(name))).status_code == 201
    campaign_id = await insert_campaign(pool, "lookup")  # the default tenant's
    key = f"campaign-{campaign_id}-contact-{uuid.uuid4()}-attempt-1"  # no attempt row yet
    agents = TenantAgents(pool, refresh_s=60)

    found = await agents.definition_for(_request(key, name))
    assert isinstance(found, AgentDefinition)
    assert found.node("saludo").say == [FIRST_LINE]
    setup = await agents.setup_for_call(_request(key, name))
    assert setup.config.language == "es"

    # Cached: an edit shows after the refresh, not mid-window.
    assert (await api.put(f"/agents/{name}", json=flow(name, "Otra cosa."))).status_code == 200
    cached = await agents.definition_for(_request(key, name))
    assert isinstance(cached, AgentDefinition)
    assert cached.node("saludo").say == [FIRST_LINE]
    fresh = await TenantAgents(pool, refresh_s=0).definition_for(_request(key, name))
    assert isinstance(fresh, AgentDefinition)
    assert fresh.node("saludo").say == ["Otra cosa."]

    # A shipped name the tenant has not replaced, and the default when none is named.
    assert await agents.definition_for(_request(key, "cobranza-severa")) == load_any_agent(
        "cobranza-severa"
    )
    assert await agents.definition_for(_request(key, None)) == load_any_agent("cobranza-temprana")

    # Another tenant's call (an inbound call is the default tenant's: use B's campaign).
    b_campaign = (await other.post("/campaigns", json=_campaign("cobranza-temprana"))).json()
    b_key = f"campaign-{b_campaign['campaign']['id']}-contact-{uuid.uuid4()}-attempt-1"
    with pytest.raises(AgentNotFoundError):
        await agents.definition_for(_request(b_key, name))


async def test_a_lookup_that_cannot_finish_falls_back_to_the_shipped_agent(
    pool: Pool, api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The tenant replaced the shipped default; a lookup past its deadline gets the shipped.
    replaced = await api.put("/agents/cobranza-severa", json=flow("cobranza-severa"))
    assert replaced.status_code == 201, replaced.text
    try:
        key = f"campaign-{uuid.uuid4()}-contact-x-attempt-1"  # the default tenant's call
        own = await TenantAgents(pool).definition_for(_request(key, "cobranza-severa"))
        assert isinstance(own, AgentDefinition)
        assert own.node("saludo").say == [FIRST_LINE]
        slow = TenantAgents(pool, timeout_s=1e-9)
        with caplog.at_level(logging.WARNING, logger="realtime.store.agent_lookup"):
            found = await slow.definition_for(_request(key, "cobranza-severa"))
        assert found == load_any_agent("cobranza-severa")
        assert "using the shipped one" in caplog.text
    finally:
        await api.delete("/agents/cobranza-severa")
