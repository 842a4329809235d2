"""The correction step: each segment of a call's transcript through the hybrid corrector.

The corrector (`centralita/correction/hybrid.py`) works on recognised words with their
probabilities; segments re-transcribed after the call carry them. Segments that come
from the live transcript (no recording, or not re-transcribed) carry none: their words
are given a middling probability, so only well-supported corrections apply to them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from centralita.db import Pool
from centralita.postcall.retranscription import OfflineSegment

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
    corrector: SegmentCorrector, segments: Sequence[OfflineSegment], language: str
) -> CorrectionOutcome:
    """Correct each segment; one row per correction, located by segment and word."""
    from centralita.correction.hybrid import HeardWord

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
        outcome.texts.append(corrected.text)
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


async def tenant_corrector(pool: Pool, tenant_id: str, language: str) -> SegmentCorrector:
    """The hybrid corrector over the tenant's lexicon (pgvector) and its L1 dictionary.

    Imported here rather than at module level: the correction package loads its
    vectors and word lists, which a worker that never corrects should not pay for.
    """
    from centralita.correction.hybrid import HybridCorrector
    from centralita.correction.store import PgLexicon
    from centralita.learning.dictionary import tenant_dictionary
    from realtime.providers.correction import OnlineCorrector

    # The defaults, plus the error pairs reviewers approved, minus the ones they blocked.
    pairs = await tenant_dictionary(pool, tenant_id, language)
    dictionary = OnlineCorrector(pairs, language=language)
    corrector: SegmentCorrector = HybridCorrector(PgLexicon(pool, tenant_id), dictionary)
    return corrector
