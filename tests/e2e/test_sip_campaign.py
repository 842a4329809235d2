"""A campaign through the SIP trunk settings reaches a real SIP phone and lands a promise.

The production orchestrator worker on the real Temporal dev server runs a one-contact
campaign; the dialer is the media worker's SIP line built from its settings
(`SipLine.from_settings`: the trunk's address, digits-only numbers, the RTP port range).
Behind the trunk, baresip answers the contact's number and speaks the promise
persona's WAV; at the end the attempt stored is a promise with its amount and date, and
baresip's recording holds the agent's words.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from temporalio.testing import WorkflowEnvironment

from centralita.campaigns.policy import CampaignPolicy
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from centralita.kernel.settings import Settings
from realtime.carrier.simulated import PersonaStep
from realtime.server.sip_line import SipLine
from tests.support.campaigns import ALWAYS_OPEN, Population, new_campaign, rows, run_campaign
from tests.support.lines import loopback_line
from tests.support.sip_audio import loud_seconds, spoken
from tests.support.sip_peers import Baresip, free_udp_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DEBT = {"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"}


@pytest.mark.asyncio(loop_scope="session")
async def test_a_campaign_through_the_sip_trunk_lands_a_promise(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str
) -> None:
    people = Population()
    # (The persona is the simulated carrier's; here baresip answers the number.)
    people.add("promise", 1, [PersonaStep(outcome=CallOutcome.PROMISE_TO_PAY)], prefix="+5698")
    [contact] = people.contacts
    contact.variables = dict(DEBT)
    number = contact.phones[0]
    policy = CampaignPolicy.model_validate({**ALWAYS_OPEN, "caps": {"max_attempts": 1}})
    campaign_id = await new_campaign(pool, people, policy)
    wav = spoken(
        (6.5, "Sí, con ella habla."),
        (11.0, "Doscientos mil pesos, el viernes."),
        (8.0, "Sí, correcto."),
        (7.0, "No, gracias. Adiós."),
        voice="kokoro",  # espeak-ng's "doscientos" is misheard over G.711 (see `spoken`)
    )
    async with (
        Baresip(number.lstrip("+"), wav=wav, tail_silence_s=12.0) as phone,
        loopback_line() as line,
    ):
        settings = Settings(
            sip_trunk_host="127.0.0.1",
            sip_trunk_port=phone.sip_port,
            sip_trunk_dial_plus=False,
            sip_listen=f"127.0.0.1:{free_udp_port()}",
            sip_rtp_ports="35000-35999",
        )
        sip = SipLine.from_settings(settings, line)
        assert sip is not None
        await sip.start()
        try:
            await run_campaign(dev_env.client, pool, campaign_id, sip)
        finally:
            await sip.aclose()
        heard = await phone.recording()
        heard_s = loud_seconds(heard) if heard is not None else 0.0

    [attempt] = rows(
        database_url,
        "SELECT outcome, extracted, transcript FROM call_attempts WHERE campaign_id = %s::uuid",
        campaign_id,
    )
    assert attempt["outcome"] == "promise_to_pay", attempt["transcript"]
    assert attempt["extracted"]["promised_amount"] == 200000, attempt["transcript"]
    promised = datetime.fromisoformat(attempt["extracted"]["promised_date"]).date()
    assert promised.weekday() == 4  # a Friday
    assert heard_s > 10.0  # the agent's words reached the phone
