"""A single contact with everything that happened to it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.auth import TenantId
from api.deps import Services
from centralita.campaigns.store import history
from centralita.campaigns.store.history import ContactHistory

router = APIRouter(prefix="/contacts", tags=["contacts"])


@router.get(
    "/{contact_id}",
    response_model=ContactHistory,
    responses={404: {"description": "no such contact (or not a contact id)"}},
)
async def get_contact(contact_id: str, services: Services, tenant: TenantId) -> ContactHistory:
    """The contact, its attempts (skipped and cancelled ones too) and its state changes.

    Both lists are oldest first; every change of `state` has its event with a reason.
    """
    found = await history.contact_history(services.pool, tenant, contact_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"contact {contact_id} not found")
    return found
