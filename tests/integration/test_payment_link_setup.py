"""The LLM brains a call is set up with (`setup_for`) get its payment-link action.

An LLM agent (`kind: llm`) and a flow in LLM mode (`cobranza-llm`) are set up as the
media worker does, with the action `TenantPaymentLinks` binds for a tenant with a Twilio
sender (the local Twilio WhatsApp fake) and the tenant's link tool (a signed 127.0.0.1
payment service); the model, a local OpenAI-compatible server, calls `send_payment_link`
with channel whatsapp, and the message reaches Twilio with the link. The flow test in
`tests/e2e/test_payment_link_call.py` covers scripted flows over a real call.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from centralita.kernel.calls import DialRequest
from centralita.kernel.db import Pool
from centralita.messaging.models import SenderCreate
from centralita.messaging.providers import ProviderEndpoints
from centralita.messaging.store import create_sender
from centralita.tenants.store.keys import create_tenant
from realtime.agents.llm.agent import LlmAgentDefinition
from realtime.agents.loader import load_agent
from realtime.agents.setup import AgentSetup, setup_for
from realtime.providers.base import AgentReply
from realtime.store.payment_links import TenantPaymentLinks
from tests.support.brain_turns import collect, turn
from tests.support.encryption import fixed_ring
from tests.support.fakes.openai_server import FakeOpenAI, Scripted, ScriptedToolCall
from tests.support.fakes.twilio_whatsapp import FakeTwilioWhatsApp
from tests.support.payment_service import LINK_TOOL, PaymentService

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

MARIA = "+56961234567"
VARIABLES = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-12-15"}
VERIFY = ScriptedToolCall("lookup_customer", {"name": "María"})
SEND = ScriptedToolCall(
    "send_payment_link", {"channel": "whatsapp", "amount": 200000, "currency": "CLP"}
)


@pytest.fixture
async def tenant(pool: Pool) -> str:
    async with pool.connection() as conn:
        return (await create_tenant(conn, f"pagos-{uuid.uuid4().hex[:6]}")).id


@pytest.fixture
async def twilio(pool: Pool, tenant: str) -> AsyncIterator[FakeTwilioWhatsApp]:
    async with FakeTwilioWhatsApp() as fake:
        sender = SenderCreate.model_validate(
            {
                "provider": "twilio",
                "name": "cobranza",
                "account_sid": fake.account_sid,
                "auth_token": fake.auth_token,
                "from_number": "+56229990001",
                "payment_link_tool": LINK_TOOL,
            }
        )
        async with pool.connection() as conn:
            await create_sender(conn, fixed_ring(), tenant, sender)
        yield fake


def _request(key: str, agent: str) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number=MARIA,
        campaign_id="payment-link-setup",
        contact_id=key,
        attempt_number=1,
        agent=agent,
        variables=VARIABLES,
    )


async def _set_up(
    pool: Pool, tenant: str, twilio: FakeTwilioWhatsApp, payments: PaymentService, agent: Any
) -> AgentSetup:
    """`setup_for` as `TenantAgents.setup_for_call` calls it, for the tenant's call."""
    key = f"call-{uuid.uuid4().hex[:8]}"
    request = _request(key, agent.name)
    links = TenantPaymentLinks(
        pool, fixed_ring(), endpoints=ProviderEndpoints(twilio_api_base=twilio.origin)
    )
    action = await links.for_call(tenant, request, agent.language)
    return setup_for(agent, request, external=payments.tools(key), payment_links=action)


def _sent_link(replies: list[AgentReply]) -> dict[str, Any]:
    [call] = [c for r in replies for c in r.tool_calls if c.name == "send_payment_link"]
    assert call.success, call.result
    return call.result


def _llm_agent(base_url: str, **more: Any) -> LlmAgentDefinition:
    return LlmAgentDefinition.model_validate(
        {
            "kind": "llm",
            "name": "asistente-pagos",
            "language": "es-CL",
            "currency": "CLP",
            "model": {"base_url": base_url, "model": "fake-1"},
            "prompt": "Eres Sofía. Hablas con {nombre}.",
            **more,
        }
    )


async def test_an_llm_agent_set_up_for_a_call_sends_the_link(
    pool: Pool, tenant: str, twilio: FakeTwilioWhatsApp
) -> None:
    script = [
        Scripted(tool_calls=[VERIFY]),
        Scripted(tool_calls=[SEND]),
        Scripted(text="Le envié el link por WhatsApp."),
    ]
    async with FakeOpenAI(script) as fake, PaymentService() as payments:
        agent = _llm_agent(fake.base_url)
        setup = await _set_up(pool, tenant, twilio, payments, agent)
        said, replies = await collect(setup.brain.stream(turn("Soy María. Mándeme el link.")))

    result = _sent_link(replies)
    assert said == ["Le envié el link por WhatsApp."]
    [sent] = twilio.messages
    assert sent.to == f"whatsapp:{MARIA}"
    assert sent.body == f"Hola María, este es su link de pago: {result['url']}"
    assert result["provider_message_id"] == sent.sid


async def test_an_llm_agent_that_verifies_identity_sends_no_link_before_it(
    pool: Pool, tenant: str, twilio: FakeTwilioWhatsApp
) -> None:
    """Whoever answered asks for the link before saying who they are: refused, and the
    model is told why; nothing reaches WhatsApp."""
    script = [Scripted(tool_calls=[SEND]), Scripted(text="Primero, ¿me confirma su nombre?")]
    async with FakeOpenAI(script) as fake, PaymentService() as payments:
        setup = await _set_up(pool, tenant, twilio, payments, _llm_agent(fake.base_url))
        said, replies = await collect(setup.brain.stream(turn("Mándeme el link de pago.")))

    [call] = [c for r in replies for c in r.tool_calls if c.name == "send_payment_link"]
    assert not call.success
    assert call.result["error"] == "identity_not_verified"
    assert said == ["Primero, ¿me confirma su nombre?"]
    assert twilio.messages == []
    assert payments.requests == []


async def test_an_llm_agent_without_an_identity_step_sends_the_link_at_once(
    pool: Pool, tenant: str, twilio: FakeTwilioWhatsApp
) -> None:
    """An agent whose tools leave out `lookup_customer` verifies nobody (a payment line
    the person called themselves): the link goes at once."""
    script = [Scripted(tool_calls=[SEND]), Scripted(text="Listo, se lo envié.")]
    async with FakeOpenAI(script) as fake, PaymentService() as payments:
        agent = _llm_agent(fake.base_url, tools=["send_payment_link", "end_call"])
        setup = await _set_up(pool, tenant, twilio, payments, agent)
        _, replies = await collect(setup.brain.stream(turn("Mándeme el link de pago.")))

    _sent_link(replies)
    assert len(twilio.messages) == 1


async def test_a_flow_in_llm_mode_sends_no_link_before_identity(
    pool: Pool, tenant: str, twilio: FakeTwilioWhatsApp
) -> None:
    script = [Scripted(tool_calls=[SEND]), Scripted(text="Listo, María.")]
    async with FakeOpenAI(script) as fake, PaymentService() as payments:
        data = load_agent("cobranza-llm").model_dump(mode="json", exclude_defaults=True)
        data["llm"]["model"] = {"base_url": fake.base_url, "model": "fake-1"}
        data["llm"].pop("fallback", None)  # its key is not set here
        agent = type(load_agent("cobranza-llm")).model_validate(data)
        setup = await _set_up(pool, tenant, twilio, payments, agent)
        await collect(setup.brain.start_stream())
        _, replies = await collect(setup.brain.stream(turn("Mándeme el link por WhatsApp.")))

    [call] = [c for r in replies for c in r.tool_calls if c.name == "send_payment_link"]
    # Still in the greeting (before identity): a third party is never sent the link.
    assert not call.success
    assert call.result["error"] == "identity_not_verified"
    assert twilio.messages == []
    assert payments.requests == []
