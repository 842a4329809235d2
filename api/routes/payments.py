"""Payments the tenant reports, and what a call is told of a contact (its memory).

Payments are what contact memory judges earlier promises against (kept, partly kept,
broken). The memory route shows operators exactly what an agent will receive: the flow
variables and the prompt lines, before and after the person's identity is verified.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Response, status
from pydantic import BaseModel, Discriminator, Field, Tag, field_validator, model_validator

from api.auth import TenantId
from api.contact_rows import to_e164
from api.deps import Services
from api.limits import PageOffset
from centralita.kernel.db import Pool
from centralita.memory import payments_store
from centralita.memory.contact_memory import ContactMemory
from centralita.memory.memory_store import contact_memory
from centralita.memory.payments_store import PaymentIn, PaymentRow

router = APIRouter(tags=["payments"])

# One request's batch: a day's payments of a mid-sized portfolio; more go in more requests.
MAX_BATCH = 1000


class PaymentReport(BaseModel):
    """A payment as the tenant reports it. Name the payer by `external_ref` (the
    contacts' `external_id`), by `phone`, or both."""

    reference: str = Field(
        min_length=1, max_length=200, description="The tenant's id of the payment: unique."
    )
    external_ref: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, min_length=3, max_length=40)
    default_region: str | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="ISO country for a phone written without +country code (e.g. CL).",
    )
    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2)
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217, e.g. CLP")
    paid_on: date

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if not value.isascii() or not value.isalpha():
            raise ValueError("currency must be three letters (ISO 4217)")
        return value.upper()

    @model_validator(mode="after")
    def _payer(self) -> PaymentReport:
        if self.external_ref is None and self.phone is None:
            raise ValueError("name the payer: external_ref, phone, or both")
        if self.phone is not None:
            region = self.default_region.upper() if self.default_region else None
            self.phone = to_e164(self.phone, region)
        return self

    def stored(self) -> PaymentIn:
        """The payment as the store keeps it."""
        return PaymentIn(
            reference=self.reference,
            external_ref=self.external_ref,
            phone=self.phone,
            amount=self.amount,
            currency=self.currency,
            paid_on=self.paid_on,
        )


def _shape(value: Any) -> str:
    return "batch" if isinstance(value, list) else "payment"


# One payment or a list of them; told apart by shape, so a refused row is reported by the
# branch it was sent as (`["body", "batch", 3, "amount"]`), not by both.
Report = Annotated[
    Annotated[PaymentReport, Tag("payment")]
    | Annotated[list[PaymentReport], Tag("batch"), Field(min_length=1, max_length=MAX_BATCH)],
    Discriminator(_shape),
]


class PaymentResult(StrEnum):
    """What a report did."""

    CREATED = "created"
    UNCHANGED = "unchanged"  # the same payment was reported before


class ReportedPayment(BaseModel):
    """One report's result and the stored payment."""

    result: PaymentResult
    payment: PaymentRow


class ReportedPayments(BaseModel):
    """A batch's results, in the order reported."""

    items: list[ReportedPayment]


class ContactMemoryView(BaseModel):
    """What an agent is told of a contact before a call, as of now."""

    contact_id: str
    memory: ContactMemory
    variables: dict[str, str] = Field(description="Flow template variables.")
    context_verified: str = Field(description="An LLM agent's lines once identity is verified.")
    context_unverified: str = Field(description="Its lines before: no specifics.")


@router.post(
    "/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportedPayment | ReportedPayments,
    responses={
        200: {"description": "every payment was already reported (nothing new stored)"},
        409: {"description": "a reference already names another payment (nothing stored)"},
        422: {"description": "an invalid payment; a batch names its row (nothing stored)"},
    },
)
async def report_payments(
    body: Annotated[Report, Body()],
    services: Services,
    tenant: TenantId,
    response: Response,
) -> ReportedPayment | ReportedPayments:
    """Report one payment, or a batch (a list), all or none.

    Idempotent on `reference`: reporting a stored payment again answers it as
    `unchanged` (200 when nothing in the request was new); a reference already used for
    a different payment is refused with 409 and the row, and nothing is stored.
    """
    rows = body if isinstance(body, list) else [body]
    results: list[ReportedPayment] = []
    async with services.pool.connection() as conn, conn.transaction():
        for index, row in enumerate(rows):
            recorded = await payments_store.record(conn, tenant, row.stored())
            if not recorded.same:
                where = f"row {index}: " if isinstance(body, list) else ""
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    detail=f"{where}reference {row.reference!r} already names another payment",
                )
            result = PaymentResult.CREATED if recorded.created else PaymentResult.UNCHANGED
            results.append(ReportedPayment(result=result, payment=recorded.payment))
    if all(r.result is PaymentResult.UNCHANGED for r in results):
        response.status_code = status.HTTP_200_OK
    return ReportedPayments(items=results) if isinstance(body, list) else results[0]


@router.get("/payments", response_model=list[PaymentRow])
async def list_payments(
    services: Services,
    tenant: TenantId,
    external_ref: Annotated[str | None, Query(max_length=200)] = None,
    phone: Annotated[str | None, Query(max_length=40, description="E.164")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: PageOffset = 0,
) -> list[PaymentRow]:
    """The tenant's payments, latest reported first, of one payer when asked."""
    async with services.pool.connection() as conn:
        return await payments_store.list_payments(
            conn, tenant, external_ref=external_ref, phone=phone, limit=limit, offset=offset
        )


@router.get(
    "/contacts/{contact_id}/memory",
    response_model=ContactMemoryView,
    responses={404: {"description": "no such contact (or not a contact id)"}},
)
async def get_contact_memory(
    contact_id: str,
    services: Services,
    tenant: TenantId,
    language: Annotated[Literal["es", "en"], Query()] = "es",
) -> ContactMemoryView:
    """What an agent calling this contact now would be told of its history.

    The same person across campaigns: contacts with the contact's `external_id`, or,
    when it has none, contacts with no `external_id` and the same first phone.
    """
    found = await memory_view(services.pool, tenant, contact_id, language)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"contact {contact_id} not found")
    return found


async def memory_view(
    pool: Pool, tenant: str, contact_id: str, language: Literal["es", "en"]
) -> ContactMemoryView | None:
    """What an agent calling the tenant's contact now would be told; None when the tenant
    has no such contact (the route and the MCP tool `contact_history`)."""
    memory = await contact_memory(pool, tenant, contact_id, now=datetime.now(UTC))
    if memory is None:
        return None
    return ContactMemoryView(
        contact_id=contact_id,
        memory=memory,
        variables=memory.as_variables(),
        context_verified=memory.as_context(language, identity_verified=True),
        context_unverified=memory.as_context(language, identity_verified=False),
    )
