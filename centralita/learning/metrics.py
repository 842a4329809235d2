"""How the learning loop is doing: learned per week, still failing, precision.

- Learned per week: approved proposals by the ISO week (UTC) of their approval.
- Still failing: pending proposals sighted again in calls that started after the
  proposal was made (the mistake goes on while nobody decides), and approved dictionary
  pairs whose wrong form is still in a corrected transcript written after the approval
  (the entry does not catch it).
- Precision of an active entry (an approved dictionary pair or term whose lexicon row
  is still active): of the corrections made since its approval that produced its text
  (and, for a pair, from its wrong form), the share reviewers did not revert. A
  correction does not name the entry behind it, so it is credited by its before/after.

Forms are compared as words without case or edge punctuation, in Python: Postgres's
word classes depend on the database locale, and accented letters must count as letters.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel

from centralita.kernel.db import Conn
from centralita.learning.diff import core
from centralita.learning.models import ProposalKind
from centralita.learning.store import metrics as metrics_store


class WeekCount(BaseModel):
    """Proposals approved in one ISO week."""

    week: str  # "2025-W10"
    approved: int
    by_kind: dict[str, int]


class FailingProposal(BaseModel):
    """A pending proposal still sighted after it was made."""

    proposal_id: int
    kind: ProposalKind
    wrong: str | None
    right: str
    sightings: int
    calls: int


class FailingEntry(BaseModel):
    """An approved pair whose wrong form is still in corrected transcripts."""

    proposal_id: int
    wrong: str
    right: str
    calls: int


class EntryPrecision(BaseModel):
    """The corrections an active entry made and how many were kept."""

    proposal_id: int
    lexicon_entry_id: int
    kind: ProposalKind
    wrong: str | None
    right: str
    corrections: int
    kept: int
    precision: float | None


class LearningMetrics(BaseModel):
    """`GET /learning/metrics`."""

    learned_per_week: list[WeekCount]
    still_failing_pending: list[FailingProposal]
    still_failing_approved: list[FailingEntry]
    precision: list[EntryPrecision]
    overall_precision: float | None


def words(text: str) -> tuple[str, ...]:
    """The text as words without case or edge punctuation."""
    return tuple(c for c in (core(t).casefold() for t in text.split()) if c)


def contains(text: str, phrase: str) -> bool:
    """Whether ``phrase`` stands in ``text`` as whole words (case and punctuation aside)."""
    hay, needle = words(text), words(phrase)
    n = len(needle)
    return n > 0 and any(hay[i : i + n] == needle for i in range(len(hay) - n + 1))


async def learned_per_week(conn: Conn, tenant_id: str) -> list[WeekCount]:
    """Approved proposals per ISO week of approval, oldest week first."""
    weeks: dict[str, dict[str, int]] = defaultdict(dict)
    for r in await metrics_store.approved_per_week(conn, tenant_id):
        weeks[r["week"]][r["kind"]] = int(r["n"])
    return [
        WeekCount(week=w, approved=sum(kinds.values()), by_kind=kinds) for w, kinds in weeks.items()
    ]


async def still_failing_pending(conn: Conn, tenant_id: str) -> list[FailingProposal]:
    """Pending proposals sighted in calls that started after the proposal was made."""
    return [
        FailingProposal(
            proposal_id=r["id"],
            kind=r["kind"],
            wrong=r["wrong"],
            right=r["right"],
            sightings=r["sightings"],
            calls=r["calls"],
        )
        for r in await metrics_store.pending_sighted_since(conn, tenant_id)
    ]


async def still_failing_approved(conn: Conn, tenant_id: str) -> list[FailingEntry]:
    """Approved pairs whose wrong form is in corrected transcripts written since approval."""
    # The store narrows the transcripts in SQL; `contains` decides on words.
    calls: dict[int, set[str]] = defaultdict(set)
    pairs: dict[int, tuple[str, str]] = {}
    for r in await metrics_store.approved_pairs_in_transcripts(conn, tenant_id):
        if contains(r["text"], r["wrong"]):
            calls[r["id"]].add(r["call_id"])
            pairs[r["id"]] = (r["wrong"], r["right"])
    return [
        FailingEntry(proposal_id=i, wrong=pairs[i][0], right=pairs[i][1], calls=len(calls[i]))
        for i in sorted(calls)
    ]


async def precision(conn: Conn, tenant_id: str) -> list[EntryPrecision]:
    """For each active approved entry: corrections credited to it, and how many were kept."""
    out: dict[int, EntryPrecision] = {}
    for r in await metrics_store.active_entries_corrections(conn, tenant_id):
        entry = out.setdefault(
            r["id"],
            EntryPrecision(
                proposal_id=r["id"],
                lexicon_entry_id=r["lexicon_entry_id"],
                kind=r["kind"],
                wrong=r["wrong"],
                right=r["right"],
                corrections=0,
                kept=0,
                precision=None,
            ),
        )
        if r["after"] is None or words(r["after"]) != words(r["right"]):
            continue
        if r["kind"] == "dictionary" and words(r["before"]) != words(r["wrong"] or ""):
            continue
        entry.corrections += 1
        entry.kept += 0 if r["reverted"] else 1
    for entry in out.values():
        entry.precision = entry.kept / entry.corrections if entry.corrections else None
    return list(out.values())


async def learning_metrics(conn: Conn, tenant_id: str) -> LearningMetrics:
    """All the learning metrics of a tenant."""
    entries = await precision(conn, tenant_id)
    total = sum(e.corrections for e in entries)
    return LearningMetrics(
        learned_per_week=await learned_per_week(conn, tenant_id),
        still_failing_pending=await still_failing_pending(conn, tenant_id),
        still_failing_approved=await still_failing_approved(conn, tenant_id),
        precision=entries,
        overall_precision=sum(e.kept for e in entries) / total if total else None,
    )
