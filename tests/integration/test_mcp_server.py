"""Centralita as an MCP server, through the `mcp` SDK's own client over real HTTP.

The API app is served by uvicorn on 127.0.0.1 with a real Temporal dev server, the
production orchestrator worker (a simulated carrier whose personas do not answer, so
campaigns keep calling) and Postgres. An operator's assistant lists the tools, creates
a campaign from a Spanish CSV with a bad row, pauses and resumes it, reads its progress
and figures, a contact's history, a stored call's transcript and analysis, and searches
a document indexed for the tenant. A second tenant's key reaches none of it; no key,
a wrong key, a key in the URL or the admin key get no tool at all.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.knowledge.embeddings import embedder_for
from centralita.knowledge.indexing import index_now
from centralita.postcall.store import save_analysis
from realtime.carrier.simulated import Persona, PersonaStep, SimulatedCarrier
from tests.support.servers import (
    AppClients,
    api_key_for,
    bearer,
    orchestrator_worker,
    serving,
    settings_for,
    task_queue,
)
from tests.support.stored_calls import StoredCall, insert_campaign, store_answered_call
from tests.support.tenants import ADMIN_KEY, new_tenant

pytestmark = pytest.mark.integration

TOOLS = {
    "create_campaign_from_csv",
    "pause_campaign",
    "resume_campaign",
    "campaign_progress",
    "campaign_stats",
    "list_campaigns",
    "campaign_contacts",
    "contact_history",
    "call_transcript",
    "search_knowledge",
}

# A collections team's export: Spanish headers, `;`, the amount and due date the agent
# reads (Chilean thousands). Line 4's phone has no country code and no region to add one.
CSV = (
    "Nombre Completo;Teléfono;RUT;monto_total;fecha_limite\n"  # 1
    "María José Pérez;+56 9 6100 0001;12.345.678-9;150.000;2026-12-20\n"  # 2
    "Juan Carlos Muñoz;+56 9 6100 0002;9.876.543-2;89.990;2026-12-20\n"  # 3
    "Pedro Soto;96100003;11.111.111-1;45.000;2026-12-20\n"  # 4: no country code
)
BAD_LINE = 4

# Calls ring and are not answered: the campaign keeps retrying, so it is running
# (and pausable) for as long as the test needs.
PERSONAS = [
    Persona(
        number=f"+5696100000{i}",
        name=f"persona {i}",
        script=[PersonaStep(outcome=CallOutcome.NO_ANSWER, ring_seconds=0.3)],
    )
    for i in (1, 2, 3)
]
KEEP_CALLING: dict[str, Any] = {
    "profile": "unrestricted",
    "schedule": {
        "timezone": "America/Santiago",
        "batch_slots": ["00:00"],
        "window_end": "00:00",
        "weekdays": list(range(7)),
        "daily_quota": 10_000,
    },
    "caps": {"max_attempts": 200, "calls_per_day": 200, "no_answer_days_to_exclude": 3},
    "retry": {"no_answer_seconds": 1, "busy_seconds": 1, "failure_seconds": 1},
    "concurrency": 2,
}

FAQ = """# Condiciones de pago

## Pago en cuotas

Puede pagar su deuda en hasta 6 cuotas sin interés si la deuda es menor a 500.000 pesos.
La primera cuota se paga al firmar el convenio.

## Medios de pago

Transferencia bancaria, Webpay o en caja en cualquier sucursal.
"""


@dataclass(frozen=True)
class Served:
    """The served API and the keys of the two tenants."""

    url: str
    key_a: str  # the default tenant's
    key_b: str  # a second tenant's


@pytest.fixture(scope="module")
async def served(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> AsyncIterator[Served]:
    queue = task_queue()
    address = dev_env.client.service_client.config.target_host
    settings = settings_for(database_url, address, task_queue=queue, admin_api_key=ADMIN_KEY)
    app = create_app(settings, temporal_client=dev_env.client)
    async with (
        orchestrator_worker(dev_env.client, queue, pool, SimulatedCarrier(PERSONAS)),
        serving(app) as url,
        httpx.AsyncClient(base_url=url, headers=bearer(ADMIN_KEY)) as admin,
    ):
        _, key_b = await new_tenant(admin, "Recobros Ibérica")
        yield Served(url, await api_key_for(database_url), key_b)


@asynccontextmanager
async def connected(url: str, key: str, mode: str = "auto") -> AsyncIterator[Client]:
    """An MCP client of the SDK presenting `key` on every request."""
    async with (
        httpx2.AsyncClient(headers=bearer(key), timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client,
    ):
        yield client


def data(result: CallToolResult) -> Any:
    """A successful call's structured result."""
    assert not result.is_error, result.content
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    """A failed call's message."""
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 15.0) -> Any:
    """The first truthy value of `check`; fails after `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.1)


async def status_of(client: Client, campaign_id: str) -> str:
    progress = data(await client.call_tool("campaign_progress", {"campaign_id": campaign_id}))
    return str(progress["status"])


@pytest.fixture(scope="module")
async def campaign(served: Served) -> AsyncIterator[dict[str, Any]]:
    """The campaign tenant A's assistant created from `CSV` (running); cancelled after."""
    async with connected(served.url, served.key_a) as client:
        result = await client.call_tool(
            "create_campaign_from_csv",
            {
                "csv": CSV,
                "name": "Cobranza diciembre",
                "agent": "cobranza-temprana",
                "policy": KEEP_CALLING,
            },
        )
        created: dict[str, Any] = data(result)
    yield created
    async with httpx.AsyncClient(base_url=served.url, headers=bearer(served.key_a)) as api:
        await api.post(f"/campaigns/{created['campaign']['id']}/cancel")


@pytest.fixture(scope="module")
async def stored_call(pool: Pool) -> StoredCall:
    """An answered call of tenant A with its post-call analysis."""
    call = await store_answered_call(
        pool,
        await insert_campaign(pool, name="llamadas guardadas"),
        [
            ("¿Aló? Sí, con ella.", "Buenos días, María. Le llamo por su deuda de 150.000 pesos."),
            (
                "Puedo pagar el viernes.",
                "Perfecto, queda registrado su compromiso para el viernes.",
            ),
        ],
        started=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
    )
    summary = "La clienta promete pagar 150.000 pesos el viernes."
    async with pool.connection() as conn:
        await save_analysis(
            conn,
            call.call_id,
            1,
            {
                "intent": "promise_to_pay",
                "intent_confidence": 0.92,
                "sentiment_trend": "improving",
                "success": True,
                "quality": 0.85,
                "summary": summary,
            },
            {"summary": summary, "intent": {"intent": "promise_to_pay", "confidence": 0.92}},
        )
    return call


@pytest.fixture(scope="module")
async def document_id(pool: Pool, served: Served) -> str:
    """A payment conditions document indexed for tenant A with the API's embedder."""
    embedder = embedder_for("local")
    async with pool.connection() as conn:
        stored = await index_now(
            conn, DEFAULT_TENANT_ID, FAQ.encode(), filename="condiciones.md", embedder=embedder
        )
    return stored.id


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_tools_are_listed_with_their_arguments(served: Served, mode: str) -> None:
    async with connected(served.url, served.key_a, mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        # Both eras are served: the initialize handshake (today's desktop clients) and
        # the newer one without it, which `auto` negotiates.
        handshake = client.session.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS
        assert handshake == (mode == "legacy")
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description, tool.name
        assert tool.input_schema["type"] == "object", tool.name
    create = tools["create_campaign_from_csv"]
    assert set(create.input_schema["required"]) == {"csv", "name"}
    assert "description" in create.input_schema["properties"]["policy"]
    assert tools["campaign_progress"].annotations is not None
    assert tools["campaign_progress"].annotations.read_only_hint is True
    assert tools["pause_campaign"].annotations is not None
    assert tools["pause_campaign"].annotations.read_only_hint is False


async def test_a_csv_becomes_a_campaign_with_its_bad_row_reported_as_rest_does(
    served: Served, campaign: dict[str, Any]
) -> None:
    assert campaign["accepted"] == 2
    assert campaign["warnings"] == []
    assert campaign["started"] is True
    assert campaign["campaign"]["name"] == "Cobranza diciembre"
    assert campaign["campaign"]["contacts_total"] == 2
    assert [r["row"] for r in campaign["rejected"]] == [BAD_LINE]
    assert "no country code" in campaign["rejected"][0]["reason"]
    # The same file through POST /campaigns is judged the same, line for line.
    async with httpx.AsyncClient(base_url=served.url, headers=bearer(served.key_a)) as api:
        response = await api.post(
            "/campaigns",
            data={
                "name": "la misma por REST",
                "start": "false",
                "policy": json.dumps({**KEEP_CALLING, "default_agent": "cobranza-temprana"}),
            },
            files={"file": ("deudores.csv", CSV.encode(), "text/csv")},
        )
    assert response.status_code == 201, response.text
    assert response.json()["rejected"] == campaign["rejected"]
    assert response.json()["accepted"] == campaign["accepted"]


async def test_pause_and_resume_show_in_the_progress(
    served: Served, campaign: dict[str, Any]
) -> None:
    campaign_id = campaign["campaign"]["id"]
    async with connected(served.url, served.key_a) as client:
        await eventually(lambda: _is(client, campaign_id, "running"))
        # The workflow dials: attempts appear by outcome as the personas do not answer.
        progress = await eventually(lambda: _progress_with_attempts(client, campaign_id))
        assert set(progress["attempts_by_outcome"]) == {"no_answer"}
        assert sum(progress["contacts_by_state"].values()) == 2

        paused = data(await client.call_tool("pause_campaign", {"campaign_id": campaign_id}))
        assert paused["id"] == campaign_id
        await eventually(lambda: _is(client, campaign_id, "paused"))
        data(await client.call_tool("resume_campaign", {"campaign_id": campaign_id}))
        await eventually(lambda: _is(client, campaign_id, "running"))

        stats = data(await client.call_tool("campaign_stats", {"campaign_id": campaign_id}))
    assert stats["campaign_id"] == campaign_id
    assert stats["totals"]["attempts"] >= 1


async def _is(client: Client, campaign_id: str, status: str) -> bool:
    return await status_of(client, campaign_id) == status


async def _progress_with_attempts(client: Client, campaign_id: str) -> dict[str, Any] | None:
    progress = data(await client.call_tool("campaign_progress", {"campaign_id": campaign_id}))
    return progress if progress["attempts_by_outcome"] else None


async def test_a_contacts_history_and_memory(served: Served, campaign: dict[str, Any]) -> None:
    maria = await _contact_named(served, campaign, "María José Pérez")
    async with connected(served.url, served.key_a) as client:
        history = data(
            await client.call_tool("contact_history", {"contact_id": maria, "language": "es"})
        )
    assert history["contact"]["id"] == maria
    assert history["contact"]["name"] == "María José Pérez"
    assert history["contact"]["variables"]["monto_total"] == "150.000"
    assert history["memory"]["contact_id"] == maria
    assert isinstance(history["memory"]["context_unverified"], str)


async def _contact_named(served: Served, campaign: dict[str, Any], name: str) -> str:
    campaign_id = campaign["campaign"]["id"]
    async with connected(served.url, served.key_a) as client:
        listed = data(await client.call_tool("campaign_contacts", {"campaign_id": campaign_id}))
    return str(next(c["id"] for c in listed["result"] if c["name"] == name))


async def test_campaigns_and_their_contacts_are_listed(
    served: Served, campaign: dict[str, Any]
) -> None:
    campaign_id = campaign["campaign"]["id"]
    async with connected(served.url, served.key_a) as client:
        listed = data(await client.call_tool("list_campaigns", {"limit": 50}))
        contacts = data(await client.call_tool("campaign_contacts", {"campaign_id": campaign_id}))
    names = {c["id"]: c["name"] for c in listed["result"]}
    assert names[campaign_id] == "Cobranza diciembre"
    assert [c["name"] for c in contacts["result"]] == ["María José Pérez", "Juan Carlos Muñoz"]
    assert contacts["result"][0]["phones"] == ["+56961000001"]


async def test_a_calls_transcript_and_analysis(served: Served, stored_call: StoredCall) -> None:
    async with connected(served.url, served.key_a) as client:
        by_id = data(await client.call_tool("call_transcript", {"call": stored_call.call_id}))
        by_key = data(await client.call_tool("call_transcript", {"call": stored_call.key}))
    assert by_id == by_key
    assert by_id["outcome"] == "promise_to_pay"
    assert [t["user_text"] for t in by_id["turns"]] == [
        "¿Aló? Sí, con ella.",
        "Puedo pagar el viernes.",
    ]
    assert by_id["analysis"]["summary"] == "La clienta promete pagar 150.000 pesos el viernes."


async def test_the_knowledge_base_is_searched(served: Served, document_id: str) -> None:
    async with connected(served.url, served.key_a) as client:
        found = data(
            await client.call_tool(
                "search_knowledge", {"question": "¿Puedo pagar en cuotas?", "k": 3}
            )
        )
    assert found["hits"], found
    best = found["hits"][0]
    assert best["document_id"] == document_id
    assert "6 cuotas" in best["text"]


async def test_another_tenant_reaches_nothing_of_the_first(
    served: Served, campaign: dict[str, Any], stored_call: StoredCall, document_id: str
) -> None:
    campaign_id = campaign["campaign"]["id"]
    maria = await _contact_named(served, campaign, "María José Pérez")
    async with connected(served.url, served.key_b) as other:
        refused = {
            "campaign_progress": {"campaign_id": campaign_id},
            "campaign_stats": {"campaign_id": campaign_id},
            "pause_campaign": {"campaign_id": campaign_id},
            "resume_campaign": {"campaign_id": campaign_id},
            "contact_history": {"contact_id": maria},
            "campaign_contacts": {"campaign_id": campaign_id},
        }
        for tool, arguments in refused.items():
            message = error_text(await other.call_tool(tool, arguments))
            assert message.endswith(f"campaign {campaign_id} not found") or message.endswith(
                f"contact {maria} not found"
            ), (tool, message)
        for call in (stored_call.call_id, stored_call.key):
            message = error_text(await other.call_tool("call_transcript", {"call": call}))
            assert message.endswith(f"call {call} not found"), message
        found = data(
            await other.call_tool("search_knowledge", {"question": "¿Puedo pagar en cuotas?"})
        )
        assert found["hits"] == []
        listed = data(await other.call_tool("list_campaigns", {}))
        assert campaign_id not in {c["id"] for c in listed["result"]}
    async with connected(served.url, served.key_a) as client:
        assert await status_of(client, campaign_id) != "paused"  # B's pause did nothing


async def test_bad_arguments_get_clear_tool_errors(served: Served) -> None:
    async with connected(served.url, served.key_a) as client:
        missing = error_text(await client.call_tool("create_campaign_from_csv", {"csv": CSV}))
        assert missing.endswith(
            "invalid arguments for create_campaign_from_csv: name: Field required"
        )
        assert "María" not in missing  # the arguments' values never come back
        only_bad = error_text(
            await client.call_tool(
                "create_campaign_from_csv",
                {"csv": "nombre;telefono\nPedro;123\n", "name": "mala", "policy": KEEP_CALLING},
            )
        )
        assert "invalid: " in only_bad
        assert "no valid contact" in only_bad
        assert '"row": 2' in only_bad
        unknown_agent = error_text(
            await client.call_tool(
                "create_campaign_from_csv", {"csv": CSV, "name": "x", "agent": "no-existe"}
            )
        )
        assert "no-existe" in unknown_agent
        not_a_table = error_text(
            await client.call_tool("create_campaign_from_csv", {"csv": "hola", "name": "x"})
        )
        assert "invalid: unreadable CSV" in not_a_table
        too_few = error_text(
            await client.call_tool("search_knowledge", {"question": "cuotas", "k": 0})
        )
        assert too_few.endswith("k: Input should be greater than or equal to 1")
        message = error_text(await client.call_tool("call_transcript", {"call": "nada"}))
        assert message.endswith("call nada not found")
        message = error_text(
            await client.call_tool("pause_campaign", {"campaign_id": str(uuid.uuid4())})
        )
        assert message.endswith("not found")
        assert "campaign" in message


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "curl", "version": "1"},
    },
}
ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    [
        ({}, "", 401),
        (bearer("ctk_nadie_000000000000000000000000"), "", 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "", 401),
        ({}, "?access_token=KEY", 401),  # keys never in URLs but on streams and links
        (bearer(ADMIN_KEY), "", 403),  # the admin key acts for no tenant
    ],
    ids=["no key", "unknown key", "not bearer", "key in the URL", "admin key"],
)
async def test_no_tool_without_a_tenants_key(
    served: Served, headers: dict[str, str], query: str, status: int
) -> None:
    async with httpx.AsyncClient(base_url=served.url) as http:
        response = await http.post(
            f"/mcp{query.replace('KEY', served.key_a)}",
            json=INITIALIZE,
            headers={**ACCEPT, **headers},
        )
    assert response.status_code == status, response.text
    assert "detail" in response.json()
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    else:
        assert "admin key" in response.json()["detail"]
    async with httpx.AsyncClient(base_url=served.url) as http:
        response = await http.post(
            "/mcp", json=INITIALIZE, headers={**ACCEPT, **bearer(served.key_a)}
        )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["serverInfo"]["name"] == "centralita"


async def test_a_body_over_the_request_limit_is_refused(served: Served) -> None:
    # The API's body limit (max_request_bytes, 1 MiB) covers /mcp: larger files go to
    # POST /campaigns, which takes max_upload_bytes.
    rows = "".join(f"Cliente {i};+5696{i:07d}\n" for i in range(60_000))
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {
            "name": "create_campaign_from_csv",
            "arguments": {"csv": "nombre;telefono\n" + rows, "name": "grande"},
        },
    }
    async with httpx.AsyncClient(base_url=served.url) as http:
        response = await http.post("/mcp", json=call, headers={**ACCEPT, **bearer(served.key_a)})
    assert response.status_code == 413, response.text
    assert "max_request_bytes" in response.json()["detail"]


async def test_a_revoked_key_gets_no_more_tools(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, headers=bearer(ADMIN_KEY)) as admin:
        tenant_id, _ = await new_tenant(admin, "revocada")
        made = await admin.post(f"/admin/tenants/{tenant_id}/api-keys", json={"name": "mcp"})
        key = made.json()
        async with connected(served.url, key["key"]) as client:
            assert len((await client.list_tools()).tools) == len(TOOLS)
        revoked = await admin.delete(f"/admin/api-keys/{key['id']}")
        assert revoked.is_success, revoked.text
    async with httpx.AsyncClient(base_url=served.url) as http:
        response = await http.post(
            "/mcp", json=INITIALIZE, headers={**ACCEPT, **bearer(key["key"])}
        )
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_an_in_process_app_serves_mcp_and_ends_in_another_task(
    app_clients: AppClients, database_url: str
) -> None:
    # AppClients enters the app's lifespan in the fixture's task and leaves it in the
    # teardown's: the MCP session manager must not mind (this test errors at teardown
    # if it does).
    api = await app_clients.open(settings_for(database_url, "127.0.0.1:1"))
    response = await api.post("/mcp", json=INITIALIZE, headers=ACCEPT)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["serverInfo"]["name"] == "centralita"
