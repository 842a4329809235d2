"""The reviewed learning loop: proposals and their review, what teaches it (human
transcript edits, reverted corrections, scans), and its metrics."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from api.auth import TenantId
from api.deps import Services
from api.limits import PageOffset
from centralita.learning import metrics, review, sources
from centralita.learning.models import (
    Proposal,
    ProposalEdit,
    ProposalKind,
    ProposalPage,
    ProposalSource,
    ProposalStatus,
)
from centralita.learning.store import proposals

router = APIRouter(tags=["learning"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such proposal"}}
_DECIDED: dict[int | str, dict[str, Any]] = {
    409: {"description": "already decided the other way, or a duplicate"}
}


class Review(BaseModel):
    """Who decides (optional until API keys name the user)."""

    reviewer: str | None = Field(default=None, max_length=200)


class TranscriptEdit(BaseModel):
    """A human's text for one segment of a call's corrected transcript."""

    segment_index: int = Field(ge=0)
    text: str = Field(min_length=1, max_length=10_000)
    editor: str | None = Field(default=None, max_length=200)


class ScanResult(BaseModel):
    """Sightings each scan considered (each counted once, however often scans run)."""

    low_confidence_fixed: int
    tool_miss: int


async def _decide(
    services: Services, tenant: str, proposal_id: int, action: str, reviewer: str | None
) -> Proposal:
    decide = review.approve if action == "approve" else review.reject
    try:
        return await decide(services.pool, tenant, proposal_id, reviewer)
    except review.ProposalNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except review.ReviewConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc


@router.get("/learning/proposals", response_model=ProposalPage)
async def list_proposals(
    services: Services,
    tenant: TenantId,
    status_: Annotated[ProposalStatus | None, Query(alias="status")] = None,
    source: ProposalSource | None = None,
    kind: ProposalKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: PageOffset = 0,
) -> ProposalPage:
    """Proposals, most sighted first, with their evidence (occurrences, calls, examples)."""
    async with services.pool.connection() as conn:
        return await proposals.page(
            conn,
            tenant,
            status=status_,
            source=source,
            kind=kind,
            limit=limit,
            offset=offset,
        )


@router.post("/learning/proposals/{proposal_id}/approve", responses={**_NOT_FOUND, **_DECIDED})
async def approve_proposal(
    proposal_id: int, services: Services, tenant: TenantId, body: Review | None = None
) -> Proposal:
    """Approve: the entry becomes active (a pair, a term, or a block of a correction)."""
    reviewer = body.reviewer if body else None
    return await _decide(services, tenant, proposal_id, "approve", reviewer)


@router.post("/learning/proposals/{proposal_id}/reject", responses={**_NOT_FOUND, **_DECIDED})
async def reject_proposal(
    proposal_id: int, services: Services, tenant: TenantId, body: Review | None = None
) -> Proposal:
    """Reject: nothing becomes active; new sightings are still counted."""
    reviewer = body.reviewer if body else None
    return await _decide(services, tenant, proposal_id, "reject", reviewer)


@router.patch("/learning/proposals/{proposal_id}", responses={**_NOT_FOUND, **_DECIDED})
async def edit_proposal(
    proposal_id: int, change: ProposalEdit, services: Services, tenant: TenantId
) -> Proposal:
    """Edit a pending proposal's kind, term kind, wrong or right before deciding on it."""
    try:
        return await review.edit(services.pool, tenant, proposal_id, change)
    except review.ProposalNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except review.ReviewConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc


@router.post("/learning/scan")
async def scan(services: Services, tenant: TenantId) -> ScanResult:
    """Look through stored calls for low-confidence words corrections fixed and for
    lookups that found nothing; count them into proposals (idempotent)."""
    async with services.pool.connection() as conn, conn.transaction():
        low = await sources.scan_low_confidence(conn, tenant)
        misses = await sources.scan_tool_misses(conn, tenant)
    return ScanResult(low_confidence_fixed=low, tool_miss=misses)


@router.get("/learning/metrics")
async def learning_metrics(services: Services, tenant: TenantId) -> metrics.LearningMetrics:
    """Learned per ISO week, what still fails, and the precision of active entries."""
    async with services.pool.connection() as conn:
        return await metrics.learning_metrics(conn, tenant)


@router.post(
    "/calls/{call_id}/transcript-edits",
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "no such call or corrected segment"}},
)
async def edit_transcript(
    call_id: uuid.UUID, edit: TranscriptEdit, services: Services, tenant: TenantId
) -> sources.EditResult:
    """Store a human's edit of a corrected segment; each changed word pair is proposed."""
    try:
        async with services.pool.connection() as conn, conn.transaction():
            return await sources.propose_from_edit(
                conn, tenant, str(call_id), edit.segment_index, edit.text, edit.editor
            )
    except sources.NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc


@router.post(
    "/calls/{call_id}/corrections/{correction_id}/revert",
    responses={404: {"description": "no such correction in this call"}},
)
async def revert_correction(
    call_id: uuid.UUID,
    correction_id: int,
    services: Services,
    tenant: TenantId,
    body: Review | None = None,
) -> sources.RevertResult:
    """Mark a correction reverted (its before/after stay stored) and propose blocking it."""
    try:
        async with services.pool.connection() as conn, conn.transaction():
            return await sources.revert_correction(
                conn,
                tenant,
                str(call_id),
                correction_id,
                body.reviewer if body else None,
            )
    except sources.NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
