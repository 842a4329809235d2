"""A live call sends a payment link by WhatsApp: the media worker's set-up binds it.

Real parts: the caller is a bot softphone over loopback WebRTC (espeak-ng voice, heard by
faster-whisper), the agent a tenant's flow stored through the API whose node calls
`send_payment_link` with channel whatsapp once the person says yes; the call set-up is
the media worker's (`TenantAgents` with `TenantTools` and `TenantPaymentLinks`, as
`workers/media.py` wires them). The tenant's link tool is its HTTP tool registered
through the API (a signed 127.0.0.1 payment service), its sender a Twilio sender
pointed at the local Twilio WhatsApp fake, whose signed status callbacks reach the API
served on loopback. A tenant without a sender hears `no_whatsapp_sender` in the call's
tool event, and its flow goes on to the next node.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from api.app import create_app
from centralita.kernel.calls import DialRequest
from centralita.kernel.db import Pool
from centralita.messaging.payment_links import PaymentLinkError, PaymentLinkRequest, PaymentLinks
from centralita.messaging.providers import ProviderEndpoints
from realtime.conversation_line import ConversationLine
from realtime.session.record import CallRecord
from realtime.softphone.script import BotLine, BotScript
from realtime.store.agent_lookup import TenantAgents
from realtime.store.payment_links import TenantPaymentLinks, no_whatsapp_sender
from realtime.store.tenant_tools import TenantTools
from tests.support.encryption import fixed_ring
from tests.support.fakes.twilio_whatsapp import FakeTwilioWhatsApp
from tests.support.lines import loopback_line
from tests.support.payment_service import LINK_PARAMETERS, LINK_TOOL, PaymentService
from tests.support.servers import api_key_for, bearer, free_port, serving, settings_for
from tests.support.tenants import ADMIN_KEY, new_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

AGENT = "link-whatsapp"
MARIA = "+56961234567"
SENT_LINE = "Listo, se lo envié por WhatsApp, {nombre}."
# One sentence each: the transcript keeps the agent's lines sentence by sentence.
NOT_SENT_LINE = "No pude enviárselo por WhatsApp, ¿le puedo ayudar en algo más?"


def _flow() -> dict[str, Any]:
    """Greets, and once the person is who we called, offers the link by WhatsApp; a
    failed send goes on to another question instead of ending the call."""
    send = {
        "name": "send_payment_link",
        "arguments": {"amount": "{monto_total}", "currency": "CLP", "channel": "whatsapp"},
    }
    return {
        "name": AGENT,
        "language": "es-CL",
        "description": "Ofrece el link de pago por WhatsApp.",
        "currency": "CLP",
        "variables": [
            {"name": "nombre", "required": True},
            {"name": "monto_total", "kind": "money", "required": True, "sensitive": True},
        ],
        "start": "saludo",
        "nodes": [
            {
                "id": "saludo",
                "before_identity": True,
                "say": ["Hola, le llama Sofía. ¿Hablo con {nombre}?"],
                "transitions": [{"intent": "affirm", "to": "ofrecer", "verify_identity": True}],
                "otherwise": "adios",
            },
            {
                "id": "ofrecer",
                "say": ["¿Quiere que le envíe el link de pago por WhatsApp?"],
                "transitions": [
                    {"intent": "affirm", "to": "enviado", "tools": [send], "on_failure": "otra"},
                ],
                "otherwise": "adios",
            },
            {"id": "enviado", "end": True, "say": [SENT_LINE]},
            {
                "id": "otra",
                "say": [NOT_SENT_LINE],
                "transitions": [{"to": "adios"}],
                "otherwise": "adios",
            },
            {
                "id": "adios",
                "before_identity": True,
                "end": True,
                "say": ["Gracias, que tenga un buen día."],
            },
        ],
    }


def _says_yes_twice() -> BotScript:
    return BotScript(
        lines=[BotLine(say="Sí, con ella habla."), BotLine(say="Sí, por favor."),
               BotLine(say="No, gracias.")],
        linger_s=2.0,
    )  # fmt: skip


@dataclass
class Stack:
    """The API on loopback, the tenant's payment service, Twilio, the media line."""

    api: httpx.AsyncClient  # the default tenant's
    admin: httpx.AsyncClient
    payments: PaymentService
    twilio: FakeTwilioWhatsApp
    line: ConversationLine


@pytest.fixture
async def stack(database_url: str, pool: Pool) -> AsyncIterator[Stack]:
    port = free_port()
    async with FakeTwilioWhatsApp() as twilio, PaymentService() as payments:
        settings = settings_for(
            database_url,
            "127.0.0.1:1",
            admin_api_key=ADMIN_KEY,
            api_public_base=f"http://127.0.0.1:{port}",
            twilio_api_base=twilio.origin,
            webhook_allow_hosts=["127.0.0.1"],
        )
        # The media worker's call set-up (`workers/media.py`), fresh on every call.
        agents = TenantAgents(
            pool,
            refresh_s=0,
            tools=TenantTools(pool, fixed_ring(), allow_hosts=["127.0.0.1"], refresh_s=0),
            payment_links=TenantPaymentLinks(
                pool,
                fixed_ring(),
                endpoints=ProviderEndpoints.from_settings(settings),
                refresh_s=0,
            ),
        )
        key = await api_key_for(database_url)
        async with (
            serving(create_app(settings), port) as url,
            httpx.AsyncClient(base_url=url, headers=bearer(key), timeout=10) as api,
            httpx.AsyncClient(base_url=url, headers=bearer(ADMIN_KEY), timeout=10) as admin,
            loopback_line(agent_for=agents.setup_for_call, keep_finished=4) as line,
        ):
            yield Stack(api, admin, payments, twilio, line)


async def _created(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.request("PUT" if path.startswith("/agents/") else "POST", path, json=body)
    assert answer.status_code in (200, 201), answer.text
    created: dict[str, Any] = answer.json()
    return created


async def _link_tool_and_sender(stack: Stack) -> None:
    """The default tenant's link tool (its payment service) and its Twilio sender."""
    tool = await _created(
        stack.api,
        "/tools",
        {
            "name": LINK_TOOL,
            "description": "Crea un link de pago",
            "parameters": LINK_PARAMETERS,
            "url": f"{stack.payments.origin}/links",
        },
    )
    stack.payments.secret = tool["secret"]  # the service verifies our signature with it
    await _created(
        stack.api,
        "/whatsapp-senders",
        {
            "provider": "twilio",
            "name": "cobranza",
            "account_sid": stack.twilio.account_sid,
            "auth_token": stack.twilio.auth_token,
            "from_number": "+56229990001",
            "payment_link_tool": LINK_TOOL,
        },
    )


def _maria(key: str, campaign_id: str = "e2e-payment-link") -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number=MARIA,
        campaign_id=campaign_id,
        contact_id=key,
        attempt_number=1,
        agent=AGENT,
        variables={"nombre": "María", "monto_total": 200000},
    )


def _link_calls(record: CallRecord) -> list[dict[str, Any]]:
    return [
        e.payload
        for e in record.events
        if e.type == "tool_call" and e.payload["name"] == "send_payment_link"
    ]


def _agent_said(record: CallRecord) -> list[str]:
    return [text for who, text in record.transcript if who == "agent"]


async def test_a_call_sends_the_link_by_whatsapp_and_its_statuses_come_back(
    stack: Stack, pool: Pool
) -> None:
    await _link_tool_and_sender(stack)
    await _created(stack.api, f"/agents/{AGENT}", _flow())
    key = f"payment-link-{uuid.uuid4().hex[:8]}"  # no campaign row: the default tenant's

    result = await stack.line.converse(_maria(key), _says_yes_twice(), datetime.now(UTC))

    record = stack.line.records[key]
    [event] = _link_calls(record)
    assert event["success"], (event, _agent_said(record), result)
    assert event["result"]["url"].startswith("https://pagos.example.cl/l/pl_")
    assert event["result"]["channel"] == "whatsapp"
    [made] = stack.payments.requests
    assert made["call_key"] == key
    assert made["arguments"] == {
        "amount": 200000.0, "currency": "CLP", "reference": key, "phone": MARIA, "name": "María",
    }  # fmt: skip
    [sent] = stack.twilio.messages
    assert sent.to == f"whatsapp:{MARIA}"
    assert sent.body == f"Hola María, este es su link de pago: {event['result']['url']}"
    assert event["result"]["provider_message_id"] == sent.sid
    assert SENT_LINE.format(nombre="María") in _agent_said(record)
    assert result.extracted["payment_link_id"] == event["result"]["link_id"]
    print(f"\nsend_payment_link on a live call: {event['duration_ms']:.0f} ms (link + WhatsApp)")

    # Twilio's signed statuses reach the API: stored with the message, and outbox events.
    await asyncio.wait_for(sent.done.wait(), 10)
    assert sent.callbacks == [("sent", 204), ("delivered", 204)]
    listed = await stack.api.get("/messages", params={"call_key": key})
    assert listed.status_code == 200, listed.text
    [message] = listed.json()["items"]
    assert message["id"] == event["result"]["message_id"]
    assert message["status"] == "delivered"
    assert [s["status"] for s in message["statuses"]] == ["queued", "sent", "delivered"]
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT subject, payload FROM domain_events WHERE type = 'message_status' "
            "AND payload->>'message_id' = %s ORDER BY seq",
            (message["id"],),
        )
        events = list(await cur.fetchall())
    assert [e["payload"]["status"] for e in events] == ["sent", "delivered"]
    assert events[-1]["subject"] == f"call:{key}"


async def test_a_tenant_without_a_sender_hears_no_whatsapp_sender_and_goes_on(
    stack: Stack,
) -> None:
    _, tenant_key = await new_tenant(stack.admin, f"sin whatsapp {uuid.uuid4().hex[:6]}")
    other = httpx.AsyncClient(base_url=stack.api.base_url, headers=bearer(tenant_key), timeout=10)
    async with other:
        await _created(other, f"/agents/{AGENT}", _flow())
        campaign = await _created(
            other,
            "/campaigns",
            {
                "name": "sin whatsapp",
                "start": False,
                "policy": {"default_agent": AGENT},
                "contacts": [{"name": "María", "phone": MARIA}],
            },
        )
    campaign_id = campaign["campaign"]["id"]
    # The key names the campaign: the call is this tenant's.
    key = f"campaign-{campaign_id}-contact-{uuid.uuid4()}-attempt-1"

    await stack.line.converse(_maria(key, campaign_id), _says_yes_twice(), datetime.now(UTC))

    record = stack.line.records[key]
    [event] = _link_calls(record)
    assert not event["success"], event
    assert event["result"]["error"] == "no_whatsapp_sender", event
    said = _agent_said(record)
    assert NOT_SENT_LINE in said, said  # the flow went on to its next question
    assert said.index(NOT_SENT_LINE) < len(said) - 1, said  # and on after it
    assert stack.twilio.messages == []
    assert stack.payments.requests == []


async def test_the_binding_reads_the_callers_number_and_refuses_when_it_cannot_ask(
    stack: Stack, pool: Pool
) -> None:
    tenant_id, tenant_key = await new_tenant(stack.admin, f"entrante {uuid.uuid4().hex[:6]}")
    async with httpx.AsyncClient(
        base_url=stack.api.base_url, headers=bearer(tenant_key), timeout=10
    ) as tenant:
        await _created(
            tenant,
            "/whatsapp-senders",
            {
                "provider": "twilio",
                "name": "entrante",
                "account_sid": stack.twilio.account_sid,
                "auth_token": stack.twilio.auth_token,
                "from_number": "+56229990001",
                "payment_link_tool": LINK_TOOL,
            },
        )
    caller = "+56911112222"
    inbound = _maria("inbound-1").model_copy(
        update={"from_number": caller, "to_number": "+56229990001"}
    )
    bound = await TenantPaymentLinks(pool, fixed_ring()).for_call(tenant_id, inbound, "es-CL")
    assert isinstance(bound, PaymentLinks)
    assert (bound.tenant_id, bound.call_key) == (tenant_id, "inbound-1")
    assert (bound.contact_phone, bound.language) == (caller, "es-CL")  # not the line's number
    assert bound.variables["nombre"] == "María"

    # A lookup past its deadline (a slow database) leaves the call with the refusal.
    slow = TenantPaymentLinks(pool, fixed_ring(), timeout_s=0)
    refusal = await slow.for_call(tenant_id, inbound, "es-CL")
    assert refusal is no_whatsapp_sender
    with pytest.raises(PaymentLinkError) as refused:
        await refusal(PaymentLinkRequest())
    assert refused.value.code == "no_whatsapp_sender"
