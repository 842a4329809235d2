"""Where proposals come from. Each function is idempotent (sightings are keyed), takes a
connection, and can run from an activity, the CLI or the API.

- `scan_low_confidence`: words the recogniser was unsure of that a level-2/3 correction
  then fixed, proposed as exact dictionary pairs (level 1 is faster and also runs live);
- `propose_from_edit`: a human's edit of a corrected transcript segment, word-diffed;
- `scan_tool_misses`: lookups that found nothing, their search term proposed as a term;
- `revert_correction`: a reviewer undoes a correction; the pair is proposed as a block.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel

from centralita.kernel.db import Conn
from centralita.learning.diff import core, word_pairs
from centralita.learning.models import LOW_PROBABILITY, Candidate, TermKind
from centralita.learning.store import edits, proposals
from centralita.postcall import store as postcall_store
from centralita.postcall.correction_step import rerender_segment

# Tools whose failure to find something says the term is unknown to us.
_LOOKUP_TOOL: Final = re.compile(r"lookup|search|find|buscar|consultar", re.IGNORECASE)
# The arguments that carry what was searched for, in order of preference.
_TERM_KEYS: Final = ("name", "nombre", "product", "producto", "product_name", "query", "q", "term")
# Failures that say nothing about the term: the call itself was malformed.
_NOT_A_MISS: Final = frozenset({"invalid_arguments", "unknown_tool"})


class NotFoundError(LookupError):
    """The call, segment or correction does not exist for this tenant."""


class LearnedPair(BaseModel):
    """A pair a source proposed, and the proposal it was counted into."""

    wrong: str | None
    right: str
    proposal_id: int


class EditResult(BaseModel):
    """What a human edit of one segment taught."""

    edit_id: int
    segment_index: int
    pairs: list[LearnedPair]


class RevertResult(BaseModel):
    """A reverted correction and the block proposed from it."""

    correction_id: int
    call_id: str
    before: str
    after: str
    reverted_at: datetime
    reverted_by: str | None
    proposal_id: int


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


async def scan_low_confidence(conn: Conn, tenant_id: str, call_id: str | None = None) -> int:
    """Propose each unreverted level-2/3 correction of a low-probability word as a pair.

    Level-1 corrections are left out: their pair is already in the dictionary.

    Args:
        conn: a connection (run it inside a transaction to count all or nothing).
        tenant_id: whose calls.
        call_id: only this call's corrections (the post-call activity); default all.

    Returns:
        The number of sightings considered (each counted once, however often this runs).
    """
    candidates = []
    for r in await postcall_store.unsure_corrections(conn, tenant_id, LOW_PROBABILITY, call_id):
        wrong, right = _phrase(r["before"]), _phrase(r["after"])
        if not wrong or not right or _same(wrong, right):
            continue
        candidates.append(
            Candidate(
                kind="dictionary",
                wrong=wrong,
                right=right,
                language=r["language"] or "es",
                source="low_confidence_fixed",
                occurrence=(
                    f"correction:{r['call_id']}:{r['pass']}:{r['segment_index']}:{r['word_start']}"
                ),
                call_id=r["call_id"],
                context=r["context"],
            )
        )
    await proposals.record(conn, tenant_id, candidates)
    return len(candidates)


def _phrase(text: str) -> str:
    return " ".join(c for c in (core(t) for t in text.split()) if c)


async def _call_language(conn: Conn, tenant_id: str, call_id: str) -> str:
    language = await postcall_store.call_language(conn, tenant_id, call_id)
    if language is None:
        raise NotFoundError(f"call {call_id} not found")
    return language


async def propose_from_edit(
    conn: Conn,
    tenant_id: str,
    call_id: str,
    segment_index: int,
    edited_text: str,
    editor: str | None = None,
) -> EditResult:
    """Store a human's edit of one corrected segment; propose each changed word pair.

    Raises:
        NotFoundError: no such call, no corrected transcript, or no such segment.
    """
    language = await _call_language(conn, tenant_id, call_id)
    segments = await postcall_store.load_transcript(conn, call_id, "corrected") or []
    if not 0 <= segment_index < len(segments):
        raise NotFoundError(f"call {call_id} has no corrected segment {segment_index}")
    original = str(segments[segment_index].get("text") or "")
    edit_id = await edits.record_edit(conn, call_id, segment_index, original, edited_text, editor)
    pairs = word_pairs(original, edited_text)
    candidates = [
        Candidate(
            kind="dictionary",
            wrong=p.wrong,
            right=p.right,
            language=language,
            source="human_edit",
            occurrence=f"edit:{call_id}:{segment_index}:{p.start}",
            call_id=call_id,
            context=edited_text,
        )
        for p in pairs
    ]
    ids = await proposals.record(conn, tenant_id, candidates)
    return EditResult(
        edit_id=edit_id,
        segment_index=segment_index,
        pairs=[
            LearnedPair(wrong=p.wrong, right=p.right, proposal_id=i)
            for p, i in zip(pairs, ids, strict=True)
        ],
    )


def tool_miss_term(payload: dict[str, Any]) -> tuple[str, TermKind] | None:
    """The searched term of a lookup that found nothing, and the kind of term it is.

    A lookup found nothing when it failed (but not for malformed arguments) or returned
    an empty result: nothing, or only empty / false values (``{"verified": false}``,
    ``{"results": []}``). Terms without a letter (the digits of an id) are not lexicon
    terms and give None.
    """
    name = str(payload.get("name") or "")
    if not _LOOKUP_TOOL.search(name) or not _found_nothing(payload):
        return None
    arguments = payload.get("arguments")
    if not isinstance(arguments, dict):
        return None
    for key in _TERM_KEYS:
        value = arguments.get(key)
        if not isinstance(value, str) or not any(ch.isalpha() for ch in value):
            continue
        described = f"{name} {key}".lower()
        kind: TermKind = "domain_term"
        if "product" in described:
            kind = "product"
        elif key in ("name", "nombre") and ("customer" in described or "cliente" in described):
            kind = "person"
        return " ".join(value.split()), kind
    return None


def _empty(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, str | list | dict) and not value)


def _found_nothing(payload: dict[str, Any]) -> bool:
    result = payload.get("result")
    if payload.get("success") is False:
        return not (isinstance(result, dict) and result.get("error") in _NOT_A_MISS)
    if isinstance(result, dict):
        return all(_empty(v) for v in result.values())
    return _empty(result)


async def scan_tool_misses(conn: Conn, tenant_id: str, call_id: str | None = None) -> int:
    """Propose the search term of every lookup-like tool call that found nothing.

    Returns:
        The number of sightings considered (each counted once, however often this runs).
    """
    candidates = []
    for r in await postcall_store.tool_calls(conn, tenant_id, call_id):
        found = tool_miss_term(dict(r["payload"] or {}))
        if found is None:
            continue
        term, kind = found
        candidates.append(
            Candidate(
                kind="lexicon",
                wrong=None,
                right=term,
                language=r["language"],
                source="tool_miss",
                occurrence=f"tool:{r['call_id']}:{r['seq']}",
                call_id=r["call_id"],
                context=f"{r['payload'].get('name')}({term})",
                entry_kind=kind,
            )
        )
    await proposals.record(conn, tenant_id, candidates)
    return len(candidates)


async def revert_correction(
    conn: Conn, tenant_id: str, call_id: str, correction_id: int, reviewer: str | None
) -> RevertResult:
    """Mark a correction reverted (its before/after stay, so it can be re-applied) and
    propose blocking the pair. Reverting twice keeps the first revert.

    Raises:
        NotFoundError: no such correction in this tenant's call.
    """
    await _call_language(conn, tenant_id, call_id)
    row = await postcall_store.revert_correction(conn, call_id, correction_id, reviewer)
    if row is None:
        raise NotFoundError(f"call {call_id} has no correction {correction_id}")
    candidate = Candidate(
        kind="block",
        wrong=_phrase(row["before"]) or row["before"],
        right=_phrase(row["after"]) or row["after"],
        language=row["language"],
        source="reverted_correction",
        occurrence=f"revert:{call_id}:{row['pass']}:{row['segment_index']}:{row['word_start']}",
        call_id=call_id,
        context=row["context"],
    )
    # The corrected transcript says what was heard there again.
    await rerender_segment(conn, call_id, row["pass"], row["segment_index"])
    (proposal_id,) = await proposals.record(conn, tenant_id, [candidate])
    return RevertResult(
        correction_id=correction_id,
        call_id=call_id,
        before=row["before"],
        after=row["after"],
        reverted_at=row["reverted_at"],
        reverted_by=row["reverted_by"],
        proposal_id=proposal_id,
    )
