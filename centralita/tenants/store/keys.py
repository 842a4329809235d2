"""Tenants and their API keys in Postgres: create, list, revoke, and authenticate a key.

Every row a tenant owns carries its `tenant_id`; a request's key decides the tenant
(`api/auth.py`), and every query of that request is scoped to it. The key format and
its hashing live in `centralita.tenants.keys`; only the hash is stored here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import DictRow
from pydantic import BaseModel, Field

from centralita.kernel.db import Conn, Pool
from centralita.tenants.keys import (
    IssuedKey,
    MalformedKeyError,
    digest_matches,
    issue_key,
    parse_key,
)

# How stale `last_used_at` may get: refreshing it on every request would add a write
# to each one.
LAST_USED_RESOLUTION_S = 60


class TenantExistsError(ValueError):
    """A tenant of that name exists already."""


class TenantNotFoundError(LookupError):
    """No tenant with that id or name."""


class Tenant(BaseModel):
    """A company whose data is walled off from every other's."""

    id: str
    name: str
    created_at: datetime


class ApiKey(BaseModel):
    """A key as listed: never its secret, only its public prefix."""

    id: str
    tenant_id: str
    name: str
    prefix: str = Field(description="The public part: the key reads ctk_<prefix>_<secret>.")
    created_at: datetime
    last_used_at: datetime | None = Field(description="Accurate to about a minute.")
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey):
    """A new key with its plaintext: the only time it is shown."""

    key: str = Field(description="Send as `Authorization: Bearer <key>`. Not shown again.")


@dataclass(frozen=True)
class KeyOwner:
    """Who a valid key belongs to."""

    tenant_id: str
    key_id: str


_TENANT = "SELECT id::text AS id, name, created_at FROM tenants"
_KEY = (
    "SELECT id::text AS id, tenant_id::text AS tenant_id, name, prefix, created_at, "
    "last_used_at, revoked_at FROM api_keys"
)


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def create_tenant(conn: Conn, name: str) -> Tenant:
    """A new tenant.

    Raises:
        TenantExistsError: the name is taken.
    """
    try:
        cur = await conn.execute(
            "INSERT INTO tenants (name) VALUES (%s) RETURNING id::text AS id, name, created_at",
            (name,),
        )
    except psycopg.errors.UniqueViolation as exc:
        raise TenantExistsError(f"a tenant named {name!r} exists already") from exc
    row = await cur.fetchone()
    assert row is not None
    return Tenant(**row)


async def list_tenants(conn: Conn, *, limit: int, offset: int) -> list[Tenant]:
    """Tenants, oldest first."""
    cur = await conn.execute(
        f"{_TENANT} ORDER BY created_at, id LIMIT %s OFFSET %s", (limit, offset)
    )
    return [Tenant(**row) for row in await cur.fetchall()]


async def find_tenant(conn: Conn, ref: str) -> Tenant:
    """The tenant whose id, or else whose name, is `ref`.

    Raises:
        TenantNotFoundError: neither.
    """
    as_id = _as_uuid(ref)
    if as_id is not None:
        cur = await conn.execute(f"{_TENANT} WHERE id = %s", (as_id,))
        row = await cur.fetchone()
        if row is not None:
            return Tenant(**row)
    cur = await conn.execute(f"{_TENANT} WHERE name = %s", (ref,))
    row = await cur.fetchone()
    if row is None:
        raise TenantNotFoundError(f"no tenant {ref!r}")
    return Tenant(**row)


async def create_key(conn: Conn, tenant_id: str, name: str) -> ApiKeyCreated:
    """A new key for the tenant; its plaintext is in the result and nowhere else.

    Raises:
        TenantNotFoundError: no such tenant.
    """
    tenant = await find_tenant(conn, tenant_id)
    for _ in range(3):  # a prefix collision (48 random bits) is rare; draw again
        issued = issue_key()
        try:
            row = await _insert_key(conn, tenant.id, name, issued)
        except psycopg.errors.UniqueViolation:
            continue
        return ApiKeyCreated(**row, key=issued.plaintext)
    raise RuntimeError("could not draw an unused key prefix three times in a row")


async def _insert_key(conn: Conn, tenant_id: str, name: str, issued: IssuedKey) -> DictRow:
    # A savepoint when inside a transaction: a prefix collision must not abort it.
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO api_keys (tenant_id, name, prefix, key_hash) VALUES (%s, %s, %s, %s) "
            "RETURNING id::text AS id, tenant_id::text AS tenant_id, name, prefix, created_at, "
            "last_used_at, revoked_at",
            (tenant_id, name, issued.prefix, issued.digest),
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def list_keys(conn: Conn, tenant_id: str | None, *, limit: int, offset: int) -> list[ApiKey]:
    """Keys (revoked ones too), oldest first; all tenants' when `tenant_id` is None."""
    cur = await conn.execute(
        f"{_KEY} WHERE (%(tenant)s::uuid IS NULL OR tenant_id = %(tenant)s::uuid) "
        "ORDER BY created_at, id LIMIT %(limit)s OFFSET %(offset)s",
        {"tenant": tenant_id, "limit": limit, "offset": offset},
    )
    return [ApiKey(**row) for row in await cur.fetchall()]


async def revoke_key(conn: Conn, key_id: str) -> ApiKey | None:
    """Revoke a key from now on (a second revoke keeps the first time); None: no such key."""
    as_id = _as_uuid(key_id)
    if as_id is None:
        return None
    cur = await conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s "
        "RETURNING id::text AS id, tenant_id::text AS tenant_id, name, prefix, created_at, "
        "last_used_at, revoked_at",
        (as_id,),
    )
    row = await cur.fetchone()
    return ApiKey(**row) if row is not None else None


async def authenticate(pool: Pool, token: str) -> KeyOwner | None:
    """The owner of `token` when it is a live key; None for anything else.

    Malformed, unknown, wrong-secret and revoked keys all answer None: a caller learns
    nothing about which it was.
    """
    try:
        presented = parse_key(token)
    except MalformedKeyError:
        return None
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id::text AS id, tenant_id::text AS tenant_id, key_hash, revoked_at, "
            "last_used_at IS NULL OR last_used_at < now() - make_interval(secs => %s) "
            "AS stale FROM api_keys WHERE prefix = %s",
            (LAST_USED_RESOLUTION_S, presented.prefix),
        )
        row = await cur.fetchone()
        if row is None or not digest_matches(bytes(row["key_hash"]), presented.digest):
            return None
        if row["revoked_at"] is not None:
            return None
        if row["stale"]:
            await conn.execute(
                "UPDATE api_keys SET last_used_at = now() WHERE id = %s", (row["id"],)
            )
    return KeyOwner(tenant_id=row["tenant_id"], key_id=row["id"])


async def key_is_live(conn: Conn, token: str, tenant_id: str) -> bool:
    """Whether `token` is an unrevoked key of `tenant_id` (the dev stack reuses its key)."""
    try:
        presented = parse_key(token)
    except MalformedKeyError:
        return False
    cur = await conn.execute(
        "SELECT key_hash FROM api_keys WHERE prefix = %s AND tenant_id = %s::uuid "
        "AND revoked_at IS NULL",
        (presented.prefix, tenant_id),
    )
    row = await cur.fetchone()
    return row is not None and digest_matches(bytes(row["key_hash"]), presented.digest)
