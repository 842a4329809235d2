"""A tenant's carrier accounts in Postgres (`carrier_accounts`, migration 0012).

Every function is scoped to one tenant: another tenant's account reads as absent.
Reads never select a secret, only its last four characters (`*_hint`), except
`account_credentials`, which is for the code that places calls.
"""

from __future__ import annotations

import psycopg

from centralita.kernel.db import Conn
from centralita.kernel.ids import is_uuid
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
    "CASE WHEN a.auth_token IS NOT NULL THEN '****' || right(a.auth_token, 4) END "
    "AS auth_token_hint, a.connection_id, a.public_key, "
    "CASE WHEN a.api_key IS NOT NULL THEN '****' || right(a.api_key, 4) END "
    "AS api_key_hint, "
    "(SELECT count(*) FROM phone_numbers n WHERE n.carrier_account_id = a.id)::int "
    "AS phone_numbers, a.created_at FROM carrier_accounts a"
)


async def create_account(
    conn: Conn,
    tenant_id: str,
    *,
    name: str,
    calls_per_second: float,
    credentials: TwilioCredentials | TelnyxCredentials,
) -> CarrierAccount:
    """Store a new account of the tenant.

    Raises:
        AccountNameTakenError: the tenant has an account of that name.
    """
    twilio = credentials if isinstance(credentials, TwilioCredentials) else None
    telnyx = credentials if isinstance(credentials, TelnyxCredentials) else None
    try:
        # A savepoint when inside a transaction: a taken name must not abort it.
        async with conn.transaction():
            cur = await conn.execute(
                "INSERT INTO carrier_accounts (tenant_id, name, carrier, calls_per_second, "
                "account_sid, auth_token, api_key, public_key, connection_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id::text AS id",
                (
                    tenant_id,
                    name,
                    credentials.carrier.value,
                    calls_per_second,
                    twilio.account_sid if twilio else None,
                    twilio.auth_token.get_secret_value() if twilio else None,
                    telnyx.api_key.get_secret_value() if telnyx else None,
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
    conn: Conn, tenant_id: str, account_id: str
) -> TwilioCredentials | TelnyxCredentials | None:
    """The secrets of the tenant's account, for placing its calls; None when absent."""
    if not is_uuid(account_id):
        return None
    cur = await conn.execute(
        "SELECT carrier, account_sid, auth_token, api_key, public_key, connection_id "
        "FROM carrier_accounts WHERE id = %s::uuid AND tenant_id = %s::uuid",
        (account_id, tenant_id),
    )
    row = await cur.fetchone()
    return credentials_of(row) if row is not None else None


def credentials_of(row: dict[str, object]) -> TwilioCredentials | TelnyxCredentials:
    """An account row's credentials (the columns `account_credentials` selects)."""
    if row["carrier"] == "twilio":
        return TwilioCredentials.model_validate(
            {"account_sid": row["account_sid"], "auth_token": row["auth_token"]}
        )
    return TelnyxCredentials.model_validate(
        {
            "api_key": row["api_key"],
            "public_key": row["public_key"],
            "connection_id": row["connection_id"],
        }
    )
