"""Registering with a provider: our `Registration` against SIPp playing the registrar.

Each scenario (tests/support/sipp_scenarios/uas_registrar*.xml) checks on the wire what
a registrar would: the digest response against the password (SIPp's `verifyauth`), the
lifetime asked for, a refresh before the binding runs out, the unregister with
``Expires: 0``, and that a refused or failed REGISTER is not repeated at once. The tests
check what our side concluded from the answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from realtime.sip.registration import (
    AUTH_REFUSED_RETRY_S,
    BACKOFF_S,
    Registration,
    RegistrationError,
)
from realtime.sip.user_agent import SipUserAgent
from tests.support.sip_peers import Sipp, SippResult

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

DOMAIN = "centralita.test"
PASSWORD = "s3cret"  # what uas_registrar.xml verifies


@pytest_asyncio.fixture
async def agent() -> AsyncIterator[SipUserAgent]:
    agent = await SipUserAgent.start("127.0.0.1", 0)
    try:
        yield agent
    finally:
        agent.close()


def registration(
    agent: SipUserAgent, sipp: Sipp, credentials: tuple[str, str] | None
) -> Registration:
    return Registration(
        agent,
        registrar=("127.0.0.1", sipp.port),
        aor_user="alice",
        domain=DOMAIN,
        credentials=credentials,
        expires_s=600,
    )


def state(reg: Registration) -> tuple[bool, float | None, int | None]:
    """Registered, expires_at and last_status, read afresh: mypy would otherwise keep
    what earlier asserts narrowed these attributes to, across the awaits that change
    them."""
    return reg.registered, reg.expires_at, reg.last_status


def assert_passed(result: SippResult) -> None:
    assert result.passed, f"SIPp: {result.errors[-2000:]}\n{result.output[-2000:]}"


async def test_registers_with_digest_refreshes_before_expiry_and_unregisters(
    agent: SipUserAgent,
) -> None:
    async with Sipp("uas_registrar.xml", timeout_s=20) as sipp:
        reg = registration(agent, sipp, ("alice", PASSWORD))
        loop = asyncio.get_running_loop()
        await reg.start()
        assert reg.ready.is_set()
        assert reg.registered
        assert reg.last_status == 200
        assert reg.failures == 0
        assert reg.expires_at is not None
        granted = reg.expires_at - loop.time()
        assert 5 < granted <= 6  # the registrar's Expires: 6, not the 600 asked for
        first_expiry = reg.expires_at

        while reg.refreshes == 0:
            assert loop.time() < first_expiry, "the binding ran out before its refresh"
            await asyncio.sleep(0.05)
        assert reg.registered
        assert reg.expires_at > first_expiry  # the refresh extended it
        assert reg.failures == 0

        await reg.stop()
        assert state(reg) == (False, None, 200)  # 200: the unregister's answer
        assert_passed(await sipp.wait())


async def test_a_wrong_password_stops_for_minutes_not_in_a_loop(agent: SipUserAgent) -> None:
    async with Sipp("uas_registrar_wrong_password.xml", timeout_s=15) as sipp:
        reg = registration(agent, sipp, ("alice", "not-the-password"))
        loop = asyncio.get_running_loop()
        await reg.start()
        assert not reg.registered
        assert not reg.ready.is_set()
        assert reg.last_status == 401
        assert reg.failures == 1
        assert reg.next_attempt_at is not None
        assert reg.next_attempt_at - loop.time() > AUTH_REFUSED_RETRY_S - 5
        # The scenario fails if another REGISTER comes within 3 s of the refusal.
        assert_passed(await sipp.wait())
        assert reg.failures == 1
        await reg.stop()  # nothing to unregister: nothing sent (SIPp has gone)
        assert state(reg) == (False, None, 401)


async def test_interval_too_brief_asks_again_for_min_expires(agent: SipUserAgent) -> None:
    async with Sipp("uas_registrar_interval_too_brief.xml", timeout_s=15) as sipp:
        reg = registration(agent, sipp, credentials=None)
        loop = asyncio.get_running_loop()
        await reg.start()
        assert reg.registered
        assert reg.expires_s == 3600
        assert reg.failures == 0
        assert reg.expires_at is not None
        assert reg.next_attempt_at is not None
        # Our binding's 3600 s, not the other device's 120 s listed first.
        assert 3590 < reg.expires_at - loop.time() <= 3600
        # Refreshed at 80 % of it (2880 s), well before the 30 s margin (3570 s).
        assert 2870 < reg.next_attempt_at - loop.time() <= 2880
        await reg.stop()
        assert state(reg) == (False, None, 200)
        assert_passed(await sipp.wait())


async def test_a_registrar_down_is_retried_after_a_backoff(agent: SipUserAgent) -> None:
    async with Sipp("uas_registrar_unavailable.xml", timeout_s=20) as sipp:
        reg = registration(agent, sipp, credentials=None)
        loop = asyncio.get_running_loop()
        await reg.start()
        assert state(reg) == (False, None, 503)
        assert reg.failures == 1
        assert reg.next_attempt_at is not None
        assert reg.next_attempt_at - loop.time() > BACKOFF_S[0] - 0.5

        await asyncio.wait_for(reg.ready.wait(), 10)
        assert reg.registered
        assert reg.last_status == 200
        assert reg.failures == 1
        assert reg.expires_at is not None
        assert 55 < reg.expires_at - loop.time() <= 60  # the Contact's expires=60
        await reg.stop()
        assert state(reg) == (False, None, 200)
        assert_passed(await sipp.wait())


@pytest.mark.parametrize(
    ("user", "domain", "expires_s", "complaint"),
    [
        ("", DOMAIN, 600, "aor_user"),
        ("alice", "a b", 600, "domain"),
        ("alice", DOMAIN, 0, "expires_s"),
    ],
)
async def test_unusable_settings_are_refused(
    agent: SipUserAgent, user: str, domain: str, expires_s: int, complaint: str
) -> None:
    with pytest.raises(RegistrationError, match=complaint):
        Registration(
            agent,
            registrar=("127.0.0.1", 5060),
            aor_user=user,
            domain=domain,
            credentials=None,
            expires_s=expires_s,
        )
