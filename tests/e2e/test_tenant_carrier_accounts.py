"""A tenant's own carrier account (Twilio or Telnyx) rings its campaigns' phones.

The tenant stores its account (`centralita.telephony`, as `POST /carrier-accounts`
does) in Postgres; a campaign naming it has its calls placed with that account's
credentials (the fake Twilio accepts only them) and its callbacks verified with that
account's token. Another tenant's account is never used: such a call fails without
ringing anyone.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from centralita.kernel.calls import CallOutcome, DialRequest
from centralita.kernel.db import Pool
from centralita.telephony.models import Credentials, TelnyxCredentials, TwilioCredentials
from centralita.telephony.store.accounts import (
    account_credentials,
    create_account,
    delete_account,
    get_account,
)
from realtime.agents.setup import flow_agent_for
from realtime.carrier.phone_line import PhoneLineConfig
from realtime.carrier.simulated import Persona, PersonaStep
from realtime.carrier.stream_broker import StreamBroker
from realtime.carrier.tenant_accounts import ACCOUNT_NOT_FOUND, AccountDialers
from realtime.carrier.twilio import STATUS_PATH
from realtime.conversation_line import ConversationLine
from realtime.server.app import create_media_app
from realtime.server.carrier_webhooks import twilio_webhook_router
from realtime.server.media_streams import media_stream_router
from realtime.server.telnyx_webhooks import telnyx_webhook_router
from tests.support.encryption import fixed_ring
from tests.support.fakes.telnyx_server import FakeTelnyx
from tests.support.fakes.twilio_server import FakeCall, FakeTwilio
from tests.support.lines import until
from tests.support.providers import ScriptedSTT, ScriptedTTS
from tests.support.servers import free_port, serving

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

BUSY_LINE = "+56962220001"


@dataclass
class Accounts:
    dialers: AccountDialers
    twilio: FakeTwilio
    telnyx: FakeTelnyx
    telnyx_account: str
    media_base: str
    tenant: str
    account: str
    other_tenant: str
    other_account: str


async def no_stream(url: str, parameters: dict[str, str], script: object, call: FakeCall) -> None:
    raise AssertionError("a busy line opens no stream")


async def new_tenant_account(pool: Pool, name: str, sid: str, token: str) -> tuple[str, str]:
    tenant = str(uuid.uuid4())
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant, name))
        account = await create_account(
            conn,
            fixed_ring(),
            tenant,
            name=f"{name} Twilio",
            calls_per_second=2.5,
            credentials=TwilioCredentials(account_sid=sid, auth_token=SecretStr(token)),
        )
    return tenant, str(account.id)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def accounts(pool: Pool) -> AsyncIterator[Accounts]:
    busy = Persona(
        number=BUSY_LINE,
        name="busy",
        script=[PersonaStep(outcome=CallOutcome.BUSY, ring_seconds=0.3)],
    )
    sid, token = "AC" + uuid.uuid4().hex, "tenant-own-token"
    twilio = FakeTwilio(
        [busy], bot_tts=ScriptedTTS(), media_caller=no_stream, account_sid=sid, auth_token=token
    )
    telnyx = FakeTelnyx([busy], bot_tts=ScriptedTTS(), connection_id="conn-" + uuid.uuid4().hex)
    tenant, account = await new_tenant_account(pool, "Cobros Sur", sid, token)
    async with pool.connection() as conn:
        telnyx_account = await create_account(
            conn,
            fixed_ring(),
            tenant,
            name="Cobros Sur Telnyx",
            calls_per_second=1,
            credentials=TelnyxCredentials(
                api_key=SecretStr(telnyx.api_key),
                public_key=telnyx.public_key,
                connection_id=telnyx.connection_id,
            ),
        )
    other_tenant, other_account = await new_tenant_account(
        pool, "Otra", "AC" + uuid.uuid4().hex, "other-token"
    )

    async def credentials(tenant_id: str, account_id: str) -> tuple[Credentials, float] | None:
        async with pool.connection() as conn:
            secrets = await account_credentials(conn, fixed_ring(), tenant_id, account_id)
            account = await get_account(conn, tenant_id, account_id)
        return (secrets, account.calls_per_second) if secrets and account else None

    port = free_port()
    media_base = f"http://127.0.0.1:{port}"
    line = ConversationLine(agent_for=flow_agent_for, stt=ScriptedSTT(), tts=ScriptedTTS())
    broker = StreamBroker()
    async with serving(twilio.app) as twilio_base, serving(telnyx.app) as telnyx_base:
        config = PhoneLineConfig(
            public_base=media_base, from_numbers=("+56229990000",), ring_timeout_s=15
        )
        dialers = AccountDialers(
            credentials,
            line,
            broker,
            config,
            twilio_api_base=twilio_base,
            telnyx_api_base=telnyx_base,
            fallback=None,
        )
        app = create_media_app(
            None,
            routers=[
                media_stream_router(broker),
                twilio_webhook_router(dialers.twilio_dialer),
                telnyx_webhook_router(dialers.telnyx_dialer),
            ],
        )
        async with serving(app, port):
            yield Accounts(
                dialers,
                twilio,
                telnyx,
                str(telnyx_account.id),
                media_base,
                tenant,
                account,
                other_tenant,
                other_account,
            )
        await dialers.aclose()
        await twilio.aclose()
        await telnyx.aclose()


def request(key: str, tenant: str, account: str | None) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number=BUSY_LINE,
        campaign_id="tenant-accounts",
        contact_id=key,
        attempt_number=1,
        variables={"nombre": "Ana", "monto_total": 1000, "fecha_limite": "2026-11-30"},
        tenant_id=tenant,
        carrier_account_id=account,
    )


@pytest.mark.asyncio(loop_scope="module")
async def test_a_campaign_s_calls_go_out_on_its_tenant_s_account(accounts: Accounts) -> None:
    result = await accounts.dialers.dial(request("acct-own", accounts.tenant, accounts.account))

    assert result.outcome is CallOutcome.BUSY  # Twilio took the tenant's credentials
    [call] = accounts.twilio.calls
    await until(lambda: call.status == "busy", 5)
    assert accounts.twilio.callbacks_refused == 0  # verified with the tenant's own token
    dialer = accounts.dialers.twilio_dialer(accounts.twilio.account_sid)
    assert dialer is not None
    assert dialer.config.calls_per_second == 2.5  # the account's own limit


@pytest.mark.asyncio(loop_scope="module")
async def test_another_tenant_s_account_is_never_used(accounts: Accounts) -> None:
    before = len(accounts.twilio.calls)
    result = await accounts.dialers.dial(
        request("acct-other", accounts.tenant, accounts.other_account)
    )

    assert result.outcome is CallOutcome.FAILED
    assert result.disconnection_reason == ACCOUNT_NOT_FOUND
    assert len(accounts.twilio.calls) == before  # nobody rang


@pytest.mark.asyncio(loop_scope="module")
async def test_a_callback_for_an_account_that_is_not_ours_is_refused(accounts: Accounts) -> None:
    url = f"{accounts.media_base}{STATUS_PATH}?key=acct-own"
    form = {"AccountSid": "AC" + "f" * 32, "CallSid": "CAx", "CallStatus": "completed"}
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            url,
            data=form,
            headers={"X-Twilio-Signature": accounts.twilio.signed_callback(url, form)},
        )
    assert answer.status_code == 403


@pytest.mark.asyncio(loop_scope="module")
async def test_a_tenant_s_telnyx_account_rings_too(accounts: Accounts) -> None:
    result = await accounts.dialers.dial(
        request("acct-telnyx", accounts.tenant, accounts.telnyx_account)
    )

    assert result.outcome is CallOutcome.BUSY, result.disconnection_reason
    [call] = accounts.telnyx.calls  # placed with the tenant's API key
    assert call.body["connection_id"] == accounts.telnyx.connection_id
    assert accounts.telnyx.webhooks_refused == 0  # verified with the account's own key


@pytest.mark.asyncio(loop_scope="module")
async def test_an_account_deleted_stops_dialling_at_the_next_call(
    accounts: Accounts, pool: Pool
) -> None:
    async with pool.connection() as conn:
        account = await create_account(
            conn,
            fixed_ring(),
            accounts.tenant,
            name=f"short-lived {uuid.uuid4().hex[:6]}",
            calls_per_second=1,
            credentials=TwilioCredentials(
                account_sid=accounts.twilio.account_sid,
                auth_token=SecretStr(accounts.twilio.auth_token),
            ),
        )
    first = await accounts.dialers.dial(request("acct-before", accounts.tenant, str(account.id)))
    assert first.outcome is CallOutcome.BUSY
    async with pool.connection() as conn:
        assert await delete_account(conn, accounts.tenant, str(account.id))
    placed = len(accounts.twilio.calls)

    after = await accounts.dialers.dial(request("acct-after", accounts.tenant, str(account.id)))

    assert after.disconnection_reason == ACCOUNT_NOT_FOUND  # not its cached dialer
    assert len(accounts.twilio.calls) == placed
