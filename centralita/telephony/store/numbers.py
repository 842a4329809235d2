"""The numbers tenants route (`phone_numbers`, migration 0012), and the inbound lookup.

A number is one tenant's at most (its primary key): claiming one that another tenant
holds fails with `NumberTakenError`. A number's account must be its tenant's own (the
table's key on (account, tenant) holds that too); another tenant's account reads as
absent. `route_for_number` is the one read not scoped to a tenant: when a carrier says
a number was dialled, the number is what decides the tenant.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from centralita.kernel.db import Conn
from centralita.kernel.ids import is_uuid
from centralita.kernel.key_ring import KeyRing
from centralita.telephony.models import (
    PhoneNumber,
    PhoneNumberCreate,
    PhoneNumberPage,
    PhoneNumberRouting,
    Route,
)
from centralita.telephony.numbers import InvalidNumberError, to_e164
from centralita.telephony.store.accounts import credentials_of


class AccountNotFoundError(LookupError):
    """The tenant has no carrier account of that id."""


class NumberTakenError(ValueError):
    """The number is routed already: by the same tenant (`own`) or by another."""

    def __init__(self, number: str, *, own: bool) -> None:
        where = "by this tenant (PUT it to change its routing)" if own else "by another tenant"
        super().__init__(f"{number} is routed already {where}")
        self.number = number
        self.own = own


_NUMBER = (
    "SELECT n.number, n.carrier_account_id::text AS carrier_account_id, a.carrier, n.agent, "
    "n.variables, n.created_at, n.updated_at FROM phone_numbers n "
    "JOIN carrier_accounts a ON a.id = n.carrier_account_id"
)


async def _account_is_tenants(conn: Conn, tenant_id: str, account_id: str) -> bool:
    if not is_uuid(account_id):
        return False
    cur = await conn.execute(
        "SELECT 1 FROM carrier_accounts WHERE id = %s::uuid AND tenant_id = %s::uuid",
        (account_id, tenant_id),
    )
    return await cur.fetchone() is not None


async def create_number(conn: Conn, tenant_id: str, request: PhoneNumberCreate) -> PhoneNumber:
    """Route a number for the tenant.

    Raises:
        AccountNotFoundError: the account is not the tenant's.
        NumberTakenError: the number is routed already (by this tenant or another).
    """
    account_id = str(request.carrier_account_id)
    if not await _account_is_tenants(conn, tenant_id, account_id):
        raise AccountNotFoundError(f"no carrier account {account_id}")
    try:
        async with conn.transaction():  # a savepoint: a taken number must not abort a caller's
            await conn.execute(
                "INSERT INTO phone_numbers (number, tenant_id, carrier_account_id, agent, "
                "variables) VALUES (%s, %s::uuid, %s::uuid, %s, %s)",
                (request.number, tenant_id, account_id, request.agent, Jsonb(request.variables)),
            )
    except psycopg.errors.UniqueViolation as exc:
        cur = await conn.execute(
            "SELECT tenant_id::text AS tenant_id FROM phone_numbers WHERE number = %s",
            (request.number,),
        )
        holder = await cur.fetchone()
        own = holder is not None and holder["tenant_id"] == tenant_id
        raise NumberTakenError(request.number, own=own) from exc
    except psycopg.errors.ForeignKeyViolation as exc:  # the account went meanwhile
        raise AccountNotFoundError(f"no carrier account {account_id}") from exc
    created = await get_number(conn, tenant_id, request.number)
    assert created is not None
    return created


async def get_number(conn: Conn, tenant_id: str, number: str) -> PhoneNumber | None:
    """The tenant's routed number (E.164); None when the tenant routes no such number."""
    cur = await conn.execute(
        f"{_NUMBER} WHERE n.number = %s AND n.tenant_id = %s::uuid", (number, tenant_id)
    )
    row = await cur.fetchone()
    return PhoneNumber(**row) if row is not None else None


async def list_numbers(conn: Conn, tenant_id: str, *, limit: int, offset: int) -> PhoneNumberPage:
    """The tenant's numbers, oldest first."""
    cur = await conn.execute(
        f"{_NUMBER} WHERE n.tenant_id = %s::uuid ORDER BY n.created_at, n.number "
        "LIMIT %s OFFSET %s",
        (tenant_id, limit, offset),
    )
    items = [PhoneNumber(**row) for row in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT count(*)::int AS total FROM phone_numbers WHERE tenant_id = %s::uuid",
        (tenant_id,),
    )
    total = await cur.fetchone()
    return PhoneNumberPage(total=total["total"] if total else 0, items=items)


async def update_number(
    conn: Conn, tenant_id: str, number: str, routing: PhoneNumberRouting
) -> PhoneNumber | None:
    """Replace the routing of the tenant's number; None when it routes no such number.

    Raises:
        AccountNotFoundError: the new account is not the tenant's.
    """
    if await get_number(conn, tenant_id, number) is None:
        return None
    account_id = str(routing.carrier_account_id)
    if not await _account_is_tenants(conn, tenant_id, account_id):
        raise AccountNotFoundError(f"no carrier account {account_id}")
    try:
        async with conn.transaction():
            await conn.execute(
                "UPDATE phone_numbers SET carrier_account_id = %s::uuid, agent = %s, "
                "variables = %s, updated_at = now() WHERE number = %s AND tenant_id = %s::uuid",
                (account_id, routing.agent, Jsonb(routing.variables), number, tenant_id),
            )
    except psycopg.errors.ForeignKeyViolation as exc:
        raise AccountNotFoundError(f"no carrier account {account_id}") from exc
    return await get_number(conn, tenant_id, number)


async def delete_number(conn: Conn, tenant_id: str, number: str) -> bool:
    """Stop routing the tenant's number; False when it routes no such number."""
    cur = await conn.execute(
        "DELETE FROM phone_numbers WHERE number = %s AND tenant_id = %s::uuid RETURNING number",
        (number, tenant_id),
    )
    return await cur.fetchone() is not None


async def route_for_number(conn: Conn, ring: KeyRing, number: str) -> Route | None:
    """Who answers a dialled number, whichever tenant holds it; None when nobody does.

    Not scoped to a tenant: the carrier's inbound webhook names the number, and the
    number decides the tenant. `number` is read into E.164 first (a carrier's ``To``
    already is); one that is not a valid number has no route. The account's secret
    comes back opened with `ring`.
    """
    try:
        e164 = to_e164(number)
    except InvalidNumberError:
        return None
    cur = await conn.execute(
        "SELECT n.number, n.tenant_id::text AS tenant_id, n.agent, n.variables, "
        "a.id::text AS account_id, a.name AS account_name, a.calls_per_second, a.carrier, "
        "a.account_sid, a.auth_token, a.api_key, a.public_key, a.connection_id "
        "FROM phone_numbers n JOIN carrier_accounts a ON a.id = n.carrier_account_id "
        "WHERE n.number = %s",
        (e164,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    found: dict[str, Any] = dict(row)
    return Route(
        number=found["number"],
        tenant_id=found["tenant_id"],
        agent=found["agent"],
        variables=dict(found["variables"] or {}),
        account_id=found["account_id"],
        account_name=found["account_name"],
        calls_per_second=found["calls_per_second"],
        credentials=credentials_of(ring, found),  # the row has account_id and tenant_id
    )
