"""`centralita keys new` and `centralita keys rotate`: the encryption keys of the ring.

`keys new ID` prints a fresh `ID:base64` entry to put in front of
`CENTRALITA_ENCRYPTION_KEYS` (the first key encrypts, every key decrypts). `keys rotate`
then seals again, with that first key, every secret tenants store that is clear (written
before encryption) or sealed with another key, table by table in batches, each batch
one transaction: run it again after an interruption and it carries on. Once it reports
nothing left, the old key can leave the ring (the Temporal payloads it sealed expire with
the namespace's retention).

Before it changes anything, rotation checks that the ring holds every key the stored
values name: a missing one is an error naming it, and nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import psycopg
from psycopg.rows import dict_row

from centralita.actions.store import secrets as tenant_tools
from centralita.kernel import runtime
from centralita.kernel.db import Conn
from centralita.kernel.key_ring import KeyRing, KeyRingError, new_key_text
from centralita.kernel.settings import Settings
from centralita.messaging import store as whatsapp_senders
from centralita.telephony.store import accounts
from centralita.webhooks import store as webhooks
from workers.database import database_url

ROTATE_BATCH = 200


class Reseal(Protocol):
    """A store's batch of resealing: (values sealed again, last id seen or None)."""

    def __call__(
        self, conn: Conn, ring: KeyRing, *, after: str | None, limit: int
    ) -> Awaitable[tuple[int, str | None]]: ...


@dataclass(frozen=True)
class SecretTable:
    """A table of stored secrets: which keys sealed them, and a batch of resealing."""

    name: str
    key_ids: Callable[[Conn], Awaitable[set[str]]]
    reseal: Reseal


TABLES = (
    SecretTable("webhooks", webhooks.secret_key_ids, webhooks.reseal_secrets),
    SecretTable("carrier_accounts", accounts.secret_key_ids, accounts.reseal_secrets),
    SecretTable(
        "whatsapp_senders", whatsapp_senders.secret_key_ids, whatsapp_senders.reseal_secrets
    ),
    SecretTable("tenant_tools", tenant_tools.secret_key_ids, tenant_tools.reseal_secrets),
)


class MissingKeysError(KeyRingError):
    """Stored values were sealed with keys the ring does not hold."""


async def missing_keys(conn: Conn, ring: KeyRing) -> dict[str, set[str]]:
    """Per table, the ids of keys its stored values name that the ring lacks."""
    missing: dict[str, set[str]] = {}
    for table in TABLES:
        lacking = await table.key_ids(conn) - set(ring.key_ids)
        if lacking:
            missing[table.name] = lacking
    return missing


async def rotate(conn: Conn, ring: KeyRing, *, batch: int = ROTATE_BATCH) -> dict[str, int]:
    """Seal every stored secret with the ring's active key; how many per table.

    `conn` is in autocommit: each batch commits on its own.

    Raises:
        MissingKeysError: a stored value names a key the ring lacks (nothing changed).
        KeyRingError: a value fails to open (altered); the batches before it stay done.
    """
    missing = await missing_keys(conn, ring)
    if missing:
        named = "; ".join(f"{t}: {', '.join(sorted(ids))}" for t, ids in missing.items())
        raise MissingKeysError(
            f"stored secrets were sealed with keys CENTRALITA_ENCRYPTION_KEYS does not hold "
            f"({named}); add them behind the active key and run again"
        )
    counts: dict[str, int] = {}
    for table in TABLES:
        counts[table.name], after = 0, None
        while True:
            resealed, after = await table.reseal(conn, ring, after=after, limit=batch)
            counts[table.name] += resealed
            if after is None:
                break
    return counts


def add_commands(key_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `new` and `rotate` under `centralita keys`."""
    new = key_commands.add_parser(
        "new",
        help="a fresh encryption key, ID:base64, to put first in CENTRALITA_ENCRYPTION_KEYS",
    )
    new.add_argument("key_id", help="its id: 1-32 letters, digits, '.', '_' or '-'")
    new.set_defaults(handler=_new_key, component="cli")
    rotate_parser = key_commands.add_parser(
        "rotate",
        help="re-encrypt every stored secret with the first key of CENTRALITA_ENCRYPTION_KEYS",
    )
    rotate_parser.add_argument(
        "--batch",
        type=_positive,
        default=ROTATE_BATCH,
        help=f"rows a transaction (default {ROTATE_BATCH})",
    )
    rotate_parser.set_defaults(handler=_rotate, component="cli")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _new_key(args: argparse.Namespace, settings: Settings) -> int:
    try:
        entry = new_key_text(args.key_id)
    except KeyRingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(entry)
    print(
        "Put it first in CENTRALITA_ENCRYPTION_KEYS (keep the old keys after it), restart, "
        "then run: centralita keys rotate",
        file=sys.stderr,
    )
    return 0


def _rotate(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> dict[str, int]:
        async with await psycopg.AsyncConnection.connect(
            database_url(settings), autocommit=True, row_factory=dict_row
        ) as conn:
            return await rotate(conn, ring, batch=args.batch)

    try:
        ring = settings.key_ring()
        counts = runtime.run(run())
    except (KeyRingError, psycopg.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for table, count in counts.items():
        print(f"{table}: {count} secret(s) re-encrypted with key {ring.active_id!r}")
    return 0
