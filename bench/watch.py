"""What a benchmark watches while it runs: the process's memory, a heartbeat line.

Shared by the latency, SIP and memory benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import platform
import resource
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

from centralita.kernel.tasks import stop_tasks

HEARTBEAT_S = 10.0


def rss_mb() -> float:
    """This process's resident set size now (VmRSS), or its peak where /proc is missing."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if platform.system() == "Darwin" else peak / 1024


@contextlib.asynccontextmanager
async def running(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run `work` in the background while the block runs; cancel it after."""
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        await stop_tasks((task,), what="background work")


@contextlib.asynccontextmanager
async def heartbeat(
    label: str | Callable[[], str], every_s: float = HEARTBEAT_S
) -> AsyncIterator[None]:
    """Print `label` with the elapsed time and RSS every `every_s` while the block runs."""
    started = time.perf_counter()

    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            elapsed = time.perf_counter() - started
            text = label if isinstance(label, str) else label()
            print(f"    ... {elapsed:.0f} s, RSS {rss_mb():.0f} MB, {text}", flush=True)

    async with running(beat()):
        yield


@contextlib.asynccontextmanager
async def peak_rss(peak: list[float], every_s: float = 0.5) -> AsyncIterator[None]:
    """Keep the highest RSS seen while the block runs in `peak[0]`."""

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], rss_mb())
            await asyncio.sleep(every_s)

    async with running(sample()):
        yield
    peak[0] = max(peak[0], rss_mb())
