"""The live L1 dictionary of a call: the defaults plus its tenant's approved pairs.

The post-call corrector and the learning loop put a tenant's known mistakes in the
lexicon (`lexicon_entries`, kind ``error_pair``: "salvo" -> "saldo" once a reviewer
approved it; an approved block stops a pair). The media worker applies the same pairs
as the post-call L1 (`centralita.learning.dictionary.tenant_dictionary`) live, so a
learned fix helps the very next call's turns, not only its transcript afterwards.

A call must never wait on this or fail because of it: the dictionaries are cached per
tenant and language and re-read at most every `refresh_s`, the lookup has a short
deadline, and any database trouble falls back to the default pairs, with a warning.
"""

from __future__ import annotations

import logging

from centralita.correction.online import OnlineCorrector
from centralita.kernel.db import Pool
from centralita.learning.dictionary import tenant_dictionary
from realtime.cache import TenantCache

log = logging.getLogger(__name__)

REFRESH_S = 30.0
"""How stale a tenant's dictionary may get: an approval reaches live calls within this."""
LOOKUP_TIMEOUT_S = 0.5


class TenantDictionaries:
    """Live correctors per (tenant, language), loaded from the lexicon and kept fresh.

    Args:
        pool: the database.
        refresh_s: re-read a tenant's pairs when its copy is older than this.
        timeout_s: the most a call start waits for a (re)load before using the defaults.
    """

    def __init__(
        self, pool: Pool, *, refresh_s: float = REFRESH_S, timeout_s: float = LOOKUP_TIMEOUT_S
    ) -> None:
        self._pool = pool
        self._correctors: TenantCache[str, OnlineCorrector] = TenantCache(
            pool, refresh_s=refresh_s, timeout_s=timeout_s
        )

    async def for_call(self, call_key: str, language: str) -> OnlineCorrector:
        """The corrector for the call of ``call_key`` (its tenant: `call_key_tenant`)."""
        primary = language.split("-")[0].lower()

        async def load(tenant: str) -> OnlineCorrector:
            pairs = await tenant_dictionary(self._pool, tenant, primary)
            return OnlineCorrector(pairs, language=primary)

        def defaults(exc: Exception) -> OnlineCorrector:
            log.warning("live dictionary for call %s unavailable: %s", call_key, exc)
            # Not another tenant's cached pairs: the tenant is what could not be read.
            return OnlineCorrector(language=primary)

        return await self._correctors.for_call(call_key, primary, load, fallback=defaults)
