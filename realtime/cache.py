"""Per-tenant values a call start needs, looked up for the call's tenant and kept fresh.

The media worker looks up per-tenant things at every call start (the live dictionary,
`realtime.session.tenant_dictionary`; the tenant's agent, `realtime.store.agent_lookup`).
Both go through `TenantCache`: the call's tenant comes from the data (`call_key_tenant`),
then the value for that tenant from `FreshCache`. Reading Postgres for the value each
time would put a query on every call's start; reading once would never see an edit. So
each value is kept for `refresh_s` after it was loaded, and concurrent call starts
wanting the same stale key wait for one load instead of each running their own. A call
must never wait long on this nor fail because of it: the whole lookup has a deadline,
and whatever goes wrong gives the caller's fallback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from centralita.kernel.db import Pool
from centralita.tenants.store.call_owners import call_key_tenant

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class _Entry(Generic[V]):
    value: V
    loaded_at: float


class FreshCache(Generic[K, V]):
    """Values by key, each reloaded once it is older than `refresh_s` seconds."""

    def __init__(self, refresh_s: float) -> None:
        self._refresh_s = refresh_s
        self._entries: dict[K, _Entry[V]] = {}
        self._locks: dict[K, asyncio.Lock] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The value of `key`: the kept one while fresh, else `load()`'s (one at a time)."""
        if (entry := self._fresh(key)) is not None:
            return entry.value
        async with self._locks.setdefault(key, asyncio.Lock()):
            if (entry := self._fresh(key)) is not None:  # loaded meanwhile by another call
                return entry.value
            value = await load()
            self._entries[key] = _Entry(value, time.monotonic())
            return value

    def _fresh(self, key: K) -> _Entry[V] | None:
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry.loaded_at < self._refresh_s:
            return entry
        return None


class TenantCache(Generic[K, V]):
    """Values per (tenant, key) for the tenant of a call: kept fresh, never holding it up.

    Args:
        pool: the database (the call's tenant, and what `load` reads).
        refresh_s: reload a tenant's value once its copy is older than this.
        timeout_s: the most a call start waits for the lookup before its fallback.
    """

    def __init__(self, pool: Pool, *, refresh_s: float, timeout_s: float) -> None:
        self._pool = pool
        self._timeout_s = timeout_s
        self._values: FreshCache[tuple[str, K], V] = FreshCache(refresh_s)

    async def for_call(
        self,
        call_key: str,
        key: K,
        load: Callable[[str], Awaitable[V]],
        *,
        fallback: Callable[[Exception], V],
    ) -> V:
        """The value of `key` for the tenant of call `call_key`.

        Args:
            call_key: the call whose tenant's value is wanted.
            key: which of the tenant's values (an agent's name, a language).
            load: reads the value for a tenant id (when no fresh copy is kept).
            fallback: the value when the lookup failed or ran past `timeout_s`; told why
                (the caller logs it: its own words, its own logger).
        """
        try:
            return await asyncio.wait_for(self._lookup(call_key, key, load), self._timeout_s)
        except Exception as exc:  # a slow or broken database (or row) must not fail a call
            return fallback(exc)

    async def _lookup(self, call_key: str, key: K, load: Callable[[str], Awaitable[V]]) -> V:
        async with self._pool.connection() as conn:
            tenant = await call_key_tenant(conn, call_key)
        return await self._values.get((tenant, key), lambda: load(tenant))
