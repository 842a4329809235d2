"""A contact's memory, read from the store: what a call (or an operator) is told."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from centralita.campaigns.store import opt_outs
from centralita.campaigns.store.opt_outs import OptOutRow
from centralita.kernel.db import Pool
from centralita.memory import history_store, payments_store
from centralita.memory.contact_memory import ContactMemory, build_memory

log = logging.getLogger(__name__)

# The earlier attempts one memory reads: enough for any history a call should carry,
# few enough for a read before every call.
ATTEMPTS_REMEMBERED = 20
PAYMENTS_REMEMBERED = 100


async def contact_memory(
    pool: Pool,
    tenant_id: str,
    contact_id: str,
    *,
    now: datetime,
    attempts: int = ATTEMPTS_REMEMBERED,
) -> ContactMemory | None:
    """The memory of the tenant's contact at `now`, or None (no such contact of its).

    Reads in one REPEATABLE READ snapshot, so the promises are judged against the
    payments as they stood with the calls.
    """
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        person = await history_store.find_person(conn, tenant_id, contact_id)
        if person is None:
            return None
        earlier = await history_store.earlier_attempts(
            conn, tenant_id, person, before=now, limit=attempts
        )
        paid = await payments_store.for_person(
            conn,
            tenant_id,
            external_ref=person.external_id,
            phone=person.phone,
            limit=PAYMENTS_REMEMBERED,
        )
        listed: list[OptOutRow] = []
        if (row := await opt_outs.get(conn, tenant_id, person.phone)) is not None:
            listed.append(row)
    return build_memory(earlier, paid, listed, now=now, timezone=_zone(person.timezone))


def _zone(name: str) -> str:
    # Zones are checked when contacts are uploaded; an old row with an unknown one
    # should still give a memory (on UTC) rather than no memory at all.
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("contact time zone %r unknown: memory dates are UTC", name)
        return "UTC"
    return name
