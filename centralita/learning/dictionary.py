"""The tenant's level-1 dictionary as the learning loop leaves it.

`tenant_dictionary` returns the pairs `centralita.correction.online.OnlineCorrector`
takes as its ``entries``: every active ``error_pair`` lexicon entry (approved from a
proposal or added by hand), then every approved block as the wrong form mapped to
itself. Later entries override earlier ones and the built-in defaults on the same key,
and the corrector records no change when a word maps to itself, so a block silences a
default pair ("salgo" -> "saldo") for this tenant without touching the defaults.
"""

from __future__ import annotations

from centralita.kernel.db import Pool
from centralita.learning.store import primary


async def tenant_dictionary(pool: Pool, tenant_id: str, language: str) -> list[tuple[str, str]]:
    """The tenant's (wrong, right) pairs for level 1, blocks last.

    Args:
        pool: the database pool.
        tenant_id: whose dictionary.
        language: the call's language (``"es-CL"`` reads the ``"es"`` pairs).
    """
    lang = primary(language)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT wrong, text FROM lexicon_entries WHERE tenant_id = %s::uuid "
            "AND kind = 'error_pair' AND active AND language = %s ORDER BY id",
            (tenant_id, lang),
        )
        pairs = [(str(r["wrong"]), str(r["text"])) for r in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT wrong FROM lexicon_proposals WHERE tenant_id = %s::uuid AND kind = 'block' "
            "AND status = 'approved' AND language = %s ORDER BY id",
            (tenant_id, lang),
        )
        pairs += [(str(r["wrong"]), str(r["wrong"])) for r in await cur.fetchall()]
    return pairs
