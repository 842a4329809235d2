"""A media worker SIGKILLed in the middle of a SIP call: the attempt is rung once more
under its own key, never twice more.

`centralita media` runs as a process of its own, on a real Postgres, set to ring through
a SIP trunk that is baresip itself (a real SIP phone that answers at once). The worker
is killed while the conversation is up. A trunk has no call list to ask (unlike
Twilio's), so the dial activity's retry of the same attempt, reaching a new worker,
finds the lost ring in the durable dial log and rings once more; a further retry of the
same attempt gets that call's stored result and rings nobody.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from centralita.kernel.calls import DialRequest
from centralita.kernel.db import Pool
from realtime.carrier.http_dialer import CarrierUnavailableError, HttpDialer
from tests.e2e.test_crash_recovery import kill_hard, process_env, wait_healthy
from tests.support.servers import free_port
from tests.support.sip_peers import Baresip, free_udp_port
from tests.support.stack import CliProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

KEY = "campaign-crash-sip-attempt-1"
PHONE = "+56990006666"


def request(phone: str) -> DialRequest:
    return DialRequest(
        idempotency_key=KEY,
        to_number=phone,
        campaign_id="crash",
        contact_id="crash-contact",
        attempt_number=1,
        agent="cobranza-temprana",
        variables={"nombre": "Ana", "monto_total": 1000, "fecha_limite": "2026-11-30"},
    )


async def test_a_worker_killed_mid_call_rings_the_attempt_once_more_never_twice(
    tmp_path: Path, database_url: str, pool: Pool
) -> None:
    port = free_port()
    media = f"http://127.0.0.1:{port}"
    # The phone hangs up 8 s into each call (its WAV's end): the second call ends alone.
    async with Baresip(PHONE.lstrip("+"), tail_silence_s=8.0) as phone:
        env = process_env(
            tmp_path,
            CENTRALITA_DATABASE_URL=database_url,
            CENTRALITA_MEDIA_HOST="127.0.0.1",
            CENTRALITA_MEDIA_PORT=str(port),
            CENTRALITA_SIP_TRUNK_HOST="127.0.0.1",
            CENTRALITA_SIP_TRUNK_PORT=str(phone.sip_port),
            CENTRALITA_SIP_TRUNK_DIAL_PLUS="false",
            CENTRALITA_SIP_LISTEN=f"127.0.0.1:{free_udp_port()}",
            CENTRALITA_SIP_RTP_PORTS="34000-34999",
            CENTRALITA_POST_CALL="false",
        )
        argv = ["media", "--host", "127.0.0.1", "--port", str(port)]
        workers: list[CliProcess] = []
        try:
            first = CliProcess(argv, env, tmp_path / "logs").start()
            workers.append(first)
            await wait_healthy(first, f"{media}/health", 60)
            dialer = HttpDialer(media, long_poll=2.0)
            dialing = asyncio.create_task(dialer.dial(request(PHONE)))
            await phone.wait_event("CALL_ESTABLISHED", 30)
            kill_hard(first)  # mid-conversation
            with pytest.raises(CarrierUnavailableError):
                await asyncio.wait_for(dialing, 30)
            await dialer.aclose()

            second = CliProcess(argv, env, tmp_path / "logs").start()
            workers.append(second)
            await wait_healthy(second, f"{media}/health", 60)
            dialer = HttpDialer(media, long_poll=2.0)
            try:
                result = await asyncio.wait_for(dialer.dial(request(PHONE)), 60)
                again = await asyncio.wait_for(dialer.dial(request(PHONE)), 30)
            finally:
                await dialer.aclose()
        finally:
            for proc in workers:
                proc.close()
        established = [e for e in phone.events if e.kind == "CALL_ESTABLISHED"]

    assert len(established) == 2  # the lost call, and the one ring more
    assert again == result  # the third dial of the attempt rang nobody
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT dial, ended_as FROM carrier_dial_log WHERE idempotency_key = %s ORDER BY dial",
            (KEY,),
        )
        rings = await cur.fetchall()
    assert len(rings) == 2
    assert rings[0]["ended_as"] == "lost"  # the dead worker's ring
