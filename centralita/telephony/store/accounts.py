"""A tenant's carrier accounts in Postgres (`carrier_accounts`, migration 0012).

Every function is scoped to one tenant: another tenant's account reads as absent.
Reads never select a secret, only its last four characters (`secret_hint`, kept beside
it at creation, migration 0014; a clear value written without one gives its own),
except `account_credentials`, which is for the code that places calls.

The secrets (`auth_token`, `api_key`) are sealed with the key ring on write and opened
on read, each bound to its column and row (`centralita.kernel.stored_secrets`).
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from centralita.kernel.db import Conn
from centralita.kernel.ids import is_uuid
from centralita.kernel.key_ring import TEXT_PREFIX, KeyRing
from centralita.kernel.stored_secrets import (
    open_secret,
    reseal_secret,
    seal_secret,
    secret_context,
)
from centralita.telephony.models import (
    CarrierAccount,
    CarrierAccountPage,
    TelnyxCredentials,
    TwilioCredentials,
)


class AccountNameTakenError(ValueError):
    """The tenant has an account of that name already."""


class AccountInUseError(ValueError):
    """Numbers still route through the account."""

    def __init__(self, numbers: int) -> None:
        super().__init__(
            f"{numbers} phone number(s) use this account: delete them or move them to "
            "another account first"
        )
        self.numbers = numbers


_ACCOUNT = (
    "SELECT a.id::text AS id, a.carrier, a.name, a.calls_per_second, a.account_sid, "
    "CASE WHEN a.auth_token IS NOT NULL THEN '****' || COALESCE(a.secret_hint, "
    "CASE WHEN NOT starts_with(a.auth_token, 'enc:v1:') THEN right(a.auth_token, 4) END) "
    "END AS auth_token_hint, a.connection_id, a.public_key, "
    "CASE WHEN a.api_key IS NOT NULL THEN '****' || COALESCE(a.secret_hint, "
    "CASE WHEN NOT starts_with(a.api_key, 'enc:v1:') THEN right(a.api_key, 4) END) "
    "END AS api_key_hint, "
    "(SELECT count(*) FROM phone_numbers n WHERE n.carrier_account_id = a.id)::int "
    "AS phone_numbers, a.created_at FROM carrier_accounts a"
)


_SECRET_COLUMNS = ("auth_token", "api_key")


def _context(column: str, tenant_id: str, account_id: str) -> str:
    return secret_context(f"carrier_accounts.{column}", tenant_id, account_id)


async def create_account(
    conn: Conn,
    ring: KeyRing,
    tenant_id: str,
    *,
    name: str,
    calls_per_second: float,
    credentials: TwilioCredentials | TelnyxCredentials,
) -> CarrierAccount:
    """Store a new account of the tenant, its secret sealed.

    Raises:
        AccountNameTakenError: the tenant has an account of that name.
    """
    twilio = credentials if isinstance(credentials, TwilioCredentials) else None
    telnyx = credentials if isinstance(credentials, TelnyxCredentials) else None
    account_id = str(uuid.uuid4())  # chosen here: the sealed secret is bound to it
    secret = twilio.auth_token if twilio else telnyx.api_key if telnyx else None
    assert secret is not None
    column = "auth_token" if twilio else "api_key"
    sealed = seal_secret(ring, secret.get_secret_value(), _context(column, tenant_id, account_id))
    try:
        # A savepoint when inside a transaction: a taken name must not abort it.
        async with conn.transaction():
            cur = await conn.execute(
                "INSERT INTO carrier_accounts (id, tenant_id, name, carrier, calls_per_second, "
                "account_sid, auth_token, api_key, secret_hint, public_key, connection_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id::text AS id",
                (
                    account_id,
                    tenant_id,
                    name,
                    credentials.carrier.value,
                    calls_per_second,
                    twilio.account_sid if twilio else None,
                    sealed if twilio else None,
                    sealed if telnyx else None,
                    secret.get_secret_value()[-4:],
                    telnyx.public_key if telnyx else None,
                    telnyx.connection_id if telnyx else None,
                ),
            )
            row = await cur.fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise AccountNameTakenError(f"a carrier account named {name!r} exists already") from exc
    assert row is not None
    created = await get_account(conn, tenant_id, row["id"])
    assert created is not None
    return created


async def get_account(conn: Conn, tenant_id: str, account_id: str) -> CarrierAccount | None:
    """The tenant's account; None when it has none of that id."""
    if not is_uuid(account_id):
        return None
    cur = await conn.execute(
        f"{_ACCOUNT} WHERE a.id = %s::uuid AND a.tenant_id = %s::uuid", (account_id, tenant_id)
    )
    row = await cur.fetchone()
    return CarrierAccount(**row) if row is not None else None


async def list_accounts(
    conn: Conn, tenant_id: str, *, limit: int, offset: int
) -> CarrierAccountPage:
    """The tenant's accounts, oldest first."""
    cur = await conn.execute(
        f"{_ACCOUNT} WHERE a.tenant_id = %s::uuid ORDER BY a.created_at, a.id LIMIT %s OFFSET %s",
        (tenant_id, limit, offset),
    )
    items = [CarrierAccount(**row) for row in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT count(*)::int AS total FROM carrier_accounts WHERE tenant_id = %s::uuid",
        (tenant_id,),
    )
    total = await cur.fetchone()
    return CarrierAccountPage(total=total["total"] if total else 0, items=items)


async def delete_account(conn: Conn, tenant_id: str, account_id: str) -> bool:
    """Delete the tenant's account; False when it has none of that id.

    Raises:
        AccountInUseError: numbers still route through it.
    """
    if not is_uuid(account_id):
        return False
    try:
        async with conn.transaction():
            cur = await conn.execute(
                "DELETE FROM carrier_accounts WHERE id = %s::uuid AND tenant_id = %s::uuid "
                "RETURNING id",
                (account_id, tenant_id),
            )
            return await cur.fetchone() is not None
    except psycopg.errors.ForeignKeyViolation as exc:
        cur = await conn.execute(
            "SELECT count(*)::int AS numbers FROM phone_numbers WHERE carrier_account_id = %s",
            (account_id,),
        )
        row = await cur.fetchone()
        raise AccountInUseError(row["numbers"] if row else 1) from exc


async def account_credentials(
    conn: Conn, ring: KeyRing, tenant_id: str, account_id: str
) -> TwilioCredentials | TelnyxCredentials | None:
    """The secrets of the tenant's account, opened, for placing its calls; None when
    absent.

    Raises:
        KeyRingError: its secret was sealed with a key the ring lacks, or altered.
    """
    if not is_uuid(account_id):
        return None
    cur = await conn.execute(
        "SELECT id::text AS account_id, tenant_id::text AS tenant_id, carrier, account_sid, "
        "auth_token, api_key, public_key, connection_id "
        "FROM carrier_accounts WHERE id = %s::uuid AND tenant_id = %s::uuid",
        (account_id, tenant_id),
    )
    row = await cur.fetchone()
    return credentials_of(ring, row) if row is not None else None


def credentials_of(ring: KeyRing, row: dict[str, Any]) -> TwilioCredentials | TelnyxCredentials:
    """An account row's credentials, its secret opened (the columns
    `account_credentials` selects: with `account_id` and `tenant_id`)."""
    tenant_id, account_id = row["tenant_id"], row["account_id"]
    if row["carrier"] == "twilio":
        token = open_secret(ring, row["auth_token"], _context("auth_token", tenant_id, account_id))
        return TwilioCredentials.model_validate(
            {"account_sid": row["account_sid"], "auth_token": token}
        )
    return TelnyxCredentials.model_validate(
        {
            "api_key": open_secret(
                ring, row["api_key"], _context("api_key", tenant_id, account_id)
            ),
            "public_key": row["public_key"],
            "connection_id": row["connection_id"],
        }
    )


# -- key rotation -----------------------------------------------------------------------


async def secret_key_ids(conn: Conn) -> set[str]:
    """The ids of the keys that sealed any stored account secret."""
    cur = await conn.execute(
        "SELECT DISTINCT split_part(s, ':', 3) AS key_id FROM carrier_accounts, "
        "unnest(ARRAY[auth_token, api_key]) AS s WHERE starts_with(s, 'enc:v1:')"
    )
    return {str(r["key_id"]) for r in await cur.fetchall()}


async def reseal_secrets(
    conn: Conn, ring: KeyRing, *, after: str | None, limit: int
) -> tuple[int, str | None]:
    """Seal with the active key the secrets of up to `limit` accounts past `after` (by
    id) that are clear or sealed with another key, in one transaction.

    Returns:
        How many values were sealed again, and the last id seen (None: no more rows).
    """
    resealed = 0
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT id::text AS id, tenant_id::text AS tenant_id, auth_token, api_key "
            "FROM carrier_accounts WHERE (%(after)s::uuid IS NULL OR id > %(after)s::uuid) "
            "AND NOT starts_with(COALESCE(auth_token, api_key), %(prefix)s) "
            "ORDER BY id LIMIT %(limit)s FOR UPDATE",
            {"after": after, "prefix": f"{TEXT_PREFIX}{ring.active_id}:", "limit": limit},
        )
        rows = await cur.fetchall()
        for row in rows:
            column = "auth_token" if row["auth_token"] is not None else "api_key"
            context = _context(column, row["tenant_id"], row["id"])
            sealed = reseal_secret(ring, row[column], context)
            if sealed is None:
                continue
            # `column` is one of _SECRET_COLUMNS, never input: safe to place in the text.
            assert column in _SECRET_COLUMNS
            await conn.execute(
                f"UPDATE carrier_accounts SET {column} = %s WHERE id = %s::uuid",
                (sealed, row["id"]),
            )
            resealed += 1
    return resealed, rows[-1]["id"] if rows else None
