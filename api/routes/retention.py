"""Retention from the API: soft-delete a call, and purge what is due now."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Response, status

from api.deps import Services
from centralita.retention import PurgeReport, RetentionPolicy, purge, soft_delete_call
from centralita.store import DEFAULT_TENANT_ID

router = APIRouter(tags=["retention"])


@router.delete(
    "/calls/{call_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "no such call (or already deleted)"}},
)
async def delete_call(call_id: uuid.UUID, services: Services) -> Response:
    """Soft-delete a call: hidden from the API at once, purged for good after
    `retention_deleted_days` (with its recording)."""
    if not await soft_delete_call(services.pool, DEFAULT_TENANT_ID, call_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"call {call_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/retention/purge", response_model=PurgeReport)
async def purge_now(services: Services) -> PurgeReport:
    """Run the purge now (what `centralita purge` does): counts of what was removed."""
    return await purge(services.pool, RetentionPolicy.from_settings(services.settings))
