"""Secrets tenants store are sealed at rest: webhook secrets and carrier credentials.

Through the API and the stores on real Postgres: the table holds `enc:v1:...`, never
the secret; the secret still signs (a test delivery verifies at a receiver holding the
secret the API answered once) and still opens for the code that places calls; a sealed
value copied into another row or column does not open there; values written in clear
before encryption are still read.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.key_ring import KeyRingError, is_sealed_text
from centralita.telephony.models import TwilioCredentials
from centralita.telephony.store.accounts import account_credentials
from centralita.webhooks import store
from centralita.webhooks.signing import new_secret
from tests.support.encryption import fixed_ring
from tests.support.servers import AppClients, settings_for
from tests.support.webhooks import LOCAL, WebhookReceiver, subscribe

pytestmark = pytest.mark.integration

AUTH_TOKEN = "tok_" + uuid.uuid4().hex


@pytest.fixture
async def api(database_url: str, app_clients: AppClients) -> httpx.AsyncClient:
    # Temporal is never needed here: a test send is made by the API itself.
    settings = settings_for(database_url, "127.0.0.1:1", webhook_allow_hosts=list(LOCAL))
    return await app_clients.open(settings)


@pytest.fixture
async def crm() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as server:
        yield server


async def _row(pool: Pool, sql: str, *params: Any) -> dict[str, Any]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params)
        row = await cur.fetchone()
    assert row is not None
    return dict(row)


async def _test_send(api: httpx.AsyncClient, webhook_id: str) -> None:
    sent = await api.post(f"/webhooks/{webhook_id}/test")
    assert sent.status_code == 200, sent.text
    assert sent.json()["verdict"] == "delivered", sent.text


async def test_a_webhook_secret_is_sealed_in_its_row_and_still_signs(
    api: httpx.AsyncClient, crm: WebhookReceiver, pool: Pool
) -> None:
    created = await api.post("/webhooks", json={"url": crm.url})
    assert created.status_code == 201, created.text
    webhook, secret = created.json(), created.json()["secret"]
    stored = await _row(pool, "SELECT secret FROM webhooks WHERE id = %s::uuid", webhook["id"])
    assert is_sealed_text(stored["secret"])
    assert secret not in stored["secret"]
    assert secret.removeprefix("whsec_") not in stored["secret"]

    crm.secrets.append(secret)
    await _test_send(api, webhook["id"])
    assert crm.received[-1].verified_by == (secret,)

    rotated = await api.post(f"/webhooks/{webhook['id']}/rotate-secret", json={"overlap_s": 600})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    stored = await _row(
        pool, "SELECT secret, previous_secret FROM webhooks WHERE id = %s::uuid", webhook["id"]
    )
    assert all(is_sealed_text(v) for v in stored.values())
    assert secret not in str(stored)
    assert new not in str(stored)
    crm.secrets.append(new)
    await _test_send(api, webhook["id"])
    assert set(crm.received[-1].verified_by) == {secret, new}  # both sign in the overlap

    listed = await api.get("/webhooks")
    one = await api.get(f"/webhooks/{webhook['id']}")
    for response in (listed, one):
        assert secret not in response.text
        assert new not in response.text
        assert "enc:v1:" not in response.text


async def test_a_carrier_token_is_sealed_and_opens_for_placing_calls(
    api: httpx.AsyncClient, pool: Pool
) -> None:
    body = {
        "carrier": "twilio",
        "name": f"twilio {uuid.uuid4().hex[:6]}",
        "account_sid": "AC" + uuid.uuid4().hex,
        "auth_token": AUTH_TOKEN,
    }
    created = await api.post("/carrier-accounts", json=body)
    assert created.status_code == 201, created.text
    account = created.json()
    assert AUTH_TOKEN not in created.text
    assert account["auth_token_hint"] == "****" + AUTH_TOKEN[-4:]
    stored = await _row(
        pool, "SELECT auth_token FROM carrier_accounts WHERE id = %s::uuid", account["id"]
    )
    assert is_sealed_text(stored["auth_token"])
    assert AUTH_TOKEN not in stored["auth_token"]

    listed = await api.get("/carrier-accounts")
    assert AUTH_TOKEN not in listed.text
    assert account in listed.json()["items"]  # the hint survives sealing
    async with pool.connection() as conn:
        credentials = await account_credentials(
            conn, fixed_ring(), DEFAULT_TENANT_ID, account["id"]
        )
    assert isinstance(credentials, TwilioCredentials)
    assert credentials.auth_token.get_secret_value() == AUTH_TOKEN


async def test_a_sealed_value_copied_to_another_row_or_column_does_not_open(
    api: httpx.AsyncClient, pool: Pool
) -> None:
    tenant = DEFAULT_TENANT_ID
    first, _ = await subscribe(pool, tenant, "https://example.com/a")
    second, _ = await subscribe(pool, tenant, "https://example.com/b")
    ring = fixed_ring()
    async with pool.connection() as conn:
        await store.rotate_secret(conn, ring, tenant, second.id, new_secret(), timedelta(hours=1))
        delivery = await store.record_test_delivery(
            conn,
            second.id,
            event_id=f"evt_{uuid.uuid4().hex}",
            event_type="webhook_test",
            payload={},
            occurred_at=second.created_at,
        )
        assert (await store.attempt_target(conn, ring, delivery)) is not None
        await conn.execute(  # another row's secret, moved here
            "UPDATE webhooks SET secret = (SELECT secret FROM webhooks WHERE id = %s::uuid) "
            "WHERE id = %s::uuid",
            (first.id, second.id),
        )
        with pytest.raises(KeyRingError, match="failed authentication"):
            await store.attempt_target(conn, ring, delivery)
        await conn.execute(  # this row's previous secret, moved to its current one
            "UPDATE webhooks SET secret = previous_secret WHERE id = %s::uuid", (second.id,)
        )
        with pytest.raises(KeyRingError, match="failed authentication"):
            await store.attempt_target(conn, ring, delivery)

    accounts = []
    for name in ("a", "b"):
        body = {
            "carrier": "twilio",
            "name": f"{name} {uuid.uuid4().hex[:6]}",
            "account_sid": "AC" + uuid.uuid4().hex,
            "auth_token": AUTH_TOKEN + name,
        }
        accounts.append((await api.post("/carrier-accounts", json=body)).json()["id"])
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE carrier_accounts SET auth_token = "
            "(SELECT auth_token FROM carrier_accounts WHERE id = %s::uuid) WHERE id = %s::uuid",
            (accounts[0], accounts[1]),
        )
        with pytest.raises(KeyRingError, match="failed authentication"):
            await account_credentials(conn, ring, tenant, accounts[1])


async def test_clear_values_written_before_encryption_are_still_read(
    api: httpx.AsyncClient, crm: WebhookReceiver, pool: Pool
) -> None:
    secret = new_secret()
    account_id = str(uuid.uuid4())
    webhook = await _row(
        pool,
        "INSERT INTO webhooks (tenant_id, url, secret) VALUES (%s, %s, %s) "
        "RETURNING id::text AS id",
        DEFAULT_TENANT_ID,
        crm.url,
        secret,
    )
    await _row(  # as migration 0012 stored it: no hint column filled
        pool,
        "INSERT INTO carrier_accounts (id, tenant_id, name, carrier, account_sid, auth_token) "
        "VALUES (%s, %s, %s, 'twilio', %s, %s) RETURNING id",
        account_id,
        DEFAULT_TENANT_ID,
        f"old {uuid.uuid4().hex[:6]}",
        "AC" + uuid.uuid4().hex,
        AUTH_TOKEN,
    )
    crm.secrets.append(secret)
    await _test_send(api, webhook["id"])
    assert crm.received[-1].verified_by == (secret,)
    shown = (await api.get(f"/carrier-accounts/{account_id}")).json()
    assert shown["auth_token_hint"] == "****" + AUTH_TOKEN[-4:]
    async with pool.connection() as conn:
        credentials = await account_credentials(conn, fixed_ring(), DEFAULT_TENANT_ID, account_id)
    assert isinstance(credentials, TwilioCredentials)
    assert credentials.auth_token.get_secret_value() == AUTH_TOKEN
