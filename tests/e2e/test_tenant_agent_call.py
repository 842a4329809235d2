"""A real call whose agent is a tenant's stored flow: the bot on the other end hears it.

Tenant B stores, through the API, its own `cobranza-temprana` (the shipped default flow
with a distinctive first line) and creates a campaign naming it. A call of that campaign
goes through the media worker's lookup (`realtime.store.agent_lookup.TenantAgents`, as
`workers/media.py` wires it) over loopback WebRTC to a bot softphone; what the bot heard
is transcribed with faster-whisper, and it is B's line, not the shipped greeting.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from aiortc import MediaStreamTrack
from rapidfuzz import fuzz

from centralita.kernel.calls import DialRequest
from centralita.kernel.db import Pool
from realtime.agents.loader import load_any_agent
from realtime.audio.frames import InboundResampler
from realtime.conversation_line import ConversationLine
from realtime.legs.webrtc import SessionDescription, new_peer_connection
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.softphone.bot import BotSoftphone
from realtime.softphone.script import BotLine, BotScript
from realtime.store.agent_lookup import TenantAgents
from tests.support.lines import loopback_line
from tests.support.servers import AppClients, bearer, settings_for
from tests.support.tenants import ADMIN_KEY, new_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

TENANT_LINE = "Hola {nombre}, le llama Ramona de la cooperativa Los Andes."
# What the shipped flow would have said first instead (its company as the test's contact).
SHIPPED_GREETING = "Buenos días, le saluda Sofía, asistente virtual. ¿Hablo con María?"


class ListeningBot(BotSoftphone):
    """The bot softphone, keeping the 16 kHz audio it heard (to transcribe it)."""

    def __init__(self, script: BotScript, tts: Any) -> None:
        super().__init__(script, tts)
        self.heard: list[np.ndarray] = []

    async def _listen(self, track: MediaStreamTrack) -> None:
        resampler = InboundResampler()
        while True:
            samples = resampler.convert(await track.recv())
            self.heard.append(samples)
            self.report.heard_s += samples.size / 16_000
            self._ear.hear(samples)


def _tenant_flow() -> dict[str, Any]:
    data = load_any_agent("cobranza-temprana").model_dump(mode="json", exclude_defaults=True)
    next(n for n in data["nodes"] if n["id"] == data["start"])["say"] = [TENANT_LINE]
    return data


@pytest.fixture
async def line(pool: Pool) -> AsyncIterator[ConversationLine]:
    async with loopback_line(agent_for=TenantAgents(pool).setup_for_call) as conversation:
        yield conversation


async def test_the_bot_hears_the_tenants_stored_flow(
    line: ConversationLine, database_url: str, app_clients: AppClients
) -> None:
    settings = settings_for(database_url, "127.0.0.1:1", admin_api_key=ADMIN_KEY)
    admin = await app_clients.open(settings, tenant_id=None)
    admin.headers.update(bearer(ADMIN_KEY))
    _, key = await new_tenant(admin, "cooperativa")
    b = await app_clients.open(settings, tenant_id=None)
    b.headers.update(bearer(key))
    stored = await b.put("/agents/cobranza-temprana", json=_tenant_flow())
    assert stored.status_code == 201, stored.text
    campaign = await b.post(
        "/campaigns",
        json={
            "name": "cooperativa",
            "start": False,
            "policy": {"default_agent": "cobranza-temprana"},
            "contacts": [{"name": "María", "phone": "+56961234567"}],
        },
    )
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["campaign"]["id"]
    call_key = f"campaign-{campaign_id}-contact-{uuid.uuid4()}-attempt-1"

    bot = ListeningBot(
        BotScript(lines=[BotLine(say="No, gracias. Adiós.")]),
        EspeakTTS(speed_wpm=140),  # as the line's bot speaks
    )
    bot_pc = new_peer_connection([])
    bot.attach(bot_pc)

    async def bot_answers(offer: SessionDescription) -> SessionDescription:
        await bot_pc.setRemoteDescription(offer.to_rtc())
        await bot_pc.setLocalDescription(await bot_pc.createAnswer())
        return SessionDescription.of(bot_pc.localDescription)

    request = DialRequest(
        idempotency_key=call_key,
        to_number="+56961234567",
        campaign_id=campaign_id,
        contact_id="c",
        attempt_number=1,
        agent="cobranza-temprana",
        variables={"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"},
    )
    try:
        result = await line.connect(request, datetime.now(UTC), bot_answers)
        await bot.done()
    finally:
        await bot_pc.close()

    agent_said = [t for s, t in line.records[call_key].transcript if s == "agent"]
    assert agent_said[0] == "Hola María, le llama Ramona de la cooperativa Los Andes.", result
    # The first seconds the bot heard: the tenant's line, by ear. Ten of them, because on
    # a loaded machine the line may start a few seconds into the call. Whisper garbles
    # espeak's names ("le llamaramo a la coperati a los andes"), so what was heard is
    # compared with both greetings: it must be far closer to the tenant's.
    opening = np.concatenate(bot.heard)[: 16_000 * 10]
    heard = await WhisperSTT().transcribe(opening, language="es")
    words = heard.text.lower()
    tenant_line = fuzz.partial_ratio(agent_said[0].lower(), words)
    shipped_line = fuzz.partial_ratio(SHIPPED_GREETING.lower(), words)
    assert tenant_line >= 70, (heard.text, tenant_line)
    assert tenant_line >= shipped_line + 20, (heard.text, tenant_line, shipped_line)
    assert "sofía" not in words, heard.text  # the shipped greeting's agent
