"""Which tenant a call key belongs to, found from the data as the media worker finds it.

A call under way is known by its key before it is stored: an attempt's key
(`campaign-{campaign}-contact-{contact}-attempt-{n}`) or an inbound call's
(`inbound-{uuid}`, or `inbound-tenant-{tenant}-{uuid}` when the called number is a
tenant's: `inbound_call_key`). Live events carry only the key, so the tenant comes from:

1. the attempt row with that key (`call_attempts.tenant_id`);
2. else, for an attempt key whose row is not written yet, the campaign it names;
3. else, for an inbound call to a tenant's routed phone number, the tenant it names;
4. else the default tenant: numbers configured for the deployment
   (`CENTRALITA_INBOUND_NUMBERS`) answer for it, and the media worker stores those
   inbound calls (and any call without an attempt) under it (`realtime/store/calls.py`).
"""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID

# The tenant of the call key in column or parameter `{key}` (SQL), the three rules above.
# The campaign id is cut out only where the key has the attempt-key shape, so the uuid
# cast never sees anything else.
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CALL_KEY_TENANT_SQL = (
    "coalesce("
    "(SELECT ka.tenant_id FROM call_attempts ka WHERE ka.attempt_key = {key}), "
    f"(CASE WHEN {{key}} ~ '^campaign-{_UUID}-contact-' THEN "
    "(SELECT kc.tenant_id FROM campaigns kc "
    "WHERE kc.id = substring({key} FROM 10 FOR 36)::uuid) END), "
    f"(CASE WHEN {{key}} ~ '^inbound-tenant-{_UUID}-' THEN "
    "substring({key} FROM 16 FOR 36)::uuid END), "
    f"'{DEFAULT_TENANT_ID}'::uuid)"
)


def inbound_call_key(tenant_id: str) -> str:
    """A fresh key for an inbound call to one of `tenant_id`'s routed numbers."""
    return f"inbound-tenant-{uuid.UUID(tenant_id)}-{uuid.uuid4()}"


def call_key_tenant_sql(key: str) -> str:
    """`CALL_KEY_TENANT_SQL` for the key held in the SQL expression `key`."""
    return CALL_KEY_TENANT_SQL.replace("{key}", key)


async def call_key_tenant(conn: AsyncConnection[DictRow], call_key: str) -> str:
    """The tenant of the call `call_key` (the default tenant when nothing names one)."""
    cur = await conn.execute(
        f"SELECT {call_key_tenant_sql('%(key)s')}::text AS tenant_id", {"key": call_key}
    )
    row = await cur.fetchone()
    assert row is not None
    return str(row["tenant_id"])


async def owns_call_key(pool: Pool, tenant_id: str, call_key: str) -> bool:
    """Whether the call `call_key` is the tenant's (routes answer 404 when it is not)."""
    async with pool.connection() as conn:
        return await call_key_tenant(conn, call_key) == tenant_id
