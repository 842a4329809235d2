"""The admin API: tenants and their API keys. Only the admin key (`admin_api_key`) passes.

The same operations are on the command line (`centralita tenants ...`, `centralita
keys ...`), which needs database access instead of the admin key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field

from api.auth import require_admin
from api.deps import Services
from api.limits import PageLimit, PageOffset
from centralita.kernel.db import Conn
from centralita.kernel.ids import is_uuid
from centralita.tenants.store import keys as tenants
from centralita.tenants.store.keys import ApiKey, ApiKeyCreated, Tenant

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])

_ADMIN: dict[int | str, dict[str, Any]] = {
    403: {"description": "not the admin key, or the admin API is off"}
}
_NO_TENANT: dict[int | str, dict[str, Any]] = {404: {"description": "no such tenant"}}


class TenantCreate(BaseModel):
    """A new tenant."""

    name: str = Field(min_length=1, max_length=200, pattern=r"\S")


class KeyCreate(BaseModel):
    """A new key: its name says who or what uses it."""

    name: str = Field(default="api", min_length=1, max_length=200, pattern=r"\S")


@router.post(
    "/tenants",
    status_code=status.HTTP_201_CREATED,
    response_model=Tenant,
    responses={**_ADMIN, 409: {"description": "a tenant of that name exists"}},
)
async def create_tenant(body: TenantCreate, services: Services) -> Tenant:
    """Create a tenant; give it a key with `POST /admin/tenants/{id}/api-keys`."""
    async with services.pool.connection() as conn:
        try:
            return await tenants.create_tenant(conn, body.name.strip())
        except tenants.TenantExistsError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc


@router.get("/tenants", response_model=list[Tenant], responses=_ADMIN)
async def list_tenants(
    services: Services, limit: PageLimit = 100, offset: PageOffset = 0
) -> list[Tenant]:
    """Tenants, oldest first."""
    async with services.pool.connection() as conn:
        return await tenants.list_tenants(conn, limit=limit, offset=offset)


@router.post(
    "/tenants/{tenant_id}/api-keys",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses={**_ADMIN, **_NO_TENANT},
)
async def create_key(
    tenant_id: str, services: Services, body: KeyCreate | None = None
) -> ApiKeyCreated:
    """A new key for the tenant. Its plaintext (`key`) is in this response only: only a
    hash is stored."""
    async with services.pool.connection() as conn:
        await _tenant_or_404(conn, tenant_id)
        return await tenants.create_key(conn, tenant_id, (body or KeyCreate()).name.strip())


@router.get(
    "/tenants/{tenant_id}/api-keys",
    response_model=list[ApiKey],
    responses={**_ADMIN, **_NO_TENANT},
)
async def list_keys(
    tenant_id: str, services: Services, limit: PageLimit = 100, offset: PageOffset = 0
) -> list[ApiKey]:
    """The tenant's keys (revoked ones too), oldest first; prefixes only, never secrets."""
    async with services.pool.connection() as conn:
        await _tenant_or_404(conn, tenant_id)
        return await tenants.list_keys(conn, tenant_id, limit=limit, offset=offset)


@router.delete(
    "/api-keys/{key_id}",
    response_model=ApiKey,
    responses={**_ADMIN, 404: {"description": "no such key"}},
)
async def revoke_key(key_id: str, services: Services) -> ApiKey:
    """Revoke a key: from now on it answers 401. Revoking twice keeps the first time."""
    async with services.pool.connection() as conn:
        revoked = await tenants.revoke_key(conn, key_id)
    if revoked is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no API key {key_id}")
    return revoked


async def _tenant_or_404(conn: Conn, tenant_id: str) -> None:
    # By id only: names are for people at the command line.
    if not is_uuid(tenant_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no tenant {tenant_id}")
    try:
        await tenants.find_tenant(conn, tenant_id)
    except tenants.TenantNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
