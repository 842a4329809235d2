"""Tenants are walled off: every route of the app, called by tenant B with ids that exist
but belong to tenant A, answers 404 (or, for collections and creations, nothing of A's).

The walk iterates the app's routes, so a route added later is walked too: one whose
path parameter this file cannot fill, or whose body it has no sample of, fails the test
until it is taught here; one that forgets to scope its query fails the walk itself.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import TenantId
from api.deps import Services
from centralita.actions.models import Invocation
from centralita.actions.store.invocations import record_invocation
from centralita.handoff import callbacks_store, queue_store
from centralita.handoff.models import HandoffContext, NewHandoff, NewHumanCallback
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.settings import Settings
from centralita.knowledge.embeddings import embedder_for
from centralita.knowledge.store import replace_chunks
from centralita.messaging.message_store import NewMessage, record_sent
from realtime.agents.loader import load_any_agent
from tests.support.servers import AppClients, bearer, settings_for, task_queue
from tests.support.stored_calls import insert_campaign, store_answered_call
from tests.support.tenants import ADMIN_KEY, Route, app_routes, new_tenant

pytestmark = pytest.mark.integration

# Markers only tenant A's rows carry: none may show up in anything tenant B is answered.
A_CAMPAIGN_NAME = "campaña-solo-de-A"
A_LEXICON_TEXT = "Patagonia Solo De A"
A_PROPOSAL_RIGHT = "propuesta-solo-de-A"
A_AGENT = "agente-solo-de-a"  # a flow of A's; B may store its own of the same name
A_AGENT_LINE = "Hola, habla el agente solo de A."
A_PHONE = "+56961234567"  # the stored call's contact; A opted it out too
A_OPEN_PHONE = "+56987650000"  # a contact of A still to be called
B_PHONE = "+56911110000"  # what B opts out in the walk (its own row: B may delete it)
A_CARRIER_ACCOUNT = "cuenta-solo-de-A"  # A's carrier account's name
A_NUMBER = "+56229990123"  # a number A routes
B_NUMBER = "+56229990456"  # what B tries to route through A's carrier account
A_PAYMENT = "pago-solo-de-A"  # a payment A reported for A_PHONE (in its contact's memory)
A_KNOWLEDGE_TITLE = "conocimiento-solo-de-A"  # A's knowledge document
A_KNOWLEDGE_TEXT = "Pague en la Caja Solo De A, sucursal Providencia."  # its one chunk
A_WHATSAPP_SENDER = "whatsapp-solo-de-A"  # A's WhatsApp sender's name
A_MESSAGE = "Hola, este es su link de pago solo de A"  # a message A's call sent
A_TOOL = "herramienta_solo_de_a"  # A's HTTP tool (a call of A's used it)
A_MCP_SERVER = "mcpsolodea"  # A's MCP server
A_OPERATOR = "operadora-solo-de-A"  # A's operator, who took A's handed-off call
A_CALLER = "María Solo De A"  # the caller in A's handoff and callback contexts

# Routes that hold no tenant's data, and why they are not walked.
NOT_TENANT_RESOURCES: dict[tuple[str, str], str] = {
    ("POST", "/softphone/calls"): "the softphone plays a phone on the public network",
    ("GET", "/softphone/numbers/{number}/next"): "a phone number's ringing, not a tenant's",
    ("POST", "/softphone/calls/{call_id}/answer"): "the phone side of a call",
    ("POST", "/softphone/calls/{call_id}/hangup"): "the phone side of a call",
}
# Routes only the admin key may call: tenant B is refused outright.
ADMIN_ONLY_PREFIXES = ("/admin/",)
ADMIN_ONLY = {("POST", "/retention/purge")}
# Routes whose path names a resource in the caller's own namespace: B's request acts on
# B's resource of that name (B's PUT stores B's own agent, A's stays as it was).
CALLERS_OWN: dict[tuple[str, str], set[int]] = {("PUT", "/agents/{agent_name}"): {201}}


@dataclass
class TenantA:
    """Ids of tenant A's rows, by the path parameter names that carry them."""

    campaign_id: str = ""
    contact_id: str = ""
    call_id: str = ""
    ended_key: str = ""  # a stored call's attempt key (its live events ended)
    live_key: str = ""  # an attempt under way now
    webhook_id: str = ""
    delivery_id: str = ""
    entry_id: int = 0
    proposal_id: int = 0
    correction_id: int = 0
    reanalysis_id: str = "walk-of-tenant-a"
    key_id: str = ""
    agent_name: str = A_AGENT
    account_id: str = ""
    document_id: str = ""
    sender_id: str = ""
    message_id: str = ""
    operator_id: str = ""
    handoff_id: str = ""
    callback_id: str = ""
    markers: set[str] = field(default_factory=set)

    def values(self, param: str) -> list[str]:
        """What to put in path parameter `param` (each value is walked)."""
        by_name: dict[str, list[str]] = {
            "campaign_id": [self.campaign_id],
            "contact_id": [self.contact_id],
            "call_id": [self.call_id],
            "attempt_key": [self.ended_key, self.live_key],
            "call_key": [self.ended_key, self.live_key],
            "ref": [self.call_id, self.ended_key, self.live_key],
            "webhook_id": [self.webhook_id],
            "delivery_id": [self.delivery_id],
            "entry_id": [str(self.entry_id)],
            "proposal_id": [str(self.proposal_id)],
            "correction_id": [str(self.correction_id)],
            "phone": [quote(A_PHONE, safe="")],
            "reanalysis_id": [self.reanalysis_id],
            "tenant_id": [DEFAULT_TENANT_ID],
            "key_id": [self.key_id],
            "agent_name": [self.agent_name],
            "account_id": [self.account_id],
            "phone_number": [quote(A_NUMBER, safe="")],
            "document_id": [self.document_id],
            "sender_id": [self.sender_id],
            "message_id": [self.message_id],
            "operator_id": [self.operator_id],
            "handoff_id": [self.handoff_id],
            "callback_id": [self.callback_id],
            "tool_name": [A_TOOL],
            "server_name": [A_MCP_SERVER],
        }
        assert param in by_name, f"teach the walk what tenant A's {param!r} is"
        return by_name[param]


def _bodies(a: TenantA) -> dict[tuple[str, str], Any]:
    """A valid body for every route that needs one (validation must not stop the walk
    before the tenant check)."""
    return {
        ("POST", "/campaigns"): {
            "name": "de B",
            "start": False,
            "contacts": [{"name": "Ana", "phone": A_PHONE}],
        },
        ("PATCH", "/campaigns/{campaign_id}"): {"concurrency": 2},
        ("POST", "/calls/{call_key}/inject"): {"message": "hola"},
        ("POST", "/opt-outs"): {"phone": B_PHONE},
        ("PATCH", "/learning/proposals/{proposal_id}"): {"right": "otra cosa"},
        ("POST", "/calls/{call_id}/transcript-edits"): {"segment_index": 0, "text": "hola"},
        ("POST", "/lexicon"): [{"kind": "company", "text": "Empresa De B"}],
        ("POST", "/reanalyses"): {"analysis_version": 2, "campaign_id": a.campaign_id},
        ("POST", "/webhooks"): {"url": "http://127.0.0.1:9/hook"},
        ("POST", "/admin/tenants"): {"name": "walked"},
        ("PUT", "/agents/{agent_name}"): _flow(a.agent_name, "Hola, habla el agente de B."),
        ("POST", "/carrier-accounts"): _carrier_account("de B"),
        ("POST", "/phone-numbers"): {
            "number": B_NUMBER,
            "carrier_account_id": a.account_id,
            "agent": "cobranza-temprana",
        },
        ("PUT", "/phone-numbers/{phone_number}"): {
            "carrier_account_id": a.account_id,
            "agent": "cobranza-temprana",
        },
        ("POST", "/payments"): _payment("pago-de-B"),
        ("POST", "/whatsapp-senders"): _whatsapp_sender("whatsapp de B"),
        ("PATCH", "/whatsapp-senders/{sender_id}"): {"name": "whatsapp de B"},
        # B's question must find none of A's chunks (its own knowledge base is empty).
        # The upload route takes multipart: the walk's JSON is refused (422), harmlessly.
        ("POST", "/knowledge/search"): {"question": "¿dónde puedo pagar?", "k": 10},
        ("POST", "/tools"): _http_tool("herramienta_de_b"),
        ("PUT", "/tools/{tool_name}"): _http_tool(A_TOOL),
        ("POST", "/mcp-servers"): _mcp_server("mcpdeb"),
        ("POST", "/operators/sign-in"): {"name": "operadora de B"},
        ("PUT", "/operators/{operator_id}/status"): {"status": "offline"},
        ("POST", "/operators/{operator_id}/answer"): {"sdp": "v=0"},
        ("POST", "/handoffs/{handoff_id}/wrap-up"): {
            "operator_id": a.operator_id,
            "disposition": "resolved",
        },
        ("POST", "/human-callbacks/{callback_id}/done"): {
            "operator_id": a.operator_id,
            "disposition": "resolved",
        },
    }


def _http_tool(name: str) -> dict[str, Any]:
    return {"name": name, "description": "consulta", "url": "http://127.0.0.1:9/tool"}


def _mcp_server(name: str) -> dict[str, Any]:
    return {"name": name, "url": "http://127.0.0.1:9/mcp", "allowed_tools": ["x"],
            "token": "token-of-the-tenant-walk-4567"}  # fmt: skip


async def _seed_tools(pool: Pool, a_api: httpx.AsyncClient, a: TenantA) -> None:
    """A's HTTP tool and MCP server, and a call of A's that used the tool."""
    tool = await a_api.post("/tools", json=_http_tool(A_TOOL))
    assert tool.status_code == 201, tool.text
    server = await a_api.post("/mcp-servers", json=_mcp_server(A_MCP_SERVER))
    assert server.status_code == 201, server.text
    used = Invocation(a.ended_key, A_AGENT, A_TOOL, "http", {}, {"ok": True}, 12.0, True, None)
    async with pool.connection() as conn:
        await record_invocation(conn, DEFAULT_TENANT_ID, used)


def _payment(reference: str) -> dict[str, Any]:
    """A payment for A_PHONE (B's own, when B reports it)."""
    return {
        "reference": reference,
        "phone": A_PHONE,
        "amount": "1000",
        "currency": "CLP",
        "paid_on": "2025-03-27",
    }


def _carrier_account(name: str) -> dict[str, Any]:
    return {
        "carrier": "twilio",
        "name": name,
        "account_sid": "AC" + "0" * 32,
        "auth_token": "token-of-the-tenant-walk-0123",
    }


def _whatsapp_sender(name: str) -> dict[str, Any]:
    return {
        "provider": "twilio",
        "name": name,
        "account_sid": "AC" + "0" * 32,
        "auth_token": "token-of-the-tenant-walk-0123",
        "from_number": "+56229990789",
    }


async def _seed_whatsapp(pool: Pool, a_api: httpx.AsyncClient, a: TenantA) -> None:
    """A's WhatsApp sender, and a message one of A's calls sent through it."""
    sender = await a_api.post("/whatsapp-senders", json=_whatsapp_sender(A_WHATSAPP_SENDER))
    assert sender.status_code == 201, sender.text
    a.sender_id = sender.json()["id"]
    message = NewMessage(DEFAULT_TENANT_ID, a.sender_id, "twilio", "SM" + "a" * 32, A_PHONE,
                         A_MESSAGE, "queued", call_key=a.ended_key)  # fmt: skip
    async with pool.connection() as conn:
        a.message_id = await record_sent(conn, message)


def _flow(name: str, first_line: str) -> dict[str, Any]:
    """A copy of the shipped default flow under `name`, opening with `first_line`."""
    data = load_any_agent("cobranza-temprana").model_dump(mode="json", exclude_defaults=True)
    data["name"] = name
    next(n for n in data["nodes"] if n["id"] == data["start"])["say"] = [first_line]
    return data


def _expected_statuses(route: Route) -> set[int] | None:
    """What tenant B must be answered; None: any status, but nothing of A's in it."""
    if (route.method, route.path) in CALLERS_OWN:
        return CALLERS_OWN[(route.method, route.path)]
    if route.path.startswith(ADMIN_ONLY_PREFIXES) or (route.method, route.path) in ADMIN_ONLY:
        return {403}
    if route.params:
        return {404}
    return None


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(
        database_url,
        "127.0.0.1:1",
        admin_api_key=ADMIN_KEY,
        webhook_allow_hosts=["127.0.0.1"],
        post_call_task_queue=task_queue(),  # nothing runs the re-analyses started here
    )


async def _seed_tenant_a(pool: Pool, a_api: httpx.AsyncClient, admin: httpx.AsyncClient) -> TenantA:
    a = TenantA()
    a.campaign_id = await insert_campaign(pool, A_CAMPAIGN_NAME, "running")
    started = datetime.now(UTC) - timedelta(hours=1)
    stored = await store_answered_call(pool, a.campaign_id, [("hola", "buenas")], started=started)
    a.call_id, a.contact_id, a.ended_key = stored.call_id, stored.contact_id, stored.key
    a.live_key = f"campaign-{a.campaign_id}-contact-{a.contact_id}-attempt-2"
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, status) VALUES (%s, %s, %s, %s, 2, %s, 'dialing')",
            (a.live_key, DEFAULT_TENANT_ID, a.campaign_id, a.contact_id, A_PHONE),
        )
        await conn.execute(
            "INSERT INTO contacts (tenant_id, campaign_id, position, name, phones) "
            "VALUES (%s, %s, 1, 'Pendiente', %s)",
            (DEFAULT_TENANT_ID, a.campaign_id, [A_OPEN_PHONE]),
        )
        events = [(a.ended_key, 0, "call_started"), (a.ended_key, 1, "call_ended")]
        events.append((a.live_key, 0, "call_started"))
        for key, seq, kind in events:
            await conn.execute(
                "INSERT INTO live_call_events (call_key, seq, type, at_s) VALUES (%s, %s, %s, 0)",
                (key, seq, kind),
            )
        cur = await conn.execute(
            "INSERT INTO call_corrections (call_id, pass, segment_index, word_start, word_end, "
            "level, score, before, after) VALUES (%s, 'offline', 0, 0, 1, 'L1', 1, 'hola', "
            "'Hola') RETURNING id",
            (a.call_id,),
        )
        a.correction_id = (await cur.fetchone() or {})["id"]
        cur = await conn.execute(
            'INSERT INTO lexicon_proposals (tenant_id, kind, wrong, "right", source) '
            "VALUES (%s, 'dictionary', 'malo', %s, 'human_edit') RETURNING id",
            (DEFAULT_TENANT_ID, A_PROPOSAL_RIGHT),
        )
        a.proposal_id = (await cur.fetchone() or {})["id"]

    entry = await a_api.post("/lexicon", json=[{"kind": "company", "text": A_LEXICON_TEXT}])
    assert entry.status_code == 201, entry.text
    a.entry_id = entry.json()[0]["id"]
    webhook = await a_api.post("/webhooks", json={"url": "http://127.0.0.1:9/a"})
    assert webhook.status_code == 201, webhook.text
    a.webhook_id = webhook.json()["id"]
    sent = await a_api.post(f"/webhooks/{a.webhook_id}/test")
    assert sent.status_code == 200, sent.text
    a.delivery_id = sent.json()["delivery_id"]
    opted = await a_api.post("/opt-outs", json={"phone": A_PHONE, "reason": "A's own"})
    assert opted.status_code == 201, opted.text
    started_reanalysis = await a_api.post(
        "/reanalyses", json={"id": a.reanalysis_id, "analysis_version": 2}
    )
    assert started_reanalysis.status_code == 202, started_reanalysis.text
    agent = await a_api.put(f"/agents/{A_AGENT}", json=_flow(A_AGENT, A_AGENT_LINE))
    assert agent.status_code == 201, agent.text
    [key] = (await admin.get(f"/admin/tenants/{DEFAULT_TENANT_ID}/api-keys")).json()[:1]
    a.key_id = key["id"]
    account = await a_api.post("/carrier-accounts", json=_carrier_account(A_CARRIER_ACCOUNT))
    assert account.status_code == 201, account.text
    a.account_id = account.json()["id"]
    number = {"number": A_NUMBER, "carrier_account_id": a.account_id, "agent": A_AGENT}
    routed = await a_api.post("/phone-numbers", json=number)
    assert routed.status_code == 201, routed.text
    paid = await a_api.post("/payments", json=_payment(A_PAYMENT))
    assert paid.status_code == 201, paid.text
    a.document_id = await _seed_knowledge(pool, a_api)
    await _seed_whatsapp(pool, a_api, a)
    await _seed_tools(pool, a_api, a)
    await _seed_human_queue(pool, a_api, a)

    a.markers = {
        a.campaign_id,
        a.contact_id,
        a.call_id,
        a.ended_key,
        a.live_key,
        a.webhook_id,
        a.delivery_id,
        A_CAMPAIGN_NAME,
        A_LEXICON_TEXT,
        A_PROPOSAL_RIGHT,
        A_AGENT,
        A_AGENT_LINE,
        "A's own",
        a.account_id,
        A_CARRIER_ACCOUNT,
        A_NUMBER,
        A_PAYMENT,
        a.document_id,
        A_TOOL,
        A_MCP_SERVER,
        A_KNOWLEDGE_TITLE,
        A_KNOWLEDGE_TEXT,
        a.sender_id,
        A_WHATSAPP_SENDER,
        a.message_id,
        A_MESSAGE,
        a.operator_id,
        A_OPERATOR,
        a.handoff_id,
        a.callback_id,
        A_CALLER,
    }
    return a


async def _seed_human_queue(pool: Pool, a_api: httpx.AsyncClient, a: TenantA) -> None:
    """A's operator, A's call under way handed off to them, and a callback A owes."""
    signed = await a_api.post("/operators/sign-in", json={"name": A_OPERATOR})
    assert signed.status_code == 200, signed.text
    a.operator_id = signed.json()["id"]
    context = HandoffContext(name=A_CALLER, summary=[f"{A_CALLER}: quiero una persona"])
    handoff = NewHandoff(tenant_id=DEFAULT_TENANT_ID, call_key=a.live_key, queue="default",
                         trigger="explicit_request", reason="the caller asked for a person",
                         max_wait_s=60, decided_at=datetime.now(UTC), context=context)  # fmt: skip
    owed = NewHumanCallback(tenant_id=DEFAULT_TENANT_ID, call_key=a.ended_key, phone=A_PHONE,
                            name=A_CALLER, reason="nadie estaba libre", context=context,
                            due_at=datetime.now(UTC) + timedelta(hours=2))  # fmt: skip
    async with pool.connection() as conn:
        a.handoff_id = (await queue_store.insert(conn, handoff)).id
        taken = await queue_store.claim_next(conn, DEFAULT_TENANT_ID, a.operator_id, ["default"])
        assert taken is not None
        assert taken.id == a.handoff_id
        a.callback_id = (await callbacks_store.insert(conn, owed)).id


async def _seed_knowledge(pool: Pool, a_api: httpx.AsyncClient) -> str:
    """A's knowledge document, uploaded, with its chunk searchable (no worker indexes it
    here: the chunk is written as the ingestion would, embedded by the API's model)."""
    markdown = f"# Pagos solo de A\n\n{A_KNOWLEDGE_TEXT}\n".encode()
    uploaded = await a_api.post(
        "/knowledge/documents",
        files={"file": ("pagos.md", markdown, "text/markdown")},
        data={"title": A_KNOWLEDGE_TITLE},
    )
    assert uploaded.status_code == 202, uploaded.text
    document_id: str = uploaded.json()["id"]
    e5 = embedder_for("local")
    async with pool.connection() as conn:
        await replace_chunks(
            conn,
            DEFAULT_TENANT_ID,
            document_id,
            texts=[A_KNOWLEDGE_TEXT],
            headings=["Pagos solo de A"],
            vectors=e5.embed_passages([f"Pagos solo de A\n{A_KNOWLEDGE_TEXT}"]),
            model_id=e5.model_id,
        )
    return document_id


async def _walk(app: FastAPI, b_api: httpx.AsyncClient, a: TenantA) -> tuple[list[str], int]:
    """Call every route as tenant B with tenant A's ids.

    Returns:
        What went wrong (one line each), and how many requests were made.
    """
    bodies = _bodies(a)
    problems: list[str] = []
    calls = 0
    for route in app_routes(app):
        key = (route.method, route.path)
        if route.public or key in NOT_TENANT_RESOURCES:
            continue
        for path in _filled(route, a):
            body = bodies.get(key)
            response = await b_api.request(
                route.method,
                path,
                content=None if body is None else json.dumps(body),
                headers={"content-type": "application/json"} if body is not None else None,
                timeout=30,
            )
            problems.extend(_judge(route, path, response, a))
            calls += 1
    return problems, calls


def _filled(route: Route, a: TenantA) -> list[str]:
    paths = [route.path]
    for name in route.params:
        paths = [p.replace(f"{{{name}}}", v) for p in paths for v in a.values(name)]
    return paths


def _judge(route: Route, path: str, response: httpx.Response, a: TenantA) -> list[str]:
    where = f"{route.method} {path}"
    found: list[str] = []
    expected = _expected_statuses(route)
    if expected is not None and response.status_code not in expected:
        found.append(
            f"{where}: {response.status_code} (want {sorted(expected)}): {response.text[:200]}"
        )
    if response.status_code >= 500:
        found.append(f"{where}: {response.status_code}: {response.text[:200]}")
    # A 404 may echo the id that was asked for; anything else of A's is a leak.
    asked = unquote(path)
    leaked = sorted(m for m in a.markers if m in response.text and m not in asked)
    if leaked:
        found.append(f"{where}: shows tenant A's {leaked}")
    return found


async def test_another_tenants_ids_answer_404_on_every_route(
    pool: Pool, app_clients: AppClients, settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    a_api = await app_clients.open(settings, dev_env.client)  # the default tenant: A
    admin = await app_clients.open(settings, dev_env.client, tenant_id=None)
    admin.headers.update(bearer(ADMIN_KEY))
    a = await _seed_tenant_a(pool, a_api, admin)
    _, b_key = await new_tenant(admin, "tenant B")
    b_api = await app_clients.open(settings, dev_env.client, tenant_id=None)
    b_api.headers.update(bearer(b_key))

    # Tenant A sees its own rows where B is about to look (the walk is not vacuous).
    for path in ("/campaigns", "/calls", "/calls?live=true", "/opt-outs", "/lexicon",
                 "/learning/proposals", "/webhooks", "/metrics/summary",
                 "/exports/calls.json", "/exports/calls.csv",
                 f"/webhooks/{a.webhook_id}/deliveries", f"/campaigns/{a.campaign_id}/contacts",
                 f"/contacts/{a.contact_id}", f"/calls/by-attempt/{a.ended_key}",
                 f"/conversations/{a.ended_key}/metrics",
                 "/agents", f"/agents/{A_AGENT}", "/carrier-accounts", "/phone-numbers",
                 f"/carrier-accounts/{a.account_id}", "/payments",
                 f"/contacts/{a.contact_id}/memory", "/knowledge/documents",
                 f"/knowledge/documents/{a.document_id}", "/whatsapp-senders",
                 f"/whatsapp-senders/{a.sender_id}", "/messages",
                 f"/messages/{a.message_id}", "/tools", f"/tools/{A_TOOL}",
                 f"/tools/{A_TOOL}/invocations", f"/calls/{a.ended_key}/tool-invocations",
                 "/mcp-servers", f"/mcp-servers/{A_MCP_SERVER}", "/operators", "/handoffs",
                 f"/handoffs/{a.handoff_id}", "/human-callbacks"):  # fmt: skip
        own = await a_api.get(path)
        assert own.status_code == 200, (path, own.text)
        assert any(m in own.text for m in a.markers), f"A does not see its own rows at {path}"
    assert (await a_api.get(f"/calls/{a.ended_key}/events")).status_code == 200
    own_search = await a_api.post("/knowledge/search", json={"question": "¿dónde puedo pagar?"})
    assert A_KNOWLEDGE_TEXT in own_search.text, own_search.text

    problems, calls = await _walk(create_app(settings), b_api, a)
    assert not problems, "\n".join(problems)
    assert calls >= 65  # every route, each id it takes

    # Nothing B did touched A's rows.
    assert (await a_api.get(f"/campaigns/{a.campaign_id}")).json()["status"] == "running"
    assert (await a_api.get(f"/calls/{a.call_id}")).status_code == 200
    assert (await a_api.get(f"/webhooks/{a.webhook_id}")).json()["active"] is True
    assert A_AGENT_LINE in (await a_api.get(f"/agents/{A_AGENT}")).text
    lexicon = (await a_api.get("/lexicon")).json()["items"]
    assert [row["text"] for row in lexicon] == [A_LEXICON_TEXT]
    proposals = (await a_api.get("/learning/proposals")).json()["items"]
    assert [(p["right"], p["status"]) for p in proposals] == [(A_PROPOSAL_RIGHT, "pending")]
    assert [o["phone"] for o in (await a_api.get("/opt-outs")).json()] == [A_PHONE]
    [routed] = (await a_api.get("/phone-numbers")).json()["items"]
    assert (routed["number"], routed["carrier_account_id"]) == (A_NUMBER, a.account_id)
    assert (await a_api.get(f"/carrier-accounts/{a.account_id}")).status_code == 200
    assert (await a_api.get(f"/whatsapp-senders/{a.sender_id}")).status_code == 200
    taken = (await a_api.get(f"/handoffs/{a.handoff_id}")).json()
    assert (taken["state"], taken["operator_id"], taken["disposition"]) == (
        "answered",
        a.operator_id,
        None,
    )
    [owed] = (await a_api.get("/human-callbacks")).json()
    assert (owed["id"], owed["state"]) == (a.callback_id, "scheduled")
    [mine] = (await a_api.get("/operators")).json()
    assert (mine["name"], mine["status"]) == (A_OPERATOR, "offline")
    kept = await a_api.get(f"/knowledge/documents/{a.document_id}")
    assert (kept.status_code, kept.json()["chunk_count"]) == (200, 1)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT reverted_at FROM call_corrections WHERE id = %s", (a.correction_id,)
        )
        assert (await cur.fetchone() or {}).get("reverted_at") is None

    # An opt-out is the tenant's own: B's stops nothing of A's.
    opted = await b_api.post("/opt-outs", json={"phone": A_OPEN_PHONE})
    assert opted.status_code == 201
    assert opted.json()["campaigns_affected"] == []
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT state FROM contacts WHERE %s = ANY(phones)", (A_OPEN_PHONE,)
        )
        assert [r["state"] for r in await cur.fetchall()] == ["pending"]


async def test_the_walk_catches_a_route_that_forgets_the_tenant(
    pool: Pool, app_clients: AppClients, settings: Settings
) -> None:
    """The walk can fail: a route that reads by id alone is reported."""
    app = create_app(settings)

    @app.get("/leaky/campaigns/{campaign_id}")
    async def leaky(campaign_id: str, services: Services, tenant: TenantId) -> dict[str, Any]:
        async with services.pool.connection() as conn:
            cur = await conn.execute("SELECT name FROM campaigns WHERE id = %s", (campaign_id,))
            row = await cur.fetchone()
        return {"name": row["name"] if row else None}

    a = TenantA(campaign_id=await insert_campaign(pool, A_CAMPAIGN_NAME, "running"))
    a.markers = {A_CAMPAIGN_NAME}
    route = Route("GET", "/leaky/campaigns/{campaign_id}")
    assert route in app_routes(app)
    admin = await app_clients.open(settings, tenant_id=None)
    admin.headers.update(bearer(ADMIN_KEY))
    _, b_key = await new_tenant(admin, f"leaky {uuid.uuid4().hex[:6]}")
    [path] = _filled(route, a)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api", headers=bearer(b_key)
        ) as b_api,
    ):
        problems = _judge(route, path, await b_api.get(path), a)
    assert any("want [404]" in p for p in problems), problems
    assert any(A_CAMPAIGN_NAME in p for p in problems), problems
