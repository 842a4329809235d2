"""The media worker's live dictionary: the tenant's approved pairs, fresh, never blocking."""

from __future__ import annotations

import time
import uuid

import pytest

from centralita.correction import LexiconEntry, upsert_entries
from centralita.kernel.calls import DialRequest
from centralita.kernel.db import Pool, open_pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from realtime.agents.setup import flow_agent_for
from realtime.session.tenant_dictionary import TenantDictionaries
from tests.support.servers import settings_for
from workers.media import conversation_line

pytestmark = pytest.mark.integration


async def _attempt_of_new_tenant(pool: Pool) -> tuple[str, str]:
    """A tenant with one campaign, contact and attempt: (tenant id, attempt key)."""
    tenant, campaign, contact = (str(uuid.uuid4()) for _ in range(3))
    key = f"campaign-{campaign}-contact-{contact}-attempt-1"
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant, f"t-{tenant[:6]}")
        )
        await conn.execute(
            "INSERT INTO campaigns (id, tenant_id, name, status, workflow_id) "
            "VALUES (%s, %s, 'c', 'running', %s)",
            (campaign, tenant, f"campaign-{campaign}"),
        )
        await conn.execute(
            "INSERT INTO contacts (id, tenant_id, campaign_id, position, name, phones, timezone) "
            "VALUES (%s, %s, %s, 0, 'Ana', %s, 'America/Santiago')",
            (contact, tenant, campaign, ["+56912345678"]),
        )
        await conn.execute(
            "INSERT INTO call_attempts (attempt_key, tenant_id, campaign_id, contact_id, "
            "attempt_number, phone, agent, status, started_at) "
            "VALUES (%s, %s, %s, %s, 1, '+56912345678', 'cobranza', 'dialing', now())",
            (key, tenant, campaign, contact),
        )
    return tenant, key


def _pair(wrong: str, right: str, language: str = "es") -> LexiconEntry:
    return LexiconEntry(
        kind="error_pair", text=right, wrong=wrong, language=language, source="approved"
    )


async def test_a_call_gets_its_tenants_approved_pairs_and_no_one_elses(pool: Pool) -> None:
    tenant, key = await _attempt_of_new_tenant(pool)
    await upsert_entries(pool, tenant, [_pair("vizún", "Bizum")])
    await upsert_entries(pool, DEFAULT_TENANT_ID, [_pair("retail patalonia", "Retail Patagonia")])
    dictionaries = TenantDictionaries(pool)

    theirs = await dictionaries.for_call(key, "es-CL")
    assert theirs.correct("le pago por vizún").text == "le pago por Bizum"
    assert theirs.correct("con retail patalonia").text == "con retail patalonia"  # another tenant's
    assert theirs.correct("tengo un salgo pendiente").text == "tengo un saldo pendiente"

    inbound = await dictionaries.for_call("inbound-call-without-attempt", "es")  # default tenant
    assert inbound.correct("con retail patalonia").text == "con Retail Patagonia"
    assert inbound.correct("le pago por vizún").text == "le pago por vizún"


async def test_pairs_of_another_language_or_switched_off_are_not_applied(pool: Pool) -> None:
    tenant, key = await _attempt_of_new_tenant(pool)
    await upsert_entries(pool, tenant, [_pair("pay pal", "PayPal", "en")])
    off = _pair("trasferensia", "transferencia").model_copy(update={"active": False})
    await upsert_entries(pool, tenant, [off])
    spanish = await TenantDictionaries(pool).for_call(key, "es")
    assert spanish.correct("pay pal trasferensia").corrections == []
    english = await TenantDictionaries(pool).for_call(key, "en-US")
    assert english.correct("via pay pal").text == "via PayPal"


async def test_an_approval_reaches_calls_after_the_refresh_and_lookups_are_cached(
    pool: Pool,
) -> None:
    tenant, key = await _attempt_of_new_tenant(pool)
    cached = TenantDictionaries(pool, refresh_s=3600)
    fresh = TenantDictionaries(pool, refresh_s=0)
    assert (await cached.for_call(key, "es")).correct("el abonno").text == "el abonno"
    await upsert_entries(pool, tenant, [_pair("abonno", "abono")])
    assert (await fresh.for_call(key, "es")).correct("el abonno").text == "el abono"
    assert (await cached.for_call(key, "es")).correct("el abonno").text == "el abonno"

    started = time.perf_counter()
    for _ in range(50):
        await cached.for_call(key, "es")
    per_call_ms = (time.perf_counter() - started) / 50 * 1000
    print(f"cached live-dictionary lookup: {per_call_ms:.2f} ms per call start")


async def test_an_unreachable_database_gives_the_defaults_without_failing(
    database_url: str,
) -> None:
    closed = await open_pool(database_url, min_size=0, max_size=1)
    await closed.close()
    corrector = await TenantDictionaries(closed, timeout_s=0.2).for_call("any", "es")
    assert corrector.correct("un salgo pendiente").text == "un saldo pendiente"


async def test_the_media_workers_line_corrects_each_call_with_its_tenants_pairs(
    pool: Pool, database_url: str
) -> None:
    tenant, key = await _attempt_of_new_tenant(pool)
    await upsert_entries(pool, tenant, [_pair("vizún", "Bizum")])
    line = conversation_line(settings_for(database_url, "127.0.0.1:1"), pool)
    request = DialRequest(
        idempotency_key=key,
        to_number="+56912345678",
        campaign_id="c",
        contact_id="k",
        attempt_number=1,
        variables={"nombre": "Ana", "monto_total": 200000, "fecha_limite": "2026-11-30"},
    )
    corrector = await line._call_corrector(key, flow_agent_for(request))
    assert corrector is not None
    assert corrector.correct("por vizún").text == "por Bizum"


async def test_an_approved_block_stops_a_pair_live(pool: Pool) -> None:
    tenant, key = await _attempt_of_new_tenant(pool)
    await upsert_entries(pool, tenant, [_pair("Peres", "Pérez")])
    assert (await TenantDictionaries(pool).for_call(key, "es")).correct("Peres").text == "Pérez"
    async with pool.connection() as conn:
        await conn.execute(
            'INSERT INTO lexicon_proposals (tenant_id, kind, wrong, "right", language, status, '
            "source) VALUES (%s, 'block', 'Peres', 'Pérez', 'es', 'approved', "
            "'reverted_correction')",
            (tenant,),
        )
    blocked = await TenantDictionaries(pool).for_call(key, "es")
    assert blocked.correct("Peres").text == "Peres"
