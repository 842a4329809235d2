"""Rows for the OpenAPI fuzz test to find: so generated path parameters hit existing
resources too, not only 404s.

Stored calls come from the analytics seeds (as the media worker and the post-call
pipeline store them), with a corrected transcript and a correction on one of them, and a
spare API key to revoke; a campaign with contacts, webhooks with a delivery, an opt-out,
a lexicon entry, learning proposals (from a human edit), a re-analysis, carrier accounts,
routed phone numbers and knowledge documents are made through the API itself, as the
default tenant (one carrier account by SQL, with the fixed id the valid bodies name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from psycopg.types.json import Jsonb

from centralita.actions.models import Invocation
from centralita.actions.store.invocations import record_invocation
from centralita.handoff import callbacks_store, queue_store
from centralita.handoff.models import HandoffContext, NewHandoff, NewHumanCallback
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.messaging.message_store import NewMessage, record_sent
from centralita.tenants.store.keys import create_key
from realtime.agents.loader import load_any_agent
from tests.support.analytics_seed import seed

# A corrected transcript for one stored call, with one correction in it: what human
# edits, reverts and the learning proposals they make need to exist.
SEGMENTS = ["me llamó el banco zur", "pagaré el viernes"]
FUZZ_AGENT = "fuzz-agente"  # the tenant's own flow agent (PUT replaces it with itself)
# The carrier account valid phone-number bodies name (a fixed id: the bodies are written
# before the seed runs), and the numbers routed through it.
FUZZ_CARRIER_ACCOUNT_ID = "00000000-0000-4000-8000-00000000f022"
FUZZ_NUMBERS = ("+56229990001", "+56229990002")
# The operator valid wrap-up and callback bodies name (a fixed id, like the account's).
FUZZ_OPERATOR_ID = "00000000-0000-4000-8000-0000000f0023"


def fuzz_agent(name: str = FUZZ_AGENT) -> dict[str, object]:
    """A valid flow agent called `name`: the shipped default flow, renamed."""
    data = load_any_agent("cobranza-temprana").model_dump(mode="json", exclude_defaults=True)
    return {**data, "name": name}


@dataclass
class Seeded:
    """Existing ids, by path parameter name; `victims` are for DELETE operations, so
    deleting one does not take the resource away from every later operation."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    victims: dict[str, list[str]] = field(default_factory=dict)

    def values(self, method: str, name: str) -> list[str]:
        """Existing values for parameter `name` of a `method` operation."""
        if method.upper() == "DELETE" and name in self.victims:
            return self.victims[name]
        return self.ids.get(name, [])


async def _corrected_transcript(pool: Pool, call_id: str) -> int:
    """The call's corrected transcript and one correction in it; the correction's id."""
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO transcripts (call_id, kind, language, text, segments) "
            "VALUES (%s, 'corrected', 'es', %s, %s)",
            (call_id, " ".join(SEGMENTS), Jsonb([{"text": t} for t in SEGMENTS])),
        )
        cur = await conn.execute(
            "INSERT INTO call_corrections (call_id, pass, segment_index, word_start, word_end, "
            "level, score, before, after) "
            "VALUES (%s, 'offline', 0, 4, 5, 'L1', 0.9, 'zur', 'sur') RETURNING id",
            (call_id,),
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


def _ok(response: httpx.Response) -> dict[str, object]:
    assert response.is_success, f"{response.request.url}: {response.status_code} {response.text}"
    body: dict[str, object] = response.json()
    return body


async def seed_world(pool: Pool, api: httpx.AsyncClient, webhook_url: str) -> Seeded:
    """Store what the fuzz test's operations can find; their ids by parameter name."""
    world = await seed(pool)
    stored = [s for s in world.seeds if s.call_id is not None and not s.deleted]
    keys = [s.call_key for s in stored if s.call_key]
    calls = [s.call_id for s in stored if s.call_id]
    created = _ok(
        await api.post(
            "/campaigns",
            json={
                "name": "fuzz",
                "default_region": "CL",
                "contacts": [
                    {"name": "Ana", "phone": "+56961234567"},
                    {"name": "Luis", "phone": "+56987654321"},
                ],
            },
        )
    )
    campaign = created["campaign"]
    assert isinstance(campaign, dict)
    contacts = (await api.get(f"/campaigns/{campaign['id']}/contacts")).json()
    hooks = [_ok(await api.post("/webhooks", json={"url": webhook_url})) for _ in range(2)]
    test = _ok(await api.post(f"/webhooks/{hooks[0]['id']}/test"))
    _ok(await api.post("/opt-outs", json={"phone": "+56971234567"}))
    lexicon = (await api.post("/lexicon", json=[{"kind": "company", "text": "Banco Sur"}])).json()
    reanalysis = _ok(await api.post("/reanalyses", json={"analysis_version": 2}))
    correction = await _corrected_transcript(pool, calls[0])
    edit = {"segment_index": 1, "text": "pagaré el jueves"}
    _ok(await api.post(f"/calls/{calls[0]}/transcript-edits", json=edit))
    proposals = (await api.get("/learning/proposals")).json()["items"]
    for agent in (FUZZ_AGENT, "fuzz-borrable"):
        _ok(await api.put(f"/agents/{agent}", json=fuzz_agent(agent)))
    async with pool.connection() as conn:
        spare_key = await create_key(conn, DEFAULT_TENANT_ID, "fuzz: to be revoked")
        await conn.execute(
            "INSERT INTO carrier_accounts (id, tenant_id, name, carrier, account_sid, auth_token) "
            "VALUES (%s, %s, 'fuzz: numbers', 'twilio', %s, 'fuzz-auth-token-0123456789')",
            (FUZZ_CARRIER_ACCOUNT_ID, DEFAULT_TENANT_ID, "AC" + "f" * 32),
        )
    spare = {
        "carrier": "twilio",
        "name": "fuzz: to be deleted",
        "account_sid": "AC" + "e" * 32,
        "auth_token": "fuzz-spare-token-0123456789",
    }
    spare_account = _ok(await api.post("/carrier-accounts", json=spare))
    for number in FUZZ_NUMBERS:
        route = {
            "number": number,
            "carrier_account_id": FUZZ_CARRIER_ACCOUNT_ID,
            "agent": FUZZ_AGENT,
        }
        _ok(await api.post("/phone-numbers", json=route))
    documents = [
        _ok(await api.post("/knowledge/documents", files={"file": (f"fuzz-{n}.md", text)}))
        for n, text in enumerate(["# Pagos\n\nPague en Servipag.", "# Horario\n\nDe 9 a 18."])
    ]
    senders, message = await _whatsapp(pool, api)
    tools, servers = await _tools(pool, api, keys[0])
    handoffs, callbacks = await _human_queue(pool)
    return Seeded(
        ids={
            "campaign_id": [str(campaign["id"]), world.campaign_a],
            "contact_id": [c["id"] for c in contacts],
            # calls[0] holds the corrected transcript: first, with its correction.
            "call_id": [calls[0], calls[2]],
            "call_key": keys,
            "attempt_key": keys,
            "ref": keys[:1] + calls[:1],
            "webhook_id": [str(hooks[0]["id"])],
            "delivery_id": [str(test["delivery_id"])],
            "phone": ["+56971234567"],
            "entry_id": [str(row["id"]) for row in lexicon],
            "reanalysis_id": [str(reanalysis["id"])],
            "correction_id": [str(correction)],
            "proposal_id": [str(p["id"]) for p in proposals],
            # The tenant the fuzz test's key belongs to (its keys are listed, added to).
            "tenant_id": [DEFAULT_TENANT_ID],
            "agent_name": [FUZZ_AGENT, "cobranza-temprana"],  # the tenant's, a shipped one
            "account_id": [FUZZ_CARRIER_ACCOUNT_ID],
            "phone_number": [FUZZ_NUMBERS[0]],
            "document_id": [str(documents[0]["id"])],
            "sender_id": senders[:1],
            "message_id": [message],
            "tool_name": tools[:1],
            "server_name": servers[:1],
            "operator_id": [FUZZ_OPERATOR_ID],
            "handoff_id": handoffs,  # the first is the operator's, to wrap up
            "callback_id": callbacks,
        },
        victims={
            "call_id": calls[1:2],
            "webhook_id": [str(hooks[1]["id"])],
            "key_id": [spare_key.id],  # never the key the fuzz test itself sends
            "agent_name": ["fuzz-borrable"],
            "account_id": [str(spare_account["id"])],
            "phone_number": [FUZZ_NUMBERS[1]],
            "document_id": [str(documents[1]["id"])],
            "sender_id": senders[1:],
            "tool_name": tools[1:],
            "server_name": servers[1:],
        },
    )


async def _tools(pool: Pool, api: httpx.AsyncClient, call_key: str) -> tuple[list[str], list[str]]:
    """Two HTTP tools and two MCP servers (the second of each to be deleted), and a call
    that used the first tool."""
    tools = [
        str(_ok(await api.post("/tools", json={
            "name": name, "description": "fuzz", "url": "http://127.0.0.1:9/tool",
        }))["name"])
        for name in ("fuzz_tool", "fuzz_tool_borrable")
    ]  # fmt: skip
    servers = [
        str(_ok(await api.post("/mcp-servers", json={
            "name": name, "url": "http://127.0.0.1:9/mcp", "allowed_tools": ["x"],
        }))["name"])
        for name in ("fuzzcrm", "fuzzborrable")
    ]  # fmt: skip
    used = Invocation(call_key, None, tools[0], "http", {}, {"ok": True}, 5.0, True, None)
    async with pool.connection() as conn:
        await record_invocation(conn, DEFAULT_TENANT_ID, used)
    return tools, servers


async def _whatsapp(pool: Pool, api: httpx.AsyncClient) -> tuple[list[str], str]:
    """Two WhatsApp senders (the second to be deleted) and a message the first sent."""
    senders = [
        str(_ok(await api.post("/whatsapp-senders", json={
            "provider": "twilio", "name": name, "account_sid": "AC" + "d" * 32,
            "auth_token": "fuzz-whatsapp-token-0123", "from_number": "+56229990004",
        }))["id"])
        for name in ("fuzz: whatsapp", "fuzz: whatsapp to be deleted")
    ]  # fmt: skip
    message = NewMessage(DEFAULT_TENANT_ID, senders[0], "twilio", "SM" + "d" * 32,
                         "+56961234567", "Hola Ana, este es su link de pago", "queued")  # fmt: skip
    async with pool.connection() as conn:
        return senders, await record_sent(conn, message)


async def _human_queue(pool: Pool) -> tuple[list[str], list[str]]:
    """The human queue as the media worker fills it: a call the fuzz operator took (and
    may wrap up), one waiting (an answer claims it, fails to join through the absent
    media worker and puts it back), and two callbacks owed. Their ids."""
    context = HandoffContext(name="Ana", phone_masked="•••• 4567", summary=["Ana: una persona"])

    def handoff(n: int, priority: int) -> NewHandoff:
        return NewHandoff(tenant_id=DEFAULT_TENANT_ID, call_key=f"fuzz-handoff-{n}",
                          queue="default", trigger="explicit_request", reason="fuzz",
                          priority=priority, max_wait_s=60, decided_at=datetime.now(UTC),
                          context=context)  # fmt: skip

    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO operators (id, tenant_id, name, status) VALUES (%s, %s, 'fuzz', "
            "'available')",
            (FUZZ_OPERATOR_ID, DEFAULT_TENANT_ID),
        )
        taken = await queue_store.insert(conn, handoff(1, priority=9))
        await queue_store.claim_next(conn, DEFAULT_TENANT_ID, FUZZ_OPERATOR_ID, ["default"])
        await queue_store.move(conn, taken.id, "ended", leaving=["answered"])
        waiting = await queue_store.insert(conn, handoff(2, priority=0))
        callbacks = [
            await callbacks_store.insert(conn, NewHumanCallback(
                tenant_id=DEFAULT_TENANT_ID, call_key=f"fuzz-callback-{n}", phone="+56961234567",
                name="Ana", reason="fuzz", due_at=datetime.now(UTC) + timedelta(hours=n),
                context=context))
            for n in (1, 2)
        ]  # fmt: skip
    return [taken.id, waiting.id], [c.id for c in callbacks]
