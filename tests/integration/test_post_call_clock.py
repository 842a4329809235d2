"""Post-call analysis reads dates on the clock the call ran on, not a language default."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from centralita.kernel.db import Pool
from centralita.postcall.store import find_call
from tests.support.stored_calls import insert_campaign, store_answered_call

pytestmark = pytest.mark.integration

STARTED = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


async def test_a_contact_without_an_override_is_read_on_its_numbers_zone(pool: Pool) -> None:
    stored = await store_answered_call(pool, await insert_campaign(pool), [], started=STARTED)
    async with pool.connection() as conn:
        # As an upload stores a Madrid number with no timezone column.
        await conn.execute(
            "UPDATE contacts SET timezone = NULL, recipient_timezone = 'Europe/Madrid' "
            "WHERE id = %s",
            (stored.contact_id,),
        )
        call = await find_call(conn, stored.key)

    assert call is not None
    assert call.contact_timezone == "Europe/Madrid"


async def test_the_zone_the_call_ran_on_wins(pool: Pool) -> None:
    stored = await store_answered_call(pool, await insert_campaign(pool), [], started=STARTED)
    async with pool.connection() as conn:
        await conn.execute(
            'UPDATE calls SET metadata = metadata || \'{"timezone": "Atlantic/Canary"}\' '
            "WHERE id = %s::uuid",
            (stored.call_id,),
        )
        call = await find_call(conn, stored.key)

    assert call is not None
    assert call.contact_timezone == "Atlantic/Canary"
