"""A small cache of values loaded on demand and kept fresh for a while.

The media worker looks up per-tenant things at every call start (the live dictionary,
the tenant's agent). Reading Postgres each time would put a query on every call's
start; reading once would never see an edit. So each value is kept for `refresh_s`
after it was loaded, and concurrent call starts wanting the same stale key wait for one
load instead of each running their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

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
