"""A payment link by WhatsApp, end to end over loopback: the link made by the tenant's own
HTTP tool, the message sent through a local Twilio or Meta speaking their wire protocols,
their signed status callbacks received by the API served on 127.0.0.1, verified, stored
with the message and recorded as `message_status` outbox events. A bad signature is
refused; secrets are not in the table's bytes; another tenant sees nothing.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from api.app import create_app
from centralita.kernel.db import Conn, Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.key_ring import KeyRing, new_key_text
from centralita.kernel.llm import LlmEndpoint
from centralita.kernel.settings import Settings
from centralita.messaging import store
from centralita.messaging.models import SenderCreate
from centralita.messaging.payment_links import PaymentLinks
from centralita.messaging.providers import ProviderEndpoints
from realtime.agents.flows.tools import ToolContext, run_tool
from realtime.agents.llm.brain import LlmBrain
from realtime.agents.model_config import LlmConfig
from tests.support.brain_turns import collect, turn
from tests.support.encryption import TEST_ENCRYPTION_KEYS, fixed_ring
from tests.support.fakes.meta_whatsapp import FakeMetaWhatsApp
from tests.support.fakes.openai_server import FakeOpenAI, Scripted, ScriptedToolCall
from tests.support.fakes.twilio_whatsapp import FakeTwilioWhatsApp
from tests.support.payment_service import LINK_TOOL, PaymentService
from tests.support.servers import api_key_for, bearer, free_port, serving, settings_for
from tests.support.tenants import ADMIN_KEY, new_tenant

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=ZoneInfo("America/Santiago"))
MARIA = "+56987654321"
VERIFY_TOKEN = "meta-verify-token-0000001"


@dataclass
class Stack:
    """The API on loopback, the two providers, the tenant's payment service."""

    api: httpx.AsyncClient
    settings: Settings
    twilio: FakeTwilioWhatsApp
    meta: FakeMetaWhatsApp
    payments: PaymentService

    def secrets(self) -> tuple[str, ...]:
        return (self.twilio.auth_token, self.meta.access_token, self.meta.app_secret, VERIFY_TOKEN)

    def action(self, pool: Pool, call_key: str, sender_id: str, **kw: Any) -> PaymentLinks:
        return PaymentLinks(
            pool,
            fixed_ring(),
            DEFAULT_TENANT_ID,
            create_link=None,
            endpoints=ProviderEndpoints.from_settings(self.settings),
            call_key=call_key,
            contact_phone=kw.pop("phone", MARIA),
            sender_id=sender_id,
            **kw,
        )


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    port = free_port()
    async with (
        FakeTwilioWhatsApp() as twilio,
        FakeMetaWhatsApp(allowed=(MARIA,)) as meta,
        PaymentService() as payments,
    ):
        settings = settings_for(
            database_url,
            "127.0.0.1:1",
            admin_api_key=ADMIN_KEY,
            api_public_base=f"http://127.0.0.1:{port}",
            twilio_api_base=twilio.origin,
            whatsapp_meta_api_base=meta.origin,
        )
        key = await api_key_for(database_url)
        async with (
            serving(create_app(settings), port) as url,
            httpx.AsyncClient(base_url=url, headers=bearer(key), timeout=10) as api,
        ):
            yield Stack(api, settings, twilio, meta, payments)


async def _sender(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    created = await stack.api.post("/whatsapp-senders", json=body)
    assert created.status_code == 201, created.text
    for secret in stack.secrets():
        assert secret not in created.text
    sender: dict[str, Any] = created.json()
    return sender


def twilio_body(stack: Stack, **overrides: Any) -> dict[str, Any]:
    return {
        "provider": "twilio",
        "name": f"twilio {uuid.uuid4().hex[:6]}",
        "account_sid": stack.twilio.account_sid,
        "auth_token": stack.twilio.auth_token,
        "from_number": "+56229990001",
        "payment_link_tool": LINK_TOOL,
        **overrides,
    }


def meta_body(stack: Stack, **overrides: Any) -> dict[str, Any]:
    return {
        "provider": "meta",
        "name": f"meta {uuid.uuid4().hex[:6]}",
        "phone_number_id": stack.meta.phone_number_id,
        "access_token": stack.meta.access_token,
        "app_secret": stack.meta.app_secret,
        "verify_token": VERIFY_TOKEN,
        "payment_link_tool": LINK_TOOL,
        **overrides,
    }


async def _status_events(pool: Pool, message_id: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT type, subject, payload FROM domain_events WHERE type = 'message_status' "
            "AND payload->>'message_id' = %s ORDER BY seq",
            (message_id,),
        )
        return list(await cur.fetchall())


async def _messages(stack: Stack, call_key: str) -> list[dict[str, Any]]:
    listed = await stack.api.get("/messages", params={"call_key": call_key})
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def test_an_llm_call_sends_the_link_by_twilio_and_its_statuses_come_back(
    stack: Stack, pool: Pool
) -> None:
    sender = await _sender(stack, twilio_body(stack))
    assert sender["secret_hint"] == "****" + stack.twilio.auth_token[-4:]
    call_key = f"inbound-{uuid.uuid4()}"
    variables = {"nombre": "María"}
    ctx = ToolContext(
        now=NOW,
        variables=variables,
        payment_links=stack.action(pool, call_key, sender["id"]),
        external=stack.payments.tools(call_key),
    )
    send = ScriptedToolCall(
        "send_payment_link", {"channel": "whatsapp", "amount": 200000, "currency": "CLP"}
    )
    script = [Scripted(tool_calls=[send]), Scripted(text="Le envié el link por WhatsApp.")]
    async with FakeOpenAI(script) as fake:
        brain = LlmBrain(
            LlmConfig(endpoint=LlmEndpoint(base_url=fake.base_url, model="fake-1")),
            instructions="Eres Sofía. Hablas con {nombre}.",
            variables=variables,
            language="es-CL",
            tool_context=ctx,
        )
        said, replies = await collect(brain.stream(turn("Mándeme el link, por favor.")))

    assert said == ["Le envié el link por WhatsApp."]
    [call] = [c for r in replies for c in r.tool_calls if c.name == "send_payment_link"]
    assert call.success, call.result
    assert call.result["url"].startswith("https://pagos.example.cl/l/pl_")
    [made] = stack.payments.requests
    assert made["call_key"] == call_key
    assert made["arguments"] == {
        "amount": 200000.0, "currency": "CLP", "reference": call_key, "phone": MARIA,
        "name": "María",
    }  # fmt: skip
    [sent] = stack.twilio.messages
    assert (sent.to, sent.from_) == (f"whatsapp:{MARIA}", "whatsapp:+56229990001")
    assert sent.body == f"Hola María, este es su link de pago: {call.result['url']}"
    assert call.result["provider_message_id"] == sent.sid
    await asyncio.wait_for(sent.done.wait(), 5)
    assert sent.callbacks == [("sent", 204), ("delivered", 204)]

    [message] = await _messages(stack, call_key)
    assert message["id"] == call.result["message_id"]
    assert message["status"] == "delivered"
    assert [s["status"] for s in message["statuses"]] == ["queued", "sent", "delivered"]
    assert message["link_id"] == call.result["link_id"]
    events = await _status_events(pool, message["id"])
    assert [e["payload"]["status"] for e in events] == ["sent", "delivered"]
    assert events[-1]["subject"] == f"call:{call_key}"
    assert events[-1]["payload"]["purpose"] == "payment_link"
    assert ctx.extracted["payment_link_id"] == call.result["link_id"]


async def test_a_flow_sends_the_link_through_meta_after_the_webhook_handshake(
    stack: Stack, pool: Pool
) -> None:
    sender = await _sender(stack, meta_body(stack))
    webhook = f"{stack.api.base_url}{sender['status_callback_path']}"
    public = httpx.AsyncClient()  # Meta holds no API key
    async with public:
        handshake = {"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "1"}
        refused = await public.get(webhook, params=handshake)
        assert refused.status_code == 403
    assert await stack.meta.subscribe(webhook, VERIFY_TOKEN)
    call_key = f"inbound-{uuid.uuid4()}"
    action = stack.action(pool, call_key, sender["id"], language="en-US")
    action.variables = {"nombre": "María"}  # a flow's tools get no variables: the call's
    ctx = ToolContext(now=NOW, payment_links=action, external=stack.payments.tools(call_key))
    call = await run_tool("send_payment_link", {"channel": "whatsapp"}, ctx)
    assert call.success, call.result
    [sent] = stack.meta.messages
    assert sent.payload["to"] == MARIA[1:]
    assert sent.payload["text"] == {
        "body": f"Hello María, this is your payment link: {call.result['url']}",
        "preview_url": True,
    }
    await asyncio.wait_for(sent.done.wait(), 5)
    assert sent.callbacks == [("sent", 200), ("delivered", 200)]
    [message] = await _messages(stack, call_key)
    assert message["provider_message_id"] == sent.id
    assert message["status"] == "delivered"
    events = await _status_events(pool, message["id"])
    assert [e["payload"]["status"] for e in events] == ["sent", "delivered"]


async def test_failures_are_clear_codes_and_the_call_goes_on(stack: Stack, pool: Pool) -> None:
    twilio = await _sender(stack, twilio_body(stack))
    meta = await _sender(stack, meta_body(stack))
    call_key = f"inbound-{uuid.uuid4()}"

    async def attempt(sender_id: str, **kw: Any) -> tuple[bool, str]:
        ctx = ToolContext(
            now=NOW,
            payment_links=stack.action(pool, call_key, sender_id, **kw),
            external=stack.payments.tools(call_key),
        )
        call = await run_tool("send_payment_link", {"channel": "whatsapp"}, ctx)
        return call.success, str(call.result.get("error"))

    assert await attempt(twilio["id"], phone="+5698") == (False, "whatsapp_21211")
    assert await attempt(meta["id"], phone="+56911112222") == (False, "whatsapp_131030")
    assert await attempt(str(uuid.uuid4())) == (False, "no_whatsapp_sender")
    stack.payments.fail = True
    assert await attempt(twilio["id"]) == (False, "link_failed")
    assert await _messages(stack, call_key) == []


async def test_a_bad_signature_or_the_wrong_provider_is_refused(stack: Stack, pool: Pool) -> None:
    twilio = await _sender(stack, twilio_body(stack))
    meta = await _sender(stack, meta_body(stack))
    async with httpx.AsyncClient(base_url=str(stack.api.base_url)) as public:
        form = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
        forged = await public.post(
            twilio["status_callback_path"], data=form, headers={"X-Twilio-Signature": "AAAA"}
        )
        unsigned = await public.post(twilio["status_callback_path"], data=form)
        body = json.dumps({"entry": []}).encode()
        meta_forged = await public.post(
            meta["status_callback_path"],
            content=body,
            headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
        )
        other_provider = await public.post(
            twilio["status_callback_path"].replace("twilio/status", "meta/webhook"), content=body
        )
    assert (forged.status_code, unsigned.status_code, meta_forged.status_code) == (403, 403, 403)
    assert other_provider.status_code == 404
    assert "does not match" in forged.json()["detail"]


async def test_secrets_are_not_in_the_tables_bytes(stack: Stack, pg_server: str) -> None:
    await _sender(stack, twilio_body(stack))
    await _sender(stack, meta_body(stack))
    database = psycopg.conninfo.conninfo_to_dict(stack.settings.database_url or "")["dbname"]
    admin = psycopg.conninfo.make_conninfo(pg_server, dbname=str(database))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute(
            "SELECT current_setting('data_directory'), pg_relation_filepath('whatsapp_senders')"
        ).fetchone()
    assert row is not None
    raw = (Path(row[0]) / row[1]).read_bytes()
    assert b"+56229990001" in raw  # the page holds the rows: what is not there is sealed
    assert b"enc:v1:" in raw
    for secret in stack.secrets():
        assert secret.encode() not in raw


async def test_senders_and_messages_are_the_tenants_own(stack: Stack, pool: Pool) -> None:
    sender = await _sender(stack, twilio_body(stack))
    call_key = f"inbound-{uuid.uuid4()}"
    ctx = ToolContext(
        now=NOW,
        payment_links=stack.action(pool, call_key, sender["id"]),
        external=stack.payments.tools(call_key),
    )
    assert (await run_tool("send_payment_link", {"channel": "whatsapp"}, ctx)).success
    [message] = await _messages(stack, call_key)

    base = str(stack.api.base_url)
    async with httpx.AsyncClient(base_url=base, headers=bearer(ADMIN_KEY)) as admin:
        _, key = await new_tenant(admin, f"otra {uuid.uuid4().hex[:6]}")
    other = httpx.AsyncClient(base_url=base, headers=bearer(key))
    async with other:
        await _sees_nothing(other, sender["id"], message["id"], call_key)
    # and the other tenant's action cannot send from this tenant's sender
    foreign = stack.action(pool, call_key, sender["id"])
    foreign.tenant_id = str(uuid.uuid4())
    ctx = ToolContext(now=NOW, payment_links=foreign, external=stack.payments.tools(call_key))
    refused = await run_tool("send_payment_link", {"channel": "whatsapp"}, ctx)
    assert refused.result["error"] == "no_whatsapp_sender"


async def _sees_nothing(
    other: httpx.AsyncClient, sender_id: str, message_id: str, call_key: str
) -> None:
    assert (await other.get(f"/whatsapp-senders/{sender_id}")).status_code == 404
    assert (await other.delete(f"/whatsapp-senders/{sender_id}")).status_code == 404
    assert (await other.get(f"/messages/{message_id}")).status_code == 404
    assert (await other.get("/whatsapp-senders")).json()["total"] == 0
    assert (await other.get("/messages", params={"call_key": call_key})).json()["items"] == []


async def test_a_bad_sender_is_a_422_naming_the_field_without_echoing_it(stack: Stack) -> None:
    short = "tooshort"
    answer = await stack.api.post("/whatsapp-senders", json=twilio_body(stack, auth_token=short,
                                  phone_number_id="123"))  # fmt: skip
    assert answer.status_code == 422
    fields = {tuple(p["loc"]) for p in answer.json()["detail"]}
    assert fields == {("body", "auth_token"), ("body", "phone_number_id")}
    assert short not in answer.text
    body = twilio_body(stack)
    await _sender(stack, body)
    assert (await stack.api.post("/whatsapp-senders", json=body)).status_code == 409


async def test_a_sender_is_renamed_and_its_link_tool_changed(stack: Stack) -> None:
    twilio = await _sender(stack, twilio_body(stack))
    meta = await _sender(stack, meta_body(stack))
    path = f"/whatsapp-senders/{meta['id']}"
    changed = await stack.api.patch(path, json={"name": "pagos", "template_name": "link_pago",
                                                "payment_link_tool": None})  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["template_name"]) == ("pagos", "link_pago")
    assert changed.json()["payment_link_tool"] is None
    assert (await stack.api.get(path)).json() == changed.json()
    twilio_path = f"/whatsapp-senders/{twilio['id']}"
    refused = await stack.api.patch(twilio_path, json={"template_name": "x"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "template_name"]
    taken = await stack.api.patch(twilio_path, json={"name": "pagos"})
    assert taken.status_code == 409
    assert (await stack.api.patch(twilio_path, json={"auth_token": "x" * 20})).status_code == 422
    missing = await stack.api.patch(f"/whatsapp-senders/{uuid.uuid4()}", json={"name": "y"})
    assert missing.status_code == 404


async def test_key_rotation_seals_a_senders_secrets_under_the_new_key(pool: Pool) -> None:
    key_a, key_b = new_key_text("wa-a"), new_key_text("wa-b")
    ring_a, ring_b = KeyRing.parse(key_a), KeyRing.parse(key_b)
    body = SenderCreate.model_validate(
        {
            "provider": "meta",
            "name": f"rotated {uuid.uuid4().hex[:6]}",
            "phone_number_id": "123",
            "access_token": "meta-access-token-rotated-1",
            "app_secret": "meta-app-secret-rotated-01",
            "verify_token": "meta-verify-token-rotated1",
        }
    ).checked()
    async with pool.connection() as conn:
        sender = await store.create_sender(conn, ring_a, DEFAULT_TENANT_ID, body)
        assert "wa-a" in await store.secret_key_ids(conn)
        # The module's other senders were sealed with the tests' ring: it stays behind.
        rotating = KeyRing.parse(f"{key_b},{key_a},{TEST_ENCRYPTION_KEYS}")
        first, second = [await _rotate_all(conn, rotating) for _ in "12"]
        assert first >= 3  # this sender's three secrets, and any other sender's
        assert second == 0  # nothing left
        assert "wa-a" not in await store.secret_key_ids(conn)
        opened = await store.sender_secrets(conn, ring_b, sender.id)
    assert opened is not None
    assert opened.secret.get_secret_value() == "meta-access-token-rotated-1"
    assert opened.app_secret is not None
    assert opened.app_secret.get_secret_value() == "meta-app-secret-rotated-01"


async def _rotate_all(conn: Conn, ring: KeyRing) -> int:
    total, after = 0, None
    while True:
        resealed, after = await store.reseal_secrets(conn, ring, after=after, limit=1)
        total += resealed
        if after is None:
            return total


async def test_a_failed_delivery_is_recorded_with_the_providers_error(
    stack: Stack, pool: Pool
) -> None:
    sender = await _sender(stack, twilio_body(stack))
    stack.twilio.outside_window.add(f"whatsapp:{MARIA}")  # Twilio: sent, then failed 63016
    call_key = f"inbound-{uuid.uuid4()}"
    ctx = ToolContext(
        now=NOW,
        payment_links=stack.action(pool, call_key, sender["id"]),
        external=stack.payments.tools(call_key),
    )
    assert (await run_tool("send_payment_link", {"channel": "whatsapp"}, ctx)).success
    [sent] = stack.twilio.messages
    await asyncio.wait_for(sent.done.wait(), 5)
    [message] = await _messages(stack, call_key)
    assert (message["status"], message["error_code"]) == ("failed", "63016")
    [*_, failed] = await _status_events(pool, message["id"])
    assert failed["payload"]["status"] == "failed"
    assert failed["payload"]["error_code"] == "63016"
