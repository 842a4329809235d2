"""A reviewer's decisions. Nothing a source proposes is active until it is approved here.

Approving:
- a ``dictionary`` proposal writes an ``error_pair`` lexicon entry (source 'approved'):
  level 2 finds it at once, and `dictionary.tenant_dictionary` hands it to level 1;
- a ``lexicon`` proposal writes a term of its ``entry_kind`` (levels 2 and 3);
- a ``block`` proposal (a correction reviewers undid) switches off the tenant's error
  pairs that make that correction, and `tenant_dictionary` maps the wrong form to itself
  so a built-in default pair stops making it too. We chose blocking over lowering a
  confidence: a reviewed "this was right as heard" is a fact, not a weight.

The lexicon write is an idempotent upsert made before the proposal is marked, so an
approval cut short is completed by approving again.
"""

from __future__ import annotations

from psycopg import errors

from centralita.correction import store as lexicon_store
from centralita.correction.lexicon import LexiconEntry
from centralita.kernel.db import Conn, Pool
from centralita.learning.models import Proposal, ProposalEdit
from centralita.learning.store import proposals


class ProposalNotFoundError(LookupError):
    """No such proposal for this tenant."""


class ReviewConflictError(RuntimeError):
    """The proposal's status (or another proposal) does not allow this."""


def entry_for(proposal: Proposal) -> LexiconEntry | None:
    """The lexicon entry approving ``proposal`` activates (None for a block).

    Raises:
        ValueError: the proposal cannot be an entry (same wrong and right; no letters).
    """
    if proposal.kind == "block":
        return None
    if proposal.kind == "dictionary":
        wrong = proposal.wrong or ""
        if wrong.casefold() == proposal.right.casefold():
            raise ValueError("a dictionary pair needs a wrong form other than its right one")
        return LexiconEntry(
            kind="error_pair",
            text=proposal.right,
            wrong=wrong,
            language=proposal.language,
            source="approved",
        )
    kind = "domain_term" if proposal.entry_kind == "error_pair" else proposal.entry_kind
    return LexiconEntry(
        kind=kind, text=proposal.right, language=proposal.language, source="approved"
    )


async def _entry_id(conn: Conn, tenant_id: str, entry: LexiconEntry) -> int | None:
    row = await lexicon_store.form_row(conn, tenant_id, entry.forms()[0])
    return None if row is None else int(row["id"])


async def _locked(conn: Conn, tenant_id: str, proposal_id: int) -> Proposal:
    found = await proposals.get(conn, tenant_id, proposal_id, lock=True)
    if found is None:
        raise ProposalNotFoundError(f"proposal {proposal_id} not found")
    return found


async def approve(pool: Pool, tenant_id: str, proposal_id: int, reviewer: str | None) -> Proposal:
    """Approve a pending proposal and make its entry active (approving twice is a no-op).

    Raises:
        ProposalNotFoundError: no such proposal.
        ReviewConflictError: it was rejected.
        ValueError: it cannot become a lexicon entry as it stands (edit it first).
    """
    async with pool.connection() as conn:
        current = await proposals.get(conn, tenant_id, proposal_id)
    if current is None:
        raise ProposalNotFoundError(f"proposal {proposal_id} not found")
    if current.status == "approved":
        return current
    if current.status == "rejected":  # checked before anything is written
        raise ReviewConflictError(f"proposal {proposal_id} was rejected")
    entry = entry_for(current)
    if entry is not None:
        await lexicon_store.upsert_entries(pool, tenant_id, [entry])
    async with pool.connection() as conn, conn.transaction():
        proposal = await _locked(conn, tenant_id, proposal_id)
        if proposal.status == "rejected":
            raise ReviewConflictError(f"proposal {proposal_id} was rejected")
        if (proposal.kind, proposal.wrong, proposal.right) != (
            current.kind,
            current.wrong,
            current.right,
        ):
            raise ReviewConflictError(f"proposal {proposal_id} was edited meanwhile; retry")
        entry_id = None if entry is None else await _entry_id(conn, tenant_id, entry)
        if proposal.kind == "block":
            await lexicon_store.deactivate_pairs(
                conn, tenant_id, proposal.wrong, proposal.right, proposal.language
            )
        await proposals.mark_approved(conn, proposal_id, reviewer, entry_id)
        return await _locked(conn, tenant_id, proposal_id)


async def reject(pool: Pool, tenant_id: str, proposal_id: int, reviewer: str | None) -> Proposal:
    """Reject a pending proposal (rejecting twice is a no-op).

    Raises:
        ProposalNotFoundError: no such proposal.
        ReviewConflictError: it was approved (deactivate its entry with DELETE /lexicon/{id}).
    """
    async with pool.connection() as conn, conn.transaction():
        proposal = await _locked(conn, tenant_id, proposal_id)
        if proposal.status == "approved":
            raise ReviewConflictError(f"proposal {proposal_id} is approved")
        await proposals.mark_rejected(conn, proposal_id, reviewer)
        return await _locked(conn, tenant_id, proposal_id)


async def edit(pool: Pool, tenant_id: str, proposal_id: int, change: ProposalEdit) -> Proposal:
    """Change a pending proposal's kind, term kind, wrong or right before deciding on it.

    Raises:
        ProposalNotFoundError: no such proposal.
        ReviewConflictError: it was decided already, or the edit makes it the same as
            another proposal (decide on that one instead).
        ValueError: a dictionary pair or block left without its wrong form.
    """
    async with pool.connection() as conn, conn.transaction():
        proposal = await _locked(conn, tenant_id, proposal_id)
        if proposal.status != "pending":
            raise ReviewConflictError(f"proposal {proposal_id} is {proposal.status}")
        kind = change.kind or proposal.kind
        wrong = change.wrong if change.wrong is not None else proposal.wrong
        right = " ".join((change.right or proposal.right).split())
        if kind != "lexicon" and not (wrong and wrong.strip()):
            raise ValueError(f"a {kind} proposal needs its wrong form")
        if not right:
            raise ValueError("right may not be blank")
        try:
            async with conn.transaction():
                await proposals.update_terms(
                    conn,
                    proposal_id,
                    kind=kind,
                    entry_kind=change.entry_kind or proposal.entry_kind,
                    wrong=wrong,
                    right=right,
                )
        except errors.UniqueViolation as exc:
            raise ReviewConflictError("another proposal already says the same") from exc
        return await _locked(conn, tenant_id, proposal_id)
