"""Bulk re-analysis: its input, progress, result and the page activity's models.

The workflow carries only call keys and counters: each call's post-call steps read and
write everything else in Postgres, so a page of 50 calls stays a few kilobytes of
history however long the calls were.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from centralita.postcall.messages import RetranscribePolicy

# "stopped": cancelled, terminated or failed (the API says so; the workflow never does).
ReanalysisStatus = Literal["running", "completed", "stopped"]


class ReanalysisFilter(BaseModel):
    """Which stored calls to re-analyse; None means "any"."""

    tenant_id: str
    campaign_id: str | None = None
    started_from: datetime | None = Field(default=None, description="Inclusive")
    started_before: datetime | None = Field(default=None, description="Exclusive")
    intent: str | None = Field(
        default=None, description="Only calls whose current analysis has this intent"
    )

    @model_validator(mode="after")
    def _ordered_bounds(self) -> ReanalysisFilter:
        if (
            self.started_from is not None
            and self.started_before is not None
            and self.started_from >= self.started_before
        ):
            raise ValueError("started_from must be before started_before")
        return self


class CallCursor(BaseModel):
    """Where a page ended: calls are read in (started_at, id) order, after this one."""

    started_at: datetime
    call_id: str


class ReanalysisCarry(BaseModel):
    """What one run hands the next when it continues as new."""

    cursor: CallCursor | None
    total: int
    done: int
    skipped: int
    failed: int
    failed_calls: list[str] = Field(default_factory=list)
    runs: int


class ReanalysisInput(BaseModel):
    """A bulk re-analysis: which calls, how, and the analysis version they end at."""

    filter: ReanalysisFilter
    analysis_version: int = Field(ge=1, description="Calls already at it (or later) are skipped")
    # Re-analysis re-runs correction and analysis over the stored transcripts: a new
    # lexicon or extraction needs no new Whisper pass, which is minutes per call.
    retranscribe: RetranscribePolicy = "never"
    page_size: int = Field(default=50, ge=1, le=500)
    concurrency: int = Field(default=4, ge=1, le=50)
    # Continue as new (at a page boundary, with nothing in flight) past this many
    # history events; each call costs the parent about four.
    max_history_events: int = Field(default=2_000, ge=1)
    carry: ReanalysisCarry | None = None


class PageRequest(BaseModel):
    """The page of calls after `cursor` (the page activity's input)."""

    filter: ReanalysisFilter
    cursor: CallCursor | None = None
    limit: int = Field(ge=1, le=500)


class PagedCall(BaseModel):
    """A call of a page, with the analysis version it is at now (None: never analysed)."""

    call_id: str
    call_key: str
    started_at: datetime
    version: int | None


class CallPage(BaseModel):
    """Up to `limit` calls in (started_at, id) order; `next_cursor` None after the last."""

    calls: list[PagedCall]
    next_cursor: CallCursor | None


class ReanalysisProgress(BaseModel):
    """Where a re-analysis stands (the `progress` query and `GET /reanalyses/{id}`).

    `total` is counted when the re-analysis starts; `done` calls were re-analysed by it,
    `skipped` ones already were at its version (a restart skips what its earlier run did),
    `failed` ones failed their post-call workflow (the first few keys are listed).
    """

    reanalysis_id: str
    status: ReanalysisStatus
    analysis_version: int
    total: int
    done: int
    skipped: int
    failed: int
    failed_calls: list[str]
    cursor: CallCursor | None
    runs: int


class ReanalysisResult(BaseModel):
    """The finished re-analysis: its final progress."""

    progress: ReanalysisProgress
