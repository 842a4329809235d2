"""Opt-outs: numbers never to be called again, in any campaign, from the moment they land."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field, field_validator

from api.auth import TenantId
from api.contact_rows import to_e164
from api.deps import Services
from api.limits import PageOffset
from api.services import ApiServices, TemporalUnavailableError
from centralita.campaigns.opt_out_signals import signal_opt_out
from centralita.campaigns.store import opt_outs
from centralita.campaigns.store.opt_outs import OptOutRow
from centralita.kernel.privacy import mask_phone

log = logging.getLogger(__name__)

router = APIRouter(prefix="/opt-outs", tags=["opt-outs"])

# The opt-out is stored before signalling, so a slow Temporal must not hold the request.
SIGNAL_TIMEOUT_S = 10.0


class OptOutCreate(BaseModel):
    """A number to stop calling."""

    phone: str = Field(min_length=3, max_length=40)
    reason: str | None = Field(default=None, max_length=500)
    default_region: str | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="ISO country for a number written without +country code (e.g. CL).",
    )

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, value: str | None) -> str | None:
        return value.upper() if value else None


class OptOutCreated(OptOutRow):
    """The stored opt-out and what it stopped."""

    campaigns_affected: list[str] = Field(
        description="Campaigns with an open contact on this number when the opt-out landed."
    )
    signalled: bool = Field(
        description="Their running workflows were told at once. When false the number is "
        "still never dialled: every dial re-checks the opt-out list."
    )
    signal_error: str | None = None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OptOutCreated,
    responses={
        200: {"model": OptOutCreated, "description": "the number was already opted out"},
        422: {"description": "not a valid phone number"},
    },
)
async def create_opt_out(
    body: OptOutCreate, services: Services, tenant: TenantId, response: Response
) -> OptOutCreated:
    """Stop calling a number in every campaign, now.

    Open contacts whose every phone is opted out become `opted_out`; contacts with
    another phone keep it. Idempotent: posting a number already opted out answers 200
    with the stored opt-out (its first reason and time) and re-applies it to contacts.
    """
    phone = _e164_or_422(body.phone, body.default_region)
    async with services.pool.connection() as conn, conn.transaction():
        existing = await opt_outs.get(conn, tenant, phone)
        affected = await opt_outs.add(
            conn, tenant, phone, reason=body.reason, source="api", at=datetime.now(UTC)
        )
        stored = await opt_outs.get(conn, tenant, phone)
    assert stored is not None  # inserted or already there, in the same transaction
    if existing is not None:
        response.status_code = status.HTTP_200_OK
    signal_error = await _signal(services, tenant, phone)
    return OptOutCreated(
        **stored.model_dump(),
        campaigns_affected=affected,
        signalled=signal_error is None,
        signal_error=signal_error,
    )


@router.delete(
    "/{phone}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "no opt-out for this number"}, 422: {}},
)
async def delete_opt_out(
    phone: str,
    services: Services,
    tenant: TenantId,
    default_region: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
) -> Response:
    """Lift an opt-out; contacts it already stopped stay stopped.

    The number may come with its `+` URL-encoded (`%2B569...`) or without it
    (`569...`); with `default_region` it may also be in national form.
    """
    e164 = _e164_or_422(_with_plus(phone, default_region), default_region)
    async with services.pool.connection() as conn:
        removed = await opt_outs.remove(conn, tenant, e164)
    if not removed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{e164} is not opted out")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("", response_model=list[OptOutRow])
async def list_opt_outs(
    services: Services,
    tenant: TenantId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: PageOffset = 0,
) -> list[OptOutRow]:
    """Opted-out numbers, newest first."""
    async with services.pool.connection() as conn:
        return await opt_outs.list_all(conn, tenant, limit=limit, offset=offset)


def _e164_or_422(raw: str, region: str | None) -> str:
    try:
        return to_e164(raw, region.upper() if region else None)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc


def _with_plus(raw: str, region: str | None) -> str:
    # In a URL path an unencoded `+` is literal, but clients often drop it altogether;
    # a bare digit string is read as international unless a region says otherwise.
    raw = raw.strip()
    if region or raw.startswith("+"):
        return raw
    return f"+{raw}"


async def _signal(services: ApiServices, tenant: str, phone: str) -> str | None:
    """Tell the tenant's running campaigns; the error as text when that could not be done."""
    try:
        client = await services.temporal.get()
        await asyncio.wait_for(
            signal_opt_out(client, services.pool, phone, tenant_id=tenant),
            timeout=SIGNAL_TIMEOUT_S,
        )
    except (TemporalUnavailableError, TimeoutError) as exc:
        log.warning("opt-out of %s stored but not signalled: %s", mask_phone(phone), exc)
        return str(exc) or "timed out signalling running campaigns"
    return None
