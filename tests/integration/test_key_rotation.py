"""Key rotation of the secrets tenants store (`centralita keys new|rotate`), on Postgres.

Rows written under key A (and clear ones from before encryption) are sealed under B by
a rotation with the ring "B,A", then open with the ring "B" alone; a second rotation
has nothing to do; a ring that lacks a key the rows name is refused, naming it, before
anything changes. The module's database is its own: each test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from centralita.kernel.db import Conn, Pool
from centralita.kernel.key_ring import KeyRing, new_key_text
from centralita.telephony.models import TelnyxCredentials, TwilioCredentials
from centralita.telephony.store.accounts import account_credentials, create_account
from centralita.webhooks import store
from centralita.webhooks.signing import new_secret
from tests.support.cli import run_cli
from workers.secrets_cli import MissingKeysError, rotate

pytestmark = pytest.mark.integration

KEY_A, KEY_B = new_key_text("key-a"), new_key_text("key-b")
RING_A, RING_B = KeyRing.parse(KEY_A), KeyRing.parse(KEY_B)
RING_BA = KeyRing.parse(f"{KEY_B},{KEY_A}")
SECRET_COLUMNS = (
    "SELECT secret AS value FROM webhooks UNION ALL "
    "SELECT previous_secret FROM webhooks WHERE previous_secret IS NOT NULL UNION ALL "
    "SELECT COALESCE(auth_token, api_key) FROM carrier_accounts"
)


class Seeded:
    """What `_seed` wrote: the plaintexts, to be read back after a rotation."""

    def __init__(self) -> None:
        self.tenant = ""
        self.webhook = ""  # its secret and previous secret sealed under A
        self.delivery = ""
        self.secrets: tuple[str, str] = ("", "")  # (current, previous)
        self.clear_webhook = ""
        self.clear_delivery = ""
        self.clear_secret = ""
        self.accounts: dict[str, str] = {}  # account id -> its token or key


async def _seed(pool: Pool) -> Seeded:
    """Empty tables, then: a webhook rotated under A (two values), a clear webhook, a
    Twilio and a Telnyx account under A and a clear Twilio account: 3 + 3 values."""
    seeded = Seeded()
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM webhooks")
        await conn.execute("DELETE FROM carrier_accounts")
        cur = await conn.execute(
            "INSERT INTO tenants (name) VALUES (%s) RETURNING id::text AS id",
            (f"t-{uuid.uuid4().hex[:8]}",),
        )
        seeded.tenant = (await _one(cur))["id"]
        first, current = new_secret(), new_secret()
        webhook = await store.create_webhook(
            conn,
            RING_A,
            seeded.tenant,
            url="https://example.com/hooks",
            events=[],
            description=None,
            active=True,
            secret=first,
        )
        await store.rotate_secret(
            conn, RING_A, seeded.tenant, webhook.id, current, timedelta(hours=1)
        )
        seeded.webhook, seeded.secrets = webhook.id, (current, first)
        seeded.clear_secret = new_secret()
        cur = await conn.execute(
            "INSERT INTO webhooks (tenant_id, url, secret) VALUES (%s, %s, %s) "
            "RETURNING id::text AS id",
            (seeded.tenant, "https://example.com/old", seeded.clear_secret),
        )
        seeded.clear_webhook = (await _one(cur))["id"]
        seeded.delivery = await _delivery(conn, seeded.webhook)
        seeded.clear_delivery = await _delivery(conn, seeded.clear_webhook)
        await _seed_accounts(conn, seeded)
    return seeded


async def _seed_accounts(conn: Conn, seeded: Seeded) -> None:
    token, key = "tok-" + uuid.uuid4().hex, "KEY-" + uuid.uuid4().hex
    twilio = await create_account(
        conn,
        RING_A,
        seeded.tenant,
        name="twilio",
        calls_per_second=1,
        credentials=TwilioCredentials(account_sid="AC1", auth_token=SecretStr(token)),
    )
    public_key = base64.b64encode(bytes(32)).decode()
    telnyx = await create_account(
        conn,
        RING_A,
        seeded.tenant,
        name="telnyx",
        calls_per_second=1,
        credentials=TelnyxCredentials(
            api_key=SecretStr(key), public_key=public_key, connection_id="c1"
        ),
    )
    clear_id, clear_token = str(uuid.uuid4()), "old-" + uuid.uuid4().hex
    await conn.execute(
        "INSERT INTO carrier_accounts (id, tenant_id, name, carrier, account_sid, auth_token) "
        "VALUES (%s, %s, 'old', 'twilio', 'AC2', %s)",
        (clear_id, seeded.tenant, clear_token),
    )
    seeded.accounts = {str(twilio.id): token, str(telnyx.id): key, clear_id: clear_token}


async def _one(cur: Any) -> dict[str, Any]:
    row = await cur.fetchone()
    assert row is not None
    return dict(row)


async def _delivery(conn: Conn, webhook_id: str) -> str:
    return await store.record_test_delivery(
        conn,
        webhook_id,
        event_id=f"evt_{uuid.uuid4().hex}",
        event_type="webhook_test",
        payload={},
        occurred_at=await _now(conn),
    )


async def _now(conn: Conn) -> Any:
    return (await _one(await conn.execute("SELECT now() AS now")))["now"]


async def _stored(pool: Pool) -> list[str]:
    async with pool.connection() as conn:
        cur = await conn.execute(SECRET_COLUMNS)
        return sorted(str(r["value"]) for r in await cur.fetchall())


async def _assert_open_with(pool: Pool, ring: KeyRing, seeded: Seeded) -> None:
    async with pool.connection() as conn:
        target = await store.attempt_target(conn, ring, seeded.delivery)
        old = await store.attempt_target(conn, ring, seeded.clear_delivery)
        opened = {
            account_id: await account_credentials(conn, ring, seeded.tenant, account_id)
            for account_id in seeded.accounts
        }
    assert target is not None
    assert target.secrets == seeded.secrets
    assert old is not None
    assert old.secrets == (seeded.clear_secret,)
    for account_id, secret in seeded.accounts.items():
        credentials = opened[account_id]
        value = (
            credentials.auth_token
            if isinstance(credentials, TwilioCredentials)
            else credentials.api_key
            if isinstance(credentials, TelnyxCredentials)
            else None
        )
        assert value is not None
        assert value.get_secret_value() == secret


async def test_rotation_seals_everything_under_the_new_key_in_batches(pool: Pool) -> None:
    seeded = await _seed(pool)
    before = await _stored(pool)
    assert sum(v.startswith("enc:v1:key-a:") for v in before) == 4  # and 2 clear

    async with pool.connection() as conn:
        counts = await rotate(conn, RING_BA, batch=1)
        again = await rotate(conn, RING_BA, batch=1)
    assert counts == {
        "webhooks": 3,
        "carrier_accounts": 3,
        "whatsapp_senders": 0,
        "tenant_tools": 0,  # tests/integration/test_actions_mcp_client.py rotates its own
    }
    assert set(again.values()) == {0}  # idempotent
    after = await _stored(pool)
    assert len(after) == 6
    assert all(v.startswith("enc:v1:key-b:") for v in after)
    await _assert_open_with(pool, RING_B, seeded)  # A may now leave the ring


async def test_a_key_missing_from_the_ring_is_named_and_nothing_changes(pool: Pool) -> None:
    seeded = await _seed(pool)
    before = await _stored(pool)
    async with pool.connection() as conn:
        with pytest.raises(MissingKeysError, match="key-a") as raised:
            await rotate(conn, RING_B)
    assert "webhooks" in str(raised.value)
    assert "carrier_accounts" in str(raised.value)
    assert await _stored(pool) == before
    await _assert_open_with(pool, RING_A, seeded)


async def _cli(database_url: str, keys: str | None, *args: str) -> tuple[int, str, str]:
    """Run `centralita ARGS` against the test database with ring `keys` (None: none set)."""
    env = {"CENTRALITA_ENCRYPTION_KEYS": keys} if keys is not None else None
    return await run_cli(database_url, *args, env=env)


async def test_the_cli_makes_keys_and_rotates(database_url: str, pool: Pool) -> None:
    (code, out, err), (bad, _, bad_err) = await asyncio.gather(
        _cli(database_url, None, "keys", "new", "2025-q3"),
        _cli(database_url, None, "keys", "new", "no spaces"),
    )
    assert code == 0, err
    assert "centralita keys rotate" in err
    key_id, _, material = out.strip().partition(":")
    assert key_id == "2025-q3"
    assert len(base64.b64decode(material, validate=True)) == 32
    assert KeyRing.parse(out.strip()).active_id == "2025-q3"
    assert (bad, bad_err.strip()) == (
        2,
        "error: key id 'no spaces' must be 1-32 letters, digits, '.', '_' or '-'",
    )

    seeded = await _seed(pool)
    before = await _stored(pool)
    code, out, err = await _cli(database_url, KEY_B, "keys", "rotate")
    assert code == 1
    assert "key-a" in err
    assert KEY_A.partition(":")[2] not in err
    assert await _stored(pool) == before

    code, out, err = await _cli(database_url, f"{KEY_B},{KEY_A}", "keys", "rotate")
    assert code == 0, err
    assert out.splitlines() == [
        "webhooks: 3 secret(s) re-encrypted with key 'key-b'",
        "carrier_accounts: 3 secret(s) re-encrypted with key 'key-b'",
        "whatsapp_senders: 0 secret(s) re-encrypted with key 'key-b'",
        "tenant_tools: 0 secret(s) re-encrypted with key 'key-b'",
    ]
    await _assert_open_with(pool, RING_B, seeded)
