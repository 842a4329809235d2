"""Bulk re-analysis from the API: start one over a filter, follow its progress."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import TenantId
from api.deps import Services
from api.routes.calls import parse_bound
from api.services import TemporalUnavailableError
from centralita.postcall.messages import RetranscribePolicy
from centralita.postcall.reanalysis_messages import (
    ReanalysisFilter,
    ReanalysisInput,
    ReanalysisProgress,
)
from workflows.reanalysis import ReanalysisWorkflow

router = APIRouter(prefix="/reanalyses", tags=["reanalyses"])

_QUERY_TIMEOUT = timedelta(seconds=10)


class ReanalysisRequest(BaseModel):
    """Which calls to re-analyse, and the analysis version they end at."""

    id: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_.-]{1,80}$")] = Field(
        default=None,
        description="Your id for it; unset: derived from the request, so the same request "
        "twice is one re-analysis",
    )
    analysis_version: int = Field(ge=1)
    campaign_id: uuid.UUID | None = None
    date_from: str | None = Field(default=None, description="Inclusive ISO date or datetime")
    date_to: str | None = Field(
        default=None, description="Inclusive ISO date (its whole day) or datetime"
    )
    intent: str | None = Field(default=None, description="Only calls analysed with this intent")
    retranscribe: RetranscribePolicy = "never"
    concurrency: int = Field(default=4, ge=1, le=50)


class ReanalysisStarted(BaseModel):
    """The accepted re-analysis; follow it at `GET /reanalyses/{id}`."""

    id: str


def reanalysis_workflow_id(tenant_id: str, reanalysis_id: str) -> str:
    """The workflow behind the tenant's re-analysis `reanalysis_id`.

    The tenant is part of the id: tenants choose (or derive) ids independently, and one
    tenant's id must neither start nor find another's. (Re-analyses started before
    tenants had keys ran as `reanalysis-{id}`; they finish, but this API no longer
    finds them.)
    """
    return f"reanalysis-{tenant_id}-{reanalysis_id}"


def _filter(tenant: str, request: ReanalysisRequest) -> ReanalysisFilter:
    try:
        return ReanalysisFilter(
            tenant_id=tenant,
            campaign_id=str(request.campaign_id) if request.campaign_id else None,
            started_from=parse_bound(request.date_from, end=False) if request.date_from else None,
            started_before=parse_bound(request.date_to, end=True) if request.date_to else None,
            intent=request.intent,
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReanalysisStarted,
    responses={422: {"description": "bad filter"}, 503: {"description": "Temporal is down"}},
)
async def start_reanalysis(
    request: ReanalysisRequest, services: Services, tenant: TenantId
) -> ReanalysisStarted:
    """Start re-running correction and analysis over the calls the filter selects.

    Idempotent: the same id (given, or derived from the same request) while it runs or
    after it finished is the same re-analysis; after it failed or was cancelled, it
    starts again and does only the calls not yet at its version.
    """
    job = ReanalysisInput(
        filter=_filter(tenant, request),
        analysis_version=request.analysis_version,
        retranscribe=request.retranscribe,
        concurrency=request.concurrency,
    )
    reanalysis_id = request.id or _derived_id(job)
    try:
        client = await services.temporal.get()
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await client.start_workflow(
                ReanalysisWorkflow.run,
                job,
                id=reanalysis_workflow_id(tenant, reanalysis_id),
                task_queue=services.settings.post_call_task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            )
    except TemporalUnavailableError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    return ReanalysisStarted(id=reanalysis_id)


@router.get(
    "/{reanalysis_id}",
    response_model=ReanalysisProgress,
    responses={
        404: {"description": "no such re-analysis"},
        503: {"description": "Temporal is down, or no worker answered the progress query"},
    },
)
async def get_reanalysis(
    reanalysis_id: str, services: Services, tenant: TenantId
) -> ReanalysisProgress:
    """Its progress: total, done, skipped (already at the version), failed, cursor."""
    try:
        client = await services.temporal.get()
        handle = client.get_workflow_handle_for(
            ReanalysisWorkflow.run, reanalysis_workflow_id(tenant, reanalysis_id)
        )
        described = await handle.describe()
        if described.status == WorkflowExecutionStatus.COMPLETED:
            # Read from the result: no worker needs to replay a finished history.
            return (await handle.result()).progress
        progress = await handle.query(ReanalysisWorkflow.progress, rpc_timeout=_QUERY_TIMEOUT)
        if described.status != WorkflowExecutionStatus.RUNNING:
            progress = progress.model_copy(update={"status": "stopped"})
        return progress
    except TemporalUnavailableError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, detail=f"no re-analysis {reanalysis_id}"
            ) from exc
        # No worker answered the progress query in time (or Temporal failed it): the
        # re-analysis exists, its progress cannot be read now.
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"the progress of re-analysis {reanalysis_id} cannot be read now: {exc}",
        ) from exc


def _derived_id(job: ReanalysisInput) -> str:
    """The same request, the same id (a retried POST starts nothing new)."""
    digest = hashlib.sha256(job.model_dump_json(exclude={"carry"}).encode()).hexdigest()
    return f"v{job.analysis_version}-{digest[:16]}"
