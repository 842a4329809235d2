"""SQL access shared by the API and the activities: one module per table family."""

from __future__ import annotations

import uuid

# Until tenants and API keys arrive every row belongs to the tenant the first migration
# creates; queries already take a tenant id so scoping them later is a wiring change.
DEFAULT_TENANT_ID = "00000000-0000-0000-0000-000000000001"


def is_uuid(value: str) -> bool:
    """Whether `value` is a UUID: ids from URLs are checked before they reach SQL, so a
    malformed one is a 404 and queries compare uuid columns directly (indexes work)."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
