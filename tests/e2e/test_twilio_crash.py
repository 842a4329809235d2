"""A media worker killed between asking Twilio for a call and hearing back: rung once.

Twilio has no idempotency key. `centralita media` runs as a process of its own, set to
ring through a local fake Twilio, on a real Postgres. The fake Twilio kills the whole
media worker (SIGKILL) the moment the Calls API request arrives, before it answers:
the call exists at Twilio (the phone rings), but the worker never learned its Call SID.
A new media worker on the same port gets the same dial request again (the dial
activity's retry): its durable dial log says the key's ring was lost, so it asks Twilio
for the calls to that number since then and finds the one placed. Nobody can hold that
call's conversation any more (its stream's token died with the worker), so it is
canceled while it still rings and reported as not answered, to be retried by the rules.
The person's phone rang once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from centralita.kernel.calls import CallOutcome, DialRequest
from centralita.kernel.db import Pool
from realtime.carrier.http_dialer import CarrierUnavailableError, HttpDialer
from realtime.carrier.simulated import Persona, PersonaStep
from tests.e2e.test_crash_recovery import kill_hard, process_env, wait_healthy
from tests.support.fakes.twilio_server import FakeCall, FakeTwilio
from tests.support.phones import FROM_NUMBER
from tests.support.providers import ScriptedTTS
from tests.support.servers import free_port, serving
from tests.support.stack import CliProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

PHONE = "+56990005555"
KEY = "campaign-crash-twilio-attempt-1"
# Rings until the call's ring timeout (25 s): still ringing when the new worker asks.
RINGING = Persona(
    number=PHONE,
    name="lets it ring",
    script=[PersonaStep(outcome=CallOutcome.NO_ANSWER)],
)


async def no_stream(url: str, parameters: dict[str, str], script: object, call: FakeCall) -> None:
    raise AssertionError("an unanswered line opens no stream")


@pytest_asyncio.fixture
async def twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio([RINGING], bot_tts=ScriptedTTS(), media_caller=no_stream)
    async with serving(fake.app) as base:
        yield fake, base
    await fake.aclose()


def request() -> DialRequest:
    return DialRequest(
        idempotency_key=KEY,
        to_number=PHONE,
        campaign_id="crash",
        contact_id="crash-contact",
        attempt_number=1,
        variables={"nombre": "Ana", "monto_total": 1000, "fecha_limite": "2026-11-30"},
    )


async def test_a_worker_killed_before_twilio_answered_never_rings_twice(
    tmp_path: Path, database_url: str, pool: Pool, twilio: tuple[FakeTwilio, str]
) -> None:
    fake, twilio_base = twilio
    port = free_port()
    media = f"http://127.0.0.1:{port}"
    env = process_env(
        tmp_path,
        CENTRALITA_DATABASE_URL=database_url,
        CENTRALITA_MEDIA_HOST="127.0.0.1",
        CENTRALITA_MEDIA_PORT=str(port),
        CENTRALITA_TWILIO_ACCOUNT_SID=fake.account_sid,
        CENTRALITA_TWILIO_AUTH_TOKEN=fake.auth_token,
        CENTRALITA_TWILIO_API_BASE=twilio_base,
        CENTRALITA_PHONE_PUBLIC_BASE=media,
        CENTRALITA_PHONE_FROM_NUMBERS=FROM_NUMBER,
        CENTRALITA_POST_CALL="false",
    )
    argv = ["media", "--host", "127.0.0.1", "--port", str(port)]
    workers: list[CliProcess] = []
    try:
        first = CliProcess(argv, env, tmp_path / "logs").start()
        workers.append(first)
        await wait_healthy(first, f"{media}/health", 60)
        fake.on_create = lambda call: kill_hard(first)  # in the window, exactly

        with contextlib.suppress(CarrierUnavailableError):
            dialer = HttpDialer(media, long_poll=2.0)
            try:
                await asyncio.wait_for(dialer.dial(request()), 20)
            finally:
                await dialer.aclose()
        assert not first.alive
        assert len(fake.calls) == 1  # Twilio placed the call; the worker never heard

        second = CliProcess(argv, env, tmp_path / "logs").start()
        workers.append(second)
        await wait_healthy(second, f"{media}/health", 60)
        dialer = HttpDialer(media, long_poll=2.0)
        try:
            result = await asyncio.wait_for(dialer.dial(request()), 30)
        finally:
            await dialer.aclose()
    finally:
        for proc in workers:
            proc.close()

    assert len(fake.calls) == 1, [(c.sid, c.status) for c in fake.calls]  # rang once
    assert result.outcome is CallOutcome.NO_ANSWER
    assert fake.calls[0].status == "canceled"  # the new worker ended the orphaned call
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT dial, ended_as FROM carrier_dial_log WHERE idempotency_key = %s ORDER BY dial",
            (KEY,),
        )
        rings = await cur.fetchall()
    assert [r["ended_as"] for r in rings][:1] == ["lost"]  # the dead worker's ring
