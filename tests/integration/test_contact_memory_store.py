"""Contact memory read from real Postgres: a person's earlier calls across campaigns and the
payments the tenant reported make the memory; another contact's and another tenant's rows
never appear; payments are recorded once per reference.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from centralita.kernel.db import Pool
from centralita.memory import payments_store
from centralita.memory.contact_memory import PromiseStatus
from centralita.memory.memory_store import contact_memory
from centralita.memory.payments_store import PaymentIn
from tests.support.remembered_calls import (
    insert_attempt,
    insert_campaign,
    insert_contact,
    insert_tenant,
)

pytestmark = pytest.mark.integration

PHONE = "+56961234567"
OTHER_PHONE = "+56987654321"
NOW = datetime(2025, 4, 2, 15, tzinfo=UTC)
FIRST = datetime(2025, 3, 14, 15, tzinfo=UTC)
SECOND = datetime(2025, 3, 21, 15, tzinfo=UTC)
PROMISE = {"promised_amount": 200000, "promised_currency": "CLP", "promised_date": "2025-03-28"}


async def _pay(pool: Pool, tenant: str, reference: str, **fields: object) -> None:
    async with pool.connection() as conn:
        payment = PaymentIn.model_validate(
            {"reference": reference, "currency": "CLP", "paid_on": "2025-03-27", **fields}
        )
        await payments_store.record(conn, tenant, payment)


async def test_two_earlier_calls_and_a_payment_make_the_memory_and_nothing_else_does(
    pool: Pool,
) -> None:
    tenant = await insert_tenant(pool, "memoria")
    march, april = await insert_campaign(pool, tenant), await insert_campaign(pool, tenant)
    earlier = await insert_contact(pool, tenant, march, [PHONE])
    called_now = await insert_contact(pool, tenant, april, [PHONE, OTHER_PHONE])
    disputed = await insert_attempt(
        pool, tenant, march, earlier, started=FIRST, outcome="disputed", summary="Disputó."
    )
    promised = await insert_attempt(
        pool, tenant, march, earlier, started=SECOND, outcome="promise_to_pay",
        extracted=PROMISE, language="es-CL", summary="Prometió pagar el viernes 28.",
    )  # fmt: skip
    await _pay(pool, tenant, "pago-1", phone=PHONE, amount="200000")

    # What must never show up: a neighbour's calls and payment, another tenant's calls
    # and payment on the very same number, this person's skipped attempt, a deleted
    # call, and a call after `now`.
    neighbour = await insert_contact(pool, tenant, march, [OTHER_PHONE])
    await insert_attempt(pool, tenant, march, neighbour, started=SECOND, outcome="opt_out")
    await _pay(pool, tenant, "pago-vecino", phone=OTHER_PHONE, amount="5")
    other = await insert_tenant(pool, "otra")
    other_campaign = await insert_campaign(pool, other)
    twin = await insert_contact(pool, other, other_campaign, [PHONE])
    await insert_attempt(pool, other, other_campaign, twin, started=SECOND, outcome="wrong_person")
    await _pay(pool, other, "pago-de-otra", phone=PHONE, amount="999")
    named = await insert_contact(pool, tenant, march, [PHONE], external_id="CLI-7")
    await insert_attempt(pool, tenant, march, named, started=SECOND, outcome="busy")
    await insert_attempt(
        pool, tenant, march, earlier, started=SECOND, outcome="no_answer", status="skipped"
    )
    await insert_attempt(pool, tenant, march, earlier, started=FIRST, outcome="busy", deleted=True)
    await insert_attempt(pool, tenant, april, called_now, started=NOW, outcome="no_answer")

    memory = await contact_memory(pool, tenant, called_now, now=NOW)

    assert memory is not None
    assert [(c.source, c.outcome) for c in memory.calls] == [
        (promised, "promise_to_pay"),
        (disputed, "disputed"),
    ]
    [promise] = memory.promises
    assert (promise.source, promise.status, promise.payments) == (
        promised,
        PromiseStatus.KEPT,
        ("pago-1",),
    )
    assert promise.amount == Decimal(200000)
    assert [(d.source, d.on) for d in memory.disputes] == [(disputed, date(2025, 3, 14))]
    assert [p.source for p in memory.payments] == ["pago-1"]
    assert memory.opt_outs == ()
    assert memory.language is not None
    assert (memory.language.text, memory.language.source) == ("es-CL", promised)
    assert memory.last_summary is not None
    assert memory.last_summary.text == "Prometió pagar el viernes 28."
    assert memory.timezone == "America/Santiago"  # the campaign's, the contact has none
    variables = memory.as_variables()
    assert variables["ultima_promesa_estado"] == "cumplida"
    assert variables["llamadas_previas"] == "2"

    # The other tenant cannot read this contact's memory by its id.
    assert await contact_memory(pool, other, called_now, now=NOW) is None
    assert await contact_memory(pool, tenant, "not-a-uuid", now=NOW) is None


async def test_a_tenants_external_id_is_the_person_whatever_their_number(pool: Pool) -> None:
    tenant = await insert_tenant(pool, "por referencia")
    first, second = await insert_campaign(pool, tenant), await insert_campaign(pool, tenant)
    old = await insert_contact(pool, tenant, first, [OTHER_PHONE], external_id="CLI-1")
    new = await insert_contact(pool, tenant, second, [PHONE], external_id="CLI-1")
    stranger = await insert_contact(pool, tenant, first, [PHONE], external_id="CLI-2")
    unnamed = await insert_contact(pool, tenant, first, [PHONE])
    promised = await insert_attempt(
        pool, tenant, first, old, started=SECOND, outcome="promise_to_pay", extracted=PROMISE
    )
    await insert_attempt(pool, tenant, first, stranger, started=FIRST, outcome="disputed")
    await insert_attempt(pool, tenant, first, unnamed, started=FIRST, outcome="callback_requested")
    await _pay(pool, tenant, "ref-por-cliente", external_ref="CLI-1", amount="50000")
    await _pay(pool, tenant, "ref-por-numero", phone=PHONE, amount="25000")
    await _pay(pool, tenant, "ref-de-otro", external_ref="CLI-2", phone=PHONE, amount="125000")

    memory = await contact_memory(pool, tenant, new, now=NOW)

    assert memory is not None
    assert [c.source for c in memory.calls] == [promised]
    assert memory.disputes == ()
    assert memory.callbacks == ()
    assert {p.source for p in memory.payments} == {"ref-por-cliente", "ref-por-numero"}
    [promise] = memory.promises
    assert promise.status is PromiseStatus.PARTIAL
    assert promise.paid == Decimal(75000)


async def test_the_opt_out_list_of_the_persons_number_is_remembered(pool: Pool) -> None:
    tenant = await insert_tenant(pool, "bajas")
    campaign = await insert_campaign(pool, tenant)
    contact = await insert_contact(pool, tenant, campaign, [PHONE])
    asked = await insert_attempt(
        pool, tenant, campaign, contact, started=FIRST, outcome="opt_out",
        extracted={"opt_out": True, "opt_out_reason": "no llamen más"},
    )  # fmt: skip
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO opt_outs (tenant_id, phone, reason, source, created_at) "
            "VALUES (%s, %s, 'pidió la baja', 'call', %s)",
            (tenant, PHONE, FIRST + timedelta(minutes=5)),
        )
    memory = await contact_memory(pool, tenant, contact, now=NOW)
    assert memory is not None
    assert {(o.source, o.reason) for o in memory.opt_outs} == {
        (asked, "no llamen más"),
        (f"opt_outs:{PHONE}", "pidió la baja"),
    }


async def test_a_payment_is_recorded_once_per_reference_and_per_tenant(pool: Pool) -> None:
    tenant, other = await insert_tenant(pool, "pagos"), await insert_tenant(pool, "pagos b")
    report = PaymentIn(
        reference="TX-1", phone=PHONE, amount=Decimal("1500.5"), currency="CLP",
        paid_on=date(2025, 3, 27),
    )  # fmt: skip
    async with pool.connection() as conn:
        first = await payments_store.record(conn, tenant, report)
        again = await payments_store.record(conn, tenant, report)
        changed = await payments_store.record(
            conn, tenant, report.model_copy(update={"amount": Decimal(1)})
        )
        elsewhere = await payments_store.record(conn, other, report)
        listed = await payments_store.list_payments(
            conn, tenant, external_ref=None, phone=PHONE, limit=10, offset=0
        )
    assert (first.created, first.same) == (True, True)
    assert (again.created, again.same, again.payment.id) == (False, True, first.payment.id)
    assert (changed.created, changed.same, changed.payment.amount) == (
        False,
        False,
        Decimal("1500.50"),
    )
    assert elsewhere.created
    assert elsewhere.payment.id != first.payment.id
    assert [p.reference for p in listed] == ["TX-1"]
