"""A tenant's WhatsApp senders in Postgres (`whatsapp_senders`, migration 0021).

Every read the API makes is scoped to one tenant: another tenant's sender reads as
absent. Reads never select a secret, only `secret_hint`; `sender_secrets` opens them
for the code that sends and verifies. The secrets are sealed with the key ring, each
bound to its column and row (`centralita.kernel.stored_secrets`).
"""

from __future__ import annotations

import uuid
from typing import Any, Final

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
from centralita.messaging.models import (
    Sender,
    SenderCreate,
    SenderPage,
    SenderSecrets,
    status_callback_path,
)


class SenderNameTakenError(ValueError):
    """The tenant has a sender of that name already."""


_SENDER: Final = (
    "SELECT id::text AS id, provider, name, payment_link_tool, account_sid, from_number, "
    "phone_number_id, template_name, template_language, '****' || secret_hint AS secret_hint, "
    "created_at FROM whatsapp_senders"
)
_SEALED: Final = ("secret", "app_secret", "verify_token")


def _context(column: str, tenant_id: str, sender_id: str) -> str:
    return secret_context(f"whatsapp_senders.{column}", tenant_id, sender_id)


def _sender(row: dict[str, Any]) -> Sender:
    return Sender(**row, status_callback_path=status_callback_path(row["provider"], row["id"]))


async def create_sender(conn: Conn, ring: KeyRing, tenant_id: str, body: SenderCreate) -> Sender:
    """Store a new sender of the tenant (`body` checked), its secrets sealed.

    Raises:
        SenderNameTakenError: the tenant has a sender of that name.
    """
    sender_id = str(uuid.uuid4())  # chosen here: the sealed secrets are bound to it

    def seal(column: str, value: str | None) -> str | None:
        return (
            None
            if value is None
            else seal_secret(ring, value, _context(column, tenant_id, sender_id))
        )

    secret = body.secret()
    app_secret = body.app_secret.get_secret_value() if body.app_secret else None
    verify_token = body.verify_token.get_secret_value() if body.verify_token else None
    try:
        async with conn.transaction():  # a savepoint: a taken name must not abort a caller's
            await conn.execute(
                "INSERT INTO whatsapp_senders (id, tenant_id, name, provider, account_sid, "
                "from_number, phone_number_id, app_secret, verify_token, template_name, "
                "template_language, secret, secret_hint, payment_link_tool) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    sender_id,
                    tenant_id,
                    body.name,
                    body.provider,
                    body.account_sid,
                    body.from_number,
                    body.phone_number_id,
                    seal("app_secret", app_secret),
                    seal("verify_token", verify_token),
                    body.template_name,
                    body.template_language,
                    seal("secret", secret),
                    secret[-4:],
                    body.payment_link_tool,
                ),
            )
    except psycopg.errors.UniqueViolation as exc:
        raise SenderNameTakenError(f"a WhatsApp sender named {body.name!r} exists already") from exc
    created = await get_sender(conn, tenant_id, sender_id)
    assert created is not None
    return created


async def get_sender(conn: Conn, tenant_id: str, sender_id: str) -> Sender | None:
    """The tenant's sender; None when it has none of that id."""
    if not is_uuid(sender_id):
        return None
    cur = await conn.execute(
        f"{_SENDER} WHERE id = %s::uuid AND tenant_id = %s::uuid", (sender_id, tenant_id)
    )
    row = await cur.fetchone()
    return _sender(row) if row is not None else None


async def list_senders(conn: Conn, tenant_id: str, *, limit: int, offset: int) -> SenderPage:
    """The tenant's senders, oldest first."""
    cur = await conn.execute(
        f"{_SENDER} WHERE tenant_id = %s::uuid ORDER BY created_at, id LIMIT %s OFFSET %s",
        (tenant_id, limit, offset),
    )
    items = [_sender(row) for row in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT count(*)::int AS total FROM whatsapp_senders WHERE tenant_id = %s::uuid",
        (tenant_id,),
    )
    total = await cur.fetchone()
    return SenderPage(total=total["total"] if total else 0, items=items)


_UPDATABLE: Final = frozenset({"name", "payment_link_tool", "template_name", "template_language"})


async def update_sender(
    conn: Conn, tenant_id: str, sender_id: str, changes: dict[str, str | None]
) -> Sender | None:
    """Set the given columns of the tenant's sender; None when it has none of that id.

    Raises:
        SenderNameTakenError: the new name is another sender's.
        ValueError: a column that may not change.
    """
    if not is_uuid(sender_id):
        return None
    if not changes.keys() <= _UPDATABLE:
        raise ValueError(f"not updatable: {sorted(changes.keys() - _UPDATABLE)}")
    # The names come from _UPDATABLE, never from input: safe to place in the text.
    assignments = ", ".join(f"{column} = %({column})s" for column in sorted(changes))
    if assignments:
        try:
            async with conn.transaction():
                await conn.execute(
                    f"UPDATE whatsapp_senders SET {assignments} "
                    "WHERE id = %(id)s::uuid AND tenant_id = %(tenant)s::uuid",
                    {**changes, "id": sender_id, "tenant": tenant_id},
                )
        except psycopg.errors.UniqueViolation as exc:
            raise SenderNameTakenError(
                f"a WhatsApp sender named {changes.get('name')!r} exists already"
            ) from exc
    return await get_sender(conn, tenant_id, sender_id)


async def delete_sender(conn: Conn, tenant_id: str, sender_id: str) -> bool:
    """Delete the tenant's sender and its secrets (its messages stay, unlinked); False
    when it has none of that id."""
    if not is_uuid(sender_id):
        return False
    cur = await conn.execute(
        "DELETE FROM whatsapp_senders WHERE id = %s::uuid AND tenant_id = %s::uuid RETURNING id",
        (sender_id, tenant_id),
    )
    return await cur.fetchone() is not None


async def sender_secrets(
    conn: Conn, ring: KeyRing, sender_id: str, *, tenant_id: str | None = None
) -> SenderSecrets | None:
    """A sender with its secrets opened; None when absent (or not `tenant_id`'s).

    The providers' status receivers know only the sender's id (it is in the URL they
    post to), so `tenant_id` may be left out there: the signature then proves the post.

    Raises:
        KeyRingError: a secret was sealed with a key the ring lacks, or altered.
    """
    if not is_uuid(sender_id):
        return None
    cur = await conn.execute(
        "SELECT id::text AS id, tenant_id::text AS tenant_id, provider, account_sid, "
        "from_number, phone_number_id, template_name, template_language, payment_link_tool, "
        "secret, app_secret, verify_token FROM whatsapp_senders WHERE id = %s::uuid "
        "AND (%s::uuid IS NULL OR tenant_id = %s::uuid)",
        (sender_id, tenant_id, tenant_id),
    )
    row = await cur.fetchone()
    return _opened(ring, row) if row is not None else None


async def default_sender(conn: Conn, ring: KeyRing, tenant_id: str) -> SenderSecrets | None:
    """The tenant's oldest sender, secrets opened (None: it has none)."""
    cur = await conn.execute(
        "SELECT id::text AS id FROM whatsapp_senders WHERE tenant_id = %s::uuid "
        "ORDER BY created_at, id LIMIT 1",
        (tenant_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return await sender_secrets(conn, ring, row["id"], tenant_id=tenant_id)


def _opened(ring: KeyRing, row: dict[str, Any]) -> SenderSecrets:
    values = dict(row)
    for column in _SEALED:
        if values[column] is not None:
            context = _context(column, row["tenant_id"], row["id"])
            values[column] = open_secret(ring, values[column], context)
    return SenderSecrets.model_validate(values)


# -- key rotation (`centralita keys rotate`) --------------------------------------------


async def secret_key_ids(conn: Conn) -> set[str]:
    """The ids of the keys that sealed any stored sender secret."""
    cur = await conn.execute(
        "SELECT DISTINCT split_part(s, ':', 3) AS key_id FROM whatsapp_senders, "
        "unnest(ARRAY[secret, app_secret, verify_token]) AS s WHERE starts_with(s, 'enc:v1:')"
    )
    return {str(r["key_id"]) for r in await cur.fetchall()}


async def reseal_secrets(
    conn: Conn, ring: KeyRing, *, after: str | None, limit: int
) -> tuple[int, str | None]:
    """Seal with the active key the secrets of up to `limit` senders past `after` (by
    id) that any other key sealed, in one transaction.

    Returns:
        How many values were sealed again, and the last id seen (None: no more rows).
    """
    resealed = 0
    active = f"{TEXT_PREFIX}{ring.active_id}:"
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT id::text AS id, tenant_id::text AS tenant_id, secret, app_secret, "
            "verify_token FROM whatsapp_senders WHERE (%(after)s::uuid IS NULL OR "
            "id > %(after)s::uuid) AND EXISTS (SELECT 1 FROM unnest(ARRAY[secret, app_secret, "
            "verify_token]) AS s WHERE s IS NOT NULL AND NOT starts_with(s, %(active)s)) "
            "ORDER BY id LIMIT %(limit)s FOR UPDATE",
            {"after": after, "active": active, "limit": limit},
        )
        rows = await cur.fetchall()
        for row in rows:
            for column in _SEALED:  # never input: safe to place in the text
                stored = row[column]
                if stored is None:
                    continue
                sealed = reseal_secret(ring, stored, _context(column, row["tenant_id"], row["id"]))
                if sealed is None:
                    continue
                await conn.execute(
                    f"UPDATE whatsapp_senders SET {column} = %s WHERE id = %s::uuid",
                    (sealed, row["id"]),
                )
                resealed += 1
    return resealed, rows[-1]["id"] if rows else None
