"""The call-start cache: one load for concurrent starts, a reload once stale."""

from __future__ import annotations

import asyncio

import pytest

from realtime.cache import FreshCache

pytestmark = pytest.mark.unit


async def test_concurrent_gets_of_a_missing_key_load_it_once() -> None:
    loads = 0

    async def load() -> str:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return f"value-{loads}"

    cache: FreshCache[str, str] = FreshCache(refresh_s=60)
    values = await asyncio.gather(*(cache.get("tenant", load) for _ in range(10)))
    assert values == ["value-1"] * 10
    assert loads == 1
    assert await cache.get("other", load) == "value-2"  # keys are separate


async def test_a_stale_value_is_reloaded_and_a_failed_load_keeps_nothing() -> None:
    answers = iter(["old", "new"])

    async def load() -> str:
        return next(answers)

    async def broken() -> str:
        raise RuntimeError("database down")

    stale: FreshCache[str, str] = FreshCache(refresh_s=0)
    assert await stale.get("k", load) == "old"
    assert await stale.get("k", load) == "new"
    with pytest.raises(RuntimeError):
        await stale.get("gone", broken)
    assert await stale.get("gone", lambda: asyncio.sleep(0, result="back")) == "back"
