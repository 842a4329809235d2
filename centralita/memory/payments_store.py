"""Payments the tenant reports: recorded once per reference, read back per person.

Every query names the tenant, so one tenant's payments never reach another's memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from centralita.kernel.db import Conn


class PaymentIn(BaseModel):
    """A payment as reported: who paid (external reference and/or phone), how much, when."""

    reference: str = Field(min_length=1, max_length=200)
    external_ref: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, description="E.164")
    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    paid_on: date
    source: str = Field(default="api", min_length=1, max_length=50)


class PaymentRow(PaymentIn):
    """A stored payment."""

    id: str
    created_at: datetime


@dataclass(frozen=True)
class Recorded:
    """What recording a payment did.

    Attributes:
        payment: The stored row (the earlier one when the reference was known).
        created: Whether this call stored it.
        same: Whether the stored row says what was reported (always true when created);
            false: the reference was already used for another payment.
    """

    payment: PaymentRow
    created: bool
    same: bool


_COLUMNS = (
    "id::text AS id, reference, external_ref, phone, amount, currency, paid_on, source, created_at"
)
# The fields a retried report must repeat for it to be the same payment.
_IDENTITY = ("external_ref", "phone", "amount", "currency", "paid_on")


async def record(conn: Conn, tenant_id: str, payment: PaymentIn) -> Recorded:
    """Store `payment` unless the tenant already reported its reference.

    Idempotent: a retried report finds the stored row (`created` false, `same` true); a
    different payment under a known reference is not stored (`same` false).
    """
    cur = await conn.execute(
        "INSERT INTO payments (tenant_id, reference, external_ref, phone, amount, currency, "
        "paid_on, source) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT (tenant_id, reference) DO NOTHING RETURNING {_COLUMNS}",
        (
            tenant_id,
            payment.reference,
            payment.external_ref,
            payment.phone,
            payment.amount,
            payment.currency,
            payment.paid_on,
            payment.source,
        ),
    )
    row = await cur.fetchone()
    if row is not None:
        return Recorded(PaymentRow.model_validate(row), created=True, same=True)
    stored = await get(conn, tenant_id, payment.reference)
    assert stored is not None  # the conflict was on this tenant's reference
    same = all(getattr(stored, f) == getattr(payment, f) for f in _IDENTITY)
    return Recorded(stored, created=False, same=same)


async def get(conn: Conn, tenant_id: str, reference: str) -> PaymentRow | None:
    """The tenant's payment of this reference, or None."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM payments WHERE tenant_id = %s AND reference = %s",
        (tenant_id, reference),
    )
    row = await cur.fetchone()
    return None if row is None else PaymentRow.model_validate(row)


async def for_person(
    conn: Conn, tenant_id: str, *, external_ref: str | None, phone: str | None, limit: int = 200
) -> list[PaymentRow]:
    """A person's payments, newest first.

    With an external reference, the payments reported under it, and those reported by
    phone alone for the person's number (the tenant named no one else); without one,
    the payments reported for the number.
    """
    if external_ref is None and phone is None:
        return []
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM payments WHERE tenant_id = %s AND ("
        "  (%s::text IS NOT NULL AND external_ref = %s) "
        "  OR (phone = %s AND (%s::text IS NULL OR external_ref IS NULL))"
        ") ORDER BY paid_on DESC, created_at DESC, id LIMIT %s",
        (tenant_id, external_ref, external_ref, phone, external_ref, limit),
    )
    return [PaymentRow.model_validate(r) for r in await cur.fetchall()]


async def list_payments(
    conn: Conn,
    tenant_id: str,
    *,
    external_ref: str | None,
    phone: str | None,
    limit: int,
    offset: int,
) -> list[PaymentRow]:
    """The tenant's payments, newest report first, filtered by payer when asked."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM payments WHERE tenant_id = %s "
        "AND (%s::text IS NULL OR external_ref = %s) AND (%s::text IS NULL OR phone = %s) "
        "ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s",
        (tenant_id, external_ref, external_ref, phone, phone, limit, offset),
    )
    return [PaymentRow.model_validate(r) for r in await cur.fetchall()]
