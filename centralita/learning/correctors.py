"""The post-call corrector of a tenant: its lexicon (pgvector) and its reviewed dictionary.

Here rather than in `centralita.postcall`: what the tenant's reviewers approved or blocked
(`dictionary`) is learning's, and post-call only applies the corrector it is given.
"""

from __future__ import annotations

from centralita.kernel.db import Pool
from centralita.postcall.correction_step import SegmentCorrector


async def tenant_corrector(pool: Pool, tenant_id: str, language: str) -> SegmentCorrector:
    """The hybrid corrector over the tenant's lexicon (pgvector) and its L1 dictionary.

    Imported here rather than at module level: the correction package loads its
    vectors and word lists, which a worker that never corrects should not pay for.
    """
    from centralita.correction.hybrid import HybridCorrector
    from centralita.correction.online import OnlineCorrector
    from centralita.correction.store import PgLexicon
    from centralita.learning.dictionary import tenant_dictionary

    # The defaults, plus the error pairs reviewers approved, minus the ones they blocked.
    pairs = await tenant_dictionary(pool, tenant_id, language)
    dictionary = OnlineCorrector(pairs, language=language)
    corrector: SegmentCorrector = HybridCorrector(PgLexicon(pool, tenant_id), dictionary)
    return corrector
