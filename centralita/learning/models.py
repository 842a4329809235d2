"""What the learning loop reads and writes: proposals, their evidence, reviews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ProposalKind = Literal["dictionary", "lexicon", "block"]
ProposalSource = Literal["low_confidence_fixed", "human_edit", "tool_miss", "reverted_correction"]
ProposalStatus = Literal["pending", "approved", "rejected"]
TermKind = Literal["person", "company", "product", "place", "domain_term", "error_pair"]

# A recognised word below this probability was a guess; the hybrid corrector's
# `CorrectionSettings.confident_probability` draws the same line.
LOW_PROBABILITY = 0.85


@dataclass(frozen=True)
class Candidate:
    """A proposal as a source finds it, before it is counted into the table."""

    kind: ProposalKind
    wrong: str | None
    right: str
    language: str
    source: ProposalSource
    occurrence: str  # unique per sighting: the same sighting found again counts once
    call_id: str | None
    context: str | None = None
    entry_kind: TermKind = "domain_term"


class Evidence(BaseModel):
    """Why a proposal exists: how often, in which calls, an example."""

    occurrences: int
    calls: list[str]
    examples: list[str] = Field(description="Up to three contexts it was seen in")


class Proposal(BaseModel):
    """A proposal as the review API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: ProposalKind
    entry_kind: TermKind
    wrong: str | None
    right: str
    language: str
    source: ProposalSource
    status: ProposalStatus
    reviewer: str | None
    reviewed_at: datetime | None
    lexicon_entry_id: int | None
    created_at: datetime
    evidence: Evidence


class ProposalEdit(BaseModel):
    """A reviewer's edit of a pending proposal (fields left out keep their value)."""

    model_config = ConfigDict(extra="forbid")

    kind: ProposalKind | None = None
    entry_kind: TermKind | None = None
    wrong: str | None = Field(default=None, min_length=1, max_length=200)
    right: str | None = Field(default=None, min_length=1, max_length=200)


class ProposalPage(BaseModel):
    """One page of proposals and how many match in all."""

    total: int
    items: list[Proposal]
