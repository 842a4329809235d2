"""Keys the agent presses reach a real SIP phone as RFC 4733 events.

An LLM agent (the local OpenAI-compatible fake streams its replies) calls baresip
through the SIP trunk dialer; when the person says the automated menu's options, the
model calls `send_dtmf`, and baresip reports each key it received (it understands
telephone-events, not tones in the audio), in order, after the agent's words.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from centralita.kernel.calls import DialRequest
from realtime.agents.llm.agent import LlmAgentDefinition
from realtime.agents.loader import parse_any_agent_data
from realtime.agents.setup import AgentSetup, setup_for
from realtime.carrier.sip_trunk import SipMedia, SipTrunk, SipTrunkDialer
from realtime.sip.rtp_session import PortRange
from realtime.sip.user_agent import SipUserAgent
from tests.support.fakes.openai_server import FakeOpenAI, Scripted, ScriptedToolCall
from tests.support.lines import loopback_line
from tests.support.sip_audio import spoken
from tests.support.sip_peers import Baresip

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

MEDIA = SipMedia(host="127.0.0.1", ports=PortRange(36000, 36999))


def agent_definition(base_url: str) -> LlmAgentDefinition:
    definition = parse_any_agent_data(
        {
            "kind": "llm",
            "name": "marcador",
            "language": "es-CL",
            "currency": "CLP",
            "model": {"base_url": base_url, "model": "fake-1"},
            "greeting": "Hola, llamo de Banco Sur.",
            "prompt": "Llamas a una empresa; navega su menú telefónico.",
        }
    )
    assert isinstance(definition, LlmAgentDefinition)
    return definition


@pytest_asyncio.fixture
async def model() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def test_the_agent_s_keys_reach_the_phone_as_telephone_events(model: FakeOpenAI) -> None:
    model.script[:] = [
        Scripted(
            text="Marco la opción uno.",
            tool_calls=[ScriptedToolCall("send_dtmf", {"digits": "1#"})],
        ),
        Scripted(text="Gracias. Adiós.", tool_calls=[ScriptedToolCall("end_call", {})]),
    ]
    definition = agent_definition(model.base_url)

    def agent_for(request: DialRequest) -> AgentSetup:
        return setup_for(definition, request)

    wav = spoken((4.0, "Para cobranzas, marque uno y luego gato."))
    request = DialRequest(
        idempotency_key="sip-keys-out",
        to_number="+56229990000",
        campaign_id="sip",
        contact_id="menu",
        attempt_number=1,
        agent="marcador",
    )
    async with (
        loopback_line(agent_for) as line,
        Baresip("menu", wav=wav, tail_silence_s=20.0) as phone,
    ):
        agent = await SipUserAgent.start("127.0.0.1", 0)
        try:
            trunk = SipTrunk(proxy_host="127.0.0.1", proxy_port=phone.sip_port, ring_timeout_s=15)
            dialer = SipTrunkDialer(agent, trunk, MEDIA, line)
            await dialer.dial(request.model_copy(update={"to_number": phone.uri}))
        finally:
            agent.close()
        pressed = phone.dtmf_received()

    record = line.records["sip-keys-out"]
    assert pressed == "1#", record.transcript_text()
    said = [text for who, text in record.transcript if who == "agent"]
    assert any("opción uno" in text for text in said)
