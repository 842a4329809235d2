"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import Services
from api.services import ApiServices
from centralita.kernel.db import ping

router = APIRouter(tags=["health"])

_CHECK_TIMEOUT_S = 3.0


class ComponentHealth(BaseModel):
    """One dependency's state."""

    ok: bool
    error: str | None = None


class Readiness(BaseModel):
    """Whether the API can serve: every dependency reachable."""

    status: str
    components: dict[str, ComponentHealth]


@router.get("/health", summary="The process is up")
async def health() -> dict[str, str]:
    """Always 200 while the process runs."""
    return {"status": "ok"}


@router.get("/health/live", summary="Liveness probe")
async def live() -> dict[str, str]:
    """Always 200 while the event loop answers."""
    return {"status": "ok"}


@router.get(
    "/health/ready",
    summary="Readiness probe: Postgres and Temporal reachable",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "a dependency is unreachable"}},
)
async def ready(services: Services) -> JSONResponse:
    """200 when Postgres and Temporal answer; 503 naming the failing component otherwise."""
    postgres, temporal = await asyncio.gather(_check_postgres(services), _check_temporal(services))
    body = Readiness(
        status="ok" if postgres.ok and temporal.ok else "unavailable",
        components={"postgres": postgres, "temporal": temporal},
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ok" else 503)


async def _check_postgres(services: ApiServices) -> ComponentHealth:
    try:
        async with services.pool.connection(timeout=_CHECK_TIMEOUT_S) as conn:
            await ping(conn)
    except Exception as exc:
        return ComponentHealth(ok=False, error=f"{type(exc).__name__}: {exc}")
    return ComponentHealth(ok=True)


async def _check_temporal(services: ApiServices) -> ComponentHealth:
    try:
        client = await services.temporal.get()
        healthy = await client.service_client.check_health(
            timeout=timedelta(seconds=_CHECK_TIMEOUT_S)
        )
    except Exception as exc:
        return ComponentHealth(ok=False, error=f"{type(exc).__name__}: {exc}")
    return ComponentHealth(ok=healthy, error=None if healthy else "health check said not serving")
