"""`centralita tenants ...` and `centralita keys ...`: tenants and API keys from a shell
(`keys new` and `keys rotate`, the encryption keys, are in `workers.secrets_cli`).

They do what the admin API (`/admin`) does, with database access instead of the admin
key, so the first tenant and key of a deployment can be made before anyone has a key.
A key's plaintext is printed once, when it is created; only its hash is stored.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

import psycopg
from psycopg.rows import dict_row

from centralita.kernel import runtime
from centralita.kernel.db import Conn
from centralita.kernel.settings import Settings
from centralita.tenants.store import keys as tenants
from workers.database import database_url
from workers.secrets_cli import add_commands as add_encryption_key_commands

T = TypeVar("T")
ADMIN_LIST_LIMIT = 1000


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `tenants` and `keys` on the `centralita` parser."""
    tenants_parser = commands.add_parser("tenants", help="tenants: create, list")
    tenant_commands = tenants_parser.add_subparsers(title="tenants commands")
    create = tenant_commands.add_parser("create", help="create a tenant")
    create.add_argument("name")
    create.set_defaults(handler=_create_tenant, component="cli")
    listing = tenant_commands.add_parser("list", help="list tenants")
    listing.set_defaults(handler=_list_tenants, component="cli")

    keys_parser = commands.add_parser(
        "keys", help="API keys: create, list, revoke; encryption keys: new, rotate"
    )
    key_commands = keys_parser.add_subparsers(title="keys commands")
    create_key = key_commands.add_parser(
        "create", help="create a key for a tenant (printed once; only its hash is kept)"
    )
    create_key.add_argument("--tenant", required=True, help="the tenant's id or name")
    create_key.add_argument("--name", default="cli", help="what the key is for (default cli)")
    create_key.set_defaults(handler=_create_key, component="cli")
    list_keys = key_commands.add_parser("list", help="list keys (prefixes, never secrets)")
    list_keys.add_argument("--tenant", help="only this tenant's (id or name)")
    list_keys.set_defaults(handler=_list_keys, component="cli")
    revoke = key_commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_revoke_key, component="cli")
    add_encryption_key_commands(key_commands)


def _with_conn(settings: Settings, work: Callable[[Conn], Awaitable[T]]) -> T:
    async def run() -> T:
        async with await psycopg.AsyncConnection.connect(
            database_url(settings), autocommit=True, row_factory=dict_row
        ) as conn:
            return await work(conn)

    return runtime.run(run())


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _create_tenant(args: argparse.Namespace, settings: Settings) -> int:
    try:
        tenant = _with_conn(settings, lambda conn: tenants.create_tenant(conn, args.name))
    except (tenants.TenantExistsError, psycopg.Error) as exc:
        return _fail(str(exc))
    print(f"tenant {tenant.name!r} created: {tenant.id}")
    print(f"give it a key: centralita keys create --tenant {tenant.id}")
    return 0


def _list_tenants(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rows = _with_conn(
            settings, lambda conn: tenants.list_tenants(conn, limit=ADMIN_LIST_LIMIT, offset=0)
        )
    except psycopg.Error as exc:
        return _fail(str(exc))
    for tenant in rows:
        print(f"{tenant.id}  {_when(tenant.created_at)}  {tenant.name}")
    return 0


def _create_key(args: argparse.Namespace, settings: Settings) -> int:
    async def work(conn: Conn) -> tenants.ApiKeyCreated:
        tenant = await tenants.find_tenant(conn, args.tenant)
        return await tenants.create_key(conn, tenant.id, args.name)

    try:
        created = _with_conn(settings, work)
    except (tenants.TenantNotFoundError, psycopg.Error) as exc:
        return _fail(str(exc))
    print(f"key {created.id} ({created.name}) for tenant {created.tenant_id}:")
    print(created.key)
    print("Keep it now: it is not shown again (only its hash is stored).", file=sys.stderr)
    return 0


def _list_keys(args: argparse.Namespace, settings: Settings) -> int:
    async def work(conn: Conn) -> list[tenants.ApiKey]:
        tenant_id = (await tenants.find_tenant(conn, args.tenant)).id if args.tenant else None
        return await tenants.list_keys(conn, tenant_id, limit=ADMIN_LIST_LIMIT, offset=0)

    try:
        keys = _with_conn(settings, work)
    except (tenants.TenantNotFoundError, psycopg.Error) as exc:
        return _fail(str(exc))
    for key in keys:
        state = f"revoked {_when(key.revoked_at)}" if key.revoked_at else "active"
        used = _when(key.last_used_at) if key.last_used_at else "never used"
        print(
            f"{key.id}  ctk_{key.prefix}_…  tenant {key.tenant_id}  {state:<28} "
            f"{used:<20} {key.name}"
        )
    return 0


def _revoke_key(args: argparse.Namespace, settings: Settings) -> int:
    try:
        revoked = _with_conn(settings, lambda conn: tenants.revoke_key(conn, args.key_id))
    except psycopg.Error as exc:
        return _fail(str(exc))
    if revoked is None:
        return _fail(f"no API key {args.key_id}")
    print(f"key {revoked.id} (ctk_{revoked.prefix}_…) revoked at {_when(revoked.revoked_at)}")
    return 0


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S%z") if moment else "-"
