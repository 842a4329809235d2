"""The correction step: each segment of a call's transcript through the hybrid corrector.

The corrector (`centralita/correction/hybrid.py`) works on recognised words with their
probabilities; segments re-transcribed after the call carry them. Segments that come
from the live transcript (no recording, or not re-transcribed) carry none: their words
are given a middling probability, so only well-supported corrections apply to them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, Protocol

from centralita.kernel.db import Conn, Pool
from centralita.postcall import store
from centralita.postcall.transcripts import OfflineSegment

# The probability given to a word the live transcript stored without one.
UNKNOWN_PROBABILITY = 0.6


class SegmentCorrector(Protocol):
    """What the step needs of `HybridCorrector`."""

    async def correct(self, words: Sequence[Any], language: str) -> Any:
        """A `CorrectedText` for the words."""


CorrectorFactory = Callable[[Pool, str, str], Awaitable[SegmentCorrector]]
"""Builds the corrector for (pool, tenant id, language)."""


@dataclass
class CorrectionOutcome:
    """The corrected text of every segment, and the rows to store."""

    texts: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    by_level: dict[str, int] = field(default_factory=dict)


async def correct_segments(
    corrector: SegmentCorrector,
    segments: Sequence[OfflineSegment],
    language: str,
    reverted: Set[tuple[int, int]] = frozenset(),
) -> CorrectionOutcome:
    """Correct each segment; one row per correction, located by segment and word.

    A correction a reviewer reverted earlier, made again at the same (segment, first
    word), stays out of the text: its row is stored (marked reverted by the store),
    the words stay as heard.
    """
    from centralita.correction.hybrid import HeardWord, undo

    outcome = CorrectionOutcome()
    levels: Counter[str] = Counter()
    for index, segment in enumerate(segments):
        words = (
            [HeardWord(text=w.text, probability=w.probability) for w in segment.words]
            if segment.words
            else [HeardWord(text=t, probability=UNKNOWN_PROBABILITY) for t in segment.text.split()]
        )
        if not words:
            outcome.texts.append(segment.text)
            continue
        corrected = await corrector.correct(words, language)
        undone = [c for c in corrected.corrections if (index, c.word_start) in reverted]
        outcome.texts.append(undo(words, corrected, only=undone) if undone else corrected.text)
        for change in corrected.corrections:
            levels[change.level] += 1
            outcome.rows.append(
                {
                    "segment_index": index,
                    "word_start": change.word_start,
                    "word_end": change.word_end,
                    "level": change.level,
                    "score": float(change.score),
                    "before": change.before,
                    "after": change.after,
                    "probability": float(change.probability),
                }
            )
    outcome.by_level = dict(levels)
    return outcome


def render(tokens: Sequence[str], corrections: Sequence[dict[str, Any]]) -> str:
    """A segment's corrected text from its heard words and its stored corrections.

    Reverted corrections leave their words as heard; the others put `after` in place of
    words [word_start, word_end). This is what the stored data alone can rebuild.
    """
    pieces: list[str] = []
    word = 0
    for c in sorted(corrections, key=lambda c: int(c["word_start"])):
        if c.get("reverted") or int(c["word_start"]) < word:
            continue
        pieces.extend(tokens[word : int(c["word_start"])])
        pieces.append(str(c["after"]))
        word = int(c["word_end"])
    pieces.extend(tokens[word:])
    return " ".join(pieces)


async def rerender_segment(conn: Conn, call_id: str, pass_: str, segment_index: int) -> str | None:
    """Rebuild one segment of the call's corrected transcript from the stored data.

    After a reviewer reverts a correction, the corrected transcript says what was heard
    there again. Returns the segment's new text (None when the call has no such segment).
    """
    tokens = await store.heard_tokens(conn, call_id, pass_)
    segments = await store.load_transcript(conn, call_id, "corrected")
    if segments is None or not 0 <= segment_index < min(len(tokens), len(segments)):
        return None
    mine = [
        c
        for c in await store.corrections_of(conn, call_id, pass_)
        if c["segment_index"] == segment_index
    ]
    text = render(tokens[segment_index], mine)
    segments[segment_index] = {**segments[segment_index], "text": text}
    language = await store.transcript_language(conn, call_id, "corrected") or "es"
    await store.save_transcript(
        conn, call_id, "corrected", language, " ".join(s["text"] for s in segments), segments
    )
    return text
