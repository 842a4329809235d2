"""What a call is given of the contact's memory: variables for flows, masked context for
LLMs; on real Postgres, with earlier calls stored as campaigns store them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from centralita.kernel.db import Pool
from centralita.memory import payments_store
from centralita.memory.call_variables import MEMORY_KEY, memory_of, with_memory
from centralita.memory.payments_store import PaymentIn
from tests.support.remembered_calls import (
    insert_attempt,
    insert_campaign,
    insert_contact,
    insert_tenant,
)

pytestmark = pytest.mark.integration

PHONE = "+56961234567"
PROMISED_ON = datetime(2025, 3, 21, 15, tzinfo=UTC)
NOW = datetime(2025, 4, 2, 15, tzinfo=UTC)
PROMISE = {"promised_amount": 200000, "promised_currency": "CLP", "promised_date": "2025-03-28"}
CONTACT = {"nombre": "María", "monto_total": 200000}


async def _promised_last_time(pool: Pool) -> tuple[str, str, str]:
    """A tenant whose contact promised 200.000 for 28 March in an earlier campaign, and
    the same person in this month's campaign: (tenant, campaign, contact called now)."""
    tenant = await insert_tenant(pool, "memoria-llamada")
    march, april = await insert_campaign(pool, tenant), await insert_campaign(pool, tenant)
    earlier = await insert_contact(pool, tenant, march, [PHONE])
    await insert_attempt(
        pool, tenant, march, earlier, started=PROMISED_ON, outcome="promise_to_pay",
        extracted=PROMISE, summary="Prometió pagar 200.000 el viernes 28.",
    )  # fmt: skip
    return tenant, april, await insert_contact(pool, tenant, april, [PHONE])


async def test_a_broken_promise_reaches_the_call_as_variables_and_masked_context(
    pool: Pool,
) -> None:
    tenant, _, contact = await _promised_last_time(pool)

    variables = await with_memory(pool, tenant, contact, CONTACT, now=NOW)

    assert variables["promesa_incumplida_fecha"] == "2025-03-28"
    assert variables["ultima_promesa_monto"] == "200000"
    assert variables["nombre"] == "María"  # the contact's own variables stay
    memory = memory_of(variables)
    assert memory is not None
    before = memory.as_context("es-CL", identity_verified=False)
    after = memory.as_context("es-CL", identity_verified=True)
    assert "Verifique su identidad" in before
    assert "200" not in before
    assert "2025-03-28" not in before
    assert "2025-03-28" in after
    assert "Prometió pagar 200.000 el viernes 28." in after


async def test_a_payment_reported_in_time_keeps_the_promise(pool: Pool) -> None:
    tenant, _, contact = await _promised_last_time(pool)
    async with pool.connection() as conn:
        await payments_store.record(
            conn,
            tenant,
            PaymentIn.model_validate(
                {"reference": "pago-28", "phone": PHONE, "amount": 200000, "currency": "CLP",
                 "paid_on": "2025-03-28"}
            ),
        )  # fmt: skip

    variables = await with_memory(pool, tenant, contact, CONTACT, now=NOW)

    assert "promesa_incumplida_fecha" not in variables  # nothing to ask about
    assert variables["last_promise_status"] == "kept"


async def test_another_tenants_or_another_persons_calls_are_never_given(pool: Pool) -> None:
    tenant, april, _ = await _promised_last_time(pool)
    neighbour = await insert_contact(pool, tenant, april, ["+56911112222"])
    other = await insert_tenant(pool, "otra")
    twin = await insert_contact(pool, other, await insert_campaign(pool, other), [PHONE])

    for who_tenant, who in ((tenant, neighbour), (other, twin)):
        variables = await with_memory(pool, who_tenant, who, CONTACT, now=NOW)
        assert variables == CONTACT
        assert MEMORY_KEY not in variables


async def test_a_memory_that_cannot_be_read_does_not_stop_the_call(pool: Pool) -> None:
    variables = await with_memory(pool, "not-a-tenant-uuid", "not-a-contact", CONTACT, now=NOW)
    assert variables == CONTACT
