"""The tenant's level-1 dictionary as the learning loop leaves it.

`tenant_dictionary` returns the pairs `centralita.correction.online.OnlineCorrector`
takes as its ``entries``: every active ``error_pair`` lexicon entry (approved from a
proposal or added by hand), then every approved block as the wrong form mapped to
itself. Later entries override earlier ones and the built-in defaults on the same key,
and the corrector records no change when a word maps to itself, so a block silences a
default pair ("salgo" -> "saldo") for this tenant without touching the defaults.
"""

from __future__ import annotations

from centralita.correction.store import active_pairs
from centralita.kernel.db import Pool
from centralita.learning.store.proposals import approved_blocks, primary


async def tenant_dictionary(pool: Pool, tenant_id: str, language: str) -> list[tuple[str, str]]:
    """The tenant's (wrong, right) pairs for level 1, blocks last.

    Args:
        pool: the database pool.
        tenant_id: whose dictionary.
        language: the call's language (``"es-CL"`` reads the ``"es"`` pairs).
    """
    lang = primary(language)
    async with pool.connection() as conn:
        pairs = await active_pairs(conn, tenant_id, lang)
        pairs += [(wrong, wrong) for wrong in await approved_blocks(conn, tenant_id, lang)]
    return pairs
