"""The media plane for operators: the registered media workers and their room (admin key).

Every tenant's calls share the media workers, so this is an operator's view, not a
tenant's: `/admin/media-workers` lists each worker (live or silent, draining or taking
calls, its load and room) and the live plane's totals, the figures placement decides by.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.auth import require_admin
from api.deps import Services
from centralita.telephony.media_workers import MediaCapacity, MediaWorkerRow
from centralita.telephony.store import media_workers

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])

_ADMIN: dict[int | str, dict[str, Any]] = {
    403: {"description": "not the admin key, or the admin API is off"}
}


class MediaPlane(BaseModel):
    """The live workers' totals, and every registered worker."""

    capacity: MediaCapacity
    free_calls: int = Field(description="Calls that could start now on the live workers.")
    workers: list[MediaWorkerRow] = Field(
        description="Registered workers, oldest first; `alive` false once silent 3 s."
    )


@router.get("/media-workers", response_model=MediaPlane, responses=_ADMIN)
async def list_media_workers(services: Services) -> MediaPlane:
    """Where calls can go now: each media worker's room, load and state."""
    async with services.pool.connection() as conn:
        capacity = await media_workers.capacity(conn)
        workers = await media_workers.list_workers(conn)
    return MediaPlane(capacity=capacity, free_calls=capacity.free, workers=workers)
