"""The post-call pipeline's inputs and results: one model per workflow and activity.

Activities pass call ids and small summaries, never transcripts or audio: each step
reads what it needs from Postgres, so the workflow's history stays small and a step
retried after a crash reads the state the previous steps left.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

RetranscribePolicy = Literal["always", "low_confidence", "never"]


class PostCallInput(BaseModel):
    """Which call to process, and how."""

    call_key: str = Field(description="The attempt key (outbound) or inbound call id")
    retranscribe: RetranscribePolicy | None = Field(
        default=None, description="None: the post-call worker's setting"
    )
    # Below this mean word probability of the online transcript, "low_confidence"
    # re-transcribes.
    low_confidence_below: float = Field(default=0.75, ge=0.0, le=1.0)
    analysis_version: int | None = Field(
        default=None, ge=1, description="None: the post-call worker's current version"
    )


class CallRef(BaseModel):
    """A stored call the pipeline works on."""

    call_id: str
    tenant_id: str
    call_key: str
    language: str
    has_recording: bool
    analysis_version: int = Field(default=1, ge=1, description="What this run stores")


class StepInput(BaseModel):
    """One step over one call (the steps read the rest from the database)."""

    call: CallRef
    options: PostCallInput


class Retranscribed(BaseModel):
    """What the re-transcription stored (`transcripts`, kind 'offline')."""

    source: Literal["offline", "online"]  # online: not re-transcribed (policy or no audio)
    segments: int
    words: int
    mean_probability: float | None = None


class Corrected(BaseModel):
    """What the correction stored (`call_corrections`, `transcripts` kind 'corrected')."""

    corrections: int
    by_level: dict[str, int] = Field(default_factory=dict)


class Analysed(BaseModel):
    """What the analysis stored (`call_analyses`), in brief."""

    intent: str
    success: bool | None
    quality: float
    extracted: dict[str, str] = Field(default_factory=dict)


class PostCallResult(BaseModel):
    """The whole pipeline's result for one call."""

    call_id: str
    retranscribed: Retranscribed
    corrected: Corrected
    analysed: Analysed
    proposals: int = Field(default=0, description="New learning sightings from this call")
    event_id: str
