"""Retention from the API: soft-delete a call, and purge what is due now."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Response, status

from api.auth import TenantId, require_admin
from api.deps import Services
from centralita.tenants.store.retention import PurgeReport, RetentionPolicy, purge, soft_delete_call

router = APIRouter(tags=["retention"])


@router.delete(
    "/calls/{call_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "no such call (or already deleted)"}},
)
async def delete_call(call_id: uuid.UUID, services: Services, tenant: TenantId) -> Response:
    """Soft-delete a call: hidden from the API at once, purged for good after
    `retention_deleted_days` (with its recording)."""
    if not await soft_delete_call(services.pool, tenant, call_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"call {call_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/retention/purge",
    response_model=PurgeReport,
    dependencies=[Depends(require_admin)],
    responses={403: {"description": "not the admin key"}},
)
async def purge_now(services: Services) -> PurgeReport:
    """Run the purge now (what `centralita purge` does): counts of what was removed.

    The retention policy is the deployment's and the purge covers every tenant, so
    this takes the admin key, like the daily `centralita purge` takes database access.
    """
    return await purge(services.pool, RetentionPolicy.from_settings(services.settings))
