"""Ids every layer shares: the default tenant's, and the check ids from URLs get."""

from __future__ import annotations

import uuid

# The tenant the first migration creates: inbound calls and the development stack's rows
# belong to it (other tenants are made with `centralita tenants create`).
DEFAULT_TENANT_ID = "00000000-0000-0000-0000-000000000001"


def is_uuid(value: str) -> bool:
    """Whether `value` is a UUID: ids from URLs are checked before they reach SQL, so a
    malformed one is a 404 and queries compare uuid columns directly (indexes work)."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
