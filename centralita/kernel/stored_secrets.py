"""Secrets tenants store in Postgres, sealed with the key ring, one row and column each.

A stored secret (a webhook's signing secret, a carrier account's token) is written as
`KeyRing.seal_text` output with a context naming its table, column, tenant and row:
AES-GCM authenticates the context, so a value copied into another row or column does
not open there. Values written before encryption existed are clear text; they are
still read as they are until `centralita keys rotate` seals them.

The stores call these helpers; the SQL stays in each store.
"""

from __future__ import annotations

from centralita.kernel.key_ring import TEXT_PREFIX, KeyRing, is_sealed_text


def secret_context(column: str, tenant_id: str, row_id: str) -> str:
    """What binds a stored secret to its place: `table.column:tenant:row`."""
    return f"{column}:{tenant_id}:{row_id}"


def seal_secret(ring: KeyRing, plaintext: str, context: str) -> str:
    """The stored form of a secret (sealed with the ring's active key)."""
    return ring.seal_text(plaintext, context=context)


def open_secret(ring: KeyRing, stored: str, context: str) -> str:
    """A stored secret's plaintext; a clear value from before encryption as it is.

    Raises:
        KeyRingError: sealed with a key the ring lacks, for another place, or altered.
    """
    if not is_sealed_text(stored):
        return stored
    return ring.open_text(stored, context=context)


def reseal_secret(ring: KeyRing, stored: str, context: str) -> str | None:
    """The value sealed with the active key, or None when it is already.

    Raises:
        KeyRingError: as `open_secret`.
    """
    if not ring.needs_rotation(stored):
        return None
    return seal_secret(ring, open_secret(ring, stored, context), context)


def sealed_key_id(stored: str) -> str | None:
    """The id of the key that sealed a stored value (None: a clear value)."""
    if not is_sealed_text(stored):
        return None
    return stored.removeprefix(TEXT_PREFIX).partition(":")[0]
