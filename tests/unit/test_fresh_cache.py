"""The call-start cache: one load for concurrent starts, a reload once stale, and the
per-tenant lookup both tenant caches (agents, live dictionaries) share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

import realtime.cache
from centralita.kernel.db import Pool
from realtime.cache import FreshCache, TenantCache

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


class _Pool:
    """Hands out connections (stand-ins: `call_key_tenant` is replaced), or none when down."""

    def __init__(self, *, down: bool = False) -> None:
        self.down = down

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[str]:
        if self.down:
            raise OSError("connection refused")
        yield "conn"


@pytest.fixture
def tenants(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Call key -> tenant, as `call_key_tenant` reads it from the data."""
    owners: dict[str, str] = {}

    async def call_key_tenant(conn: Any, call_key: str) -> str:
        await asyncio.sleep(0)
        return owners[call_key]

    monkeypatch.setattr(realtime.cache, "call_key_tenant", call_key_tenant)
    return owners


def _cache(pool: _Pool, *, refresh_s: float = 60, timeout_s: float = 1) -> TenantCache[str, str]:
    return TenantCache(cast(Pool, pool), refresh_s=refresh_s, timeout_s=timeout_s)


def _unexpected(exc: Exception) -> str:
    raise AssertionError(f"fell back: {exc!r}")


async def test_each_call_gets_its_tenants_value_loaded_once_per_tenant(
    tenants: dict[str, str],
) -> None:
    tenants.update({"call-1": "acme", "call-2": "acme", "call-3": "globex"})
    loads: list[tuple[str, str]] = []

    def load_for(key: str) -> Any:
        async def load(tenant: str) -> str:
            loads.append((tenant, key))
            return f"{tenant}'s {key}"

        return load

    cache = _cache(_Pool())
    got = [
        await cache.for_call(call, "es", load_for("es"), fallback=_unexpected)
        for call in ("call-1", "call-2", "call-3")
    ]
    assert got == ["acme's es", "acme's es", "globex's es"]
    assert await cache.for_call("call-1", "en", load_for("en"), fallback=_unexpected) == "acme's en"
    assert loads == [("acme", "es"), ("globex", "es"), ("acme", "en")]


async def test_a_slow_or_broken_lookup_gives_the_fallback_and_keeps_nothing(
    tenants: dict[str, str],
) -> None:
    tenants["call-1"] = "acme"
    reasons: list[Exception] = []

    def fallback(exc: Exception) -> str:
        reasons.append(exc)
        return "defaults"

    async def slow(tenant: str) -> str:
        await asyncio.sleep(10)
        return "late"

    async def broken(tenant: str) -> str:
        raise RuntimeError("bad row")

    async def fine(tenant: str) -> str:
        return "fine"

    cache = _cache(_Pool(), timeout_s=0.05)
    assert await cache.for_call("call-1", "es", slow, fallback=fallback) == "defaults"
    assert await cache.for_call("call-1", "es", broken, fallback=fallback) == "defaults"
    assert await _cache(_Pool(down=True)).for_call("call-1", "es", fine, fallback=fallback) == (
        "defaults"
    )
    assert await cache.for_call("call-unknown", "es", fine, fallback=fallback) == "defaults"
    assert [type(r) for r in reasons] == [TimeoutError, RuntimeError, OSError, KeyError]
    assert await cache.for_call("call-1", "es", fine, fallback=_unexpected) == "fine"
