"""A call's offline transcript: the caller's utterances re-heard from the recording."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OfflineWord(BaseModel):
    """A recognised word on the call's clock (seconds from the recording's start)."""

    text: str
    start: float
    end: float
    probability: float = Field(ge=0.0, le=1.0)


class OfflineSegment(BaseModel):
    """One caller utterance, re-transcribed."""

    start: float
    end: float
    text: str
    words: list[OfflineWord] = Field(default_factory=list)
