"""Opt-out and callback: from what a person says on a real call to what the campaign does.

A campaign runs on the real Temporal dev server with the production orchestrator worker;
its dial activity rings the simulated carrier, whose personas answer with bot softphones
that hold real WebRTC conversations with the agent (faster-whisper, espeak-ng, the
shipped Spanish flow). The assertions are on the campaign's own records: the opt-out
list, the contact's state, the dial log, and when the next attempt is scheduled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from centralita.campaigns.policy import CampaignPolicy
from centralita.campaigns.store.campaigns import NewContact
from centralita.correction.online import OnlineCorrector
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from realtime.agents.setup import flow_agent_for
from realtime.carrier.simulated import Persona, PersonaStep, SimulatedCarrier
from realtime.conversation_line import ConversationLine
from realtime.legs.webrtc import restrict_ice_to_loopback
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.softphone.script import BotLine, BotScript
from tests.support.campaigns import (
    ALWAYS_OPEN,
    Population,
    new_campaign,
    rows,
    run_until_settled,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

SANTIAGO = ZoneInfo("America/Santiago")
DEBT = {"monto_total": 200000, "fecha_limite": "2026-11-30"}
OPT_OUT_PHONE, SECOND_PHONE, CALLBACK_PHONE = "+56962000001", "+56962000002", "+56962000003"


def _talks(*lines: str) -> PersonaStep:
    # The scripted outcome stands only for a carrier without a conversation line.
    script = BotScript(lines=[BotLine(say=line) for line in lines])
    return PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=0, conversation=script)


def _population() -> Population:
    people = Population()
    people.contacts = [
        NewContact(
            name="Ana",
            phones=[OPT_OUT_PHONE, SECOND_PHONE],
            recipient_timezone="America/Santiago",
            variables={"nombre": "Ana", **DEBT},
        ),
        NewContact(
            name="Carla",
            phones=[CALLBACK_PHONE],
            recipient_timezone="America/Santiago",
            variables={"nombre": "Carla", **DEBT},
        ),
    ]
    never_rung = PersonaStep(outcome=CallOutcome.PROMISE_TO_PAY, ring_seconds=0)
    people.personas = [
        Persona(
            number=OPT_OUT_PHONE,
            name="Ana",
            script=[_talks("Sí, soy yo.", "Por favor, no me vuelvan a llamar.")],
        ),
        Persona(number=SECOND_PHONE, name="Ana (second phone)", script=[never_rung]),
        Persona(
            number=CALLBACK_PHONE,
            name="Carla",
            # The pause keeps espeak-ng from running "las cuatro" together ("la suato").
            # Should the hour still be lost, the agent asks for it (and may confirm it):
            # the last lines answer.
            script=[
                _talks(
                    "Sí, con ella habla.",
                    "Ahora no puedo. Llámeme mañana a las... cuatro, por favor.",
                    "A las cuatro en punto.",
                    "Sí, correcto.",
                )
            ],
        ),
    ]
    return people


@pytest_asyncio.fixture(loop_scope="session")
async def carrier() -> AsyncIterator[SimulatedCarrier]:
    restrict_ice_to_loopback()
    line = ConversationLine(
        agent_for=flow_agent_for,
        stt=WhisperSTT(),
        tts=EspeakTTS(),
        bot_tts=EspeakTTS(speed_wpm=140),  # see tests/e2e/test_conversations.py
        corrector=OnlineCorrector(),
    )
    yield SimulatedCarrier(_population().personas, line=line)
    restrict_ice_to_loopback(False)


@pytest.mark.asyncio(loop_scope="session")
async def test_what_people_say_on_the_call_steers_the_campaign(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str, carrier: SimulatedCarrier
) -> None:
    policy = CampaignPolicy.model_validate({**ALWAYS_OPEN, "concurrency": 2})
    campaign_id = await new_campaign(pool, _population(), policy)
    # Carla's callback is tomorrow: the campaign ends once both calls are recorded.
    contacts = await run_until_settled(dev_env.client, pool, database_url, campaign_id, carrier)

    ana, carla = contacts["Ana"], contacts["Carla"]
    attempts = rows(
        database_url,
        "SELECT c.name, a.phone, a.outcome, a.extracted, a.transcript FROM call_attempts a "
        "JOIN contacts c "
        "ON c.id = a.contact_id WHERE a.campaign_id = %s::uuid ORDER BY a.attempt_number",
        campaign_id,
    )
    # Ana asked not to be called again: her number is on the opt-out list, her contact
    # is closed, and her second phone never rang.
    [ana_call] = [a for a in attempts if a["name"] == "Ana"]
    assert ana["state"] == "opted_out", ana_call["transcript"]
    opted = rows(database_url, "SELECT phone FROM opt_outs WHERE phone = %s", OPT_OUT_PHONE)
    assert opted, "the number is not on the opt-out list"
    assert ana_call["phone"] == OPT_OUT_PHONE
    assert SECOND_PHONE not in [entry.to_number for entry in carrier.dial_log]
    assert ana["next_attempt_at"] is None
    # Carla asked to be called tomorrow at four: her next attempt is due exactly then.
    [carla_call] = [a for a in attempts if a["name"] == "Carla"]
    assert carla["state"] == "retry_scheduled", carla_call["transcript"]
    asked = datetime.fromisoformat(carla_call["extracted"]["callback_at"])
    assert carla["next_attempt_at"] == asked, carla_call["transcript"]
    due = asked.astimezone(SANTIAGO)
    tomorrow = datetime.now(SANTIAGO).date() + timedelta(days=1)
    assert (due.date(), due.hour, due.minute) == (tomorrow, 16, 0), carla_call["transcript"]
