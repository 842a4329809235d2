"""Stopping helper tasks: one's own cancellation is never swallowed, stuck tasks never hold."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from centralita.kernel.tasks import cancelling_me, stop_tasks

pytestmark = pytest.mark.unit


async def _forever() -> None:
    await asyncio.Event().wait()


async def _ignores_cancellation(release: asyncio.Event) -> None:
    while not release.is_set():
        with contextlib.suppress(asyncio.CancelledError):
            await release.wait()


async def test_stopping_a_task_cancels_it_and_reports_it_stopped() -> None:
    task = asyncio.create_task(_forever())
    await asyncio.sleep(0)
    assert await stop_tasks((task, None)) is True
    assert task.cancelled()


async def test_a_cleanup_that_is_itself_cancelled_stops_too() -> None:
    # The trap stop_tasks avoids: the task stopping a helper is cancelled while waiting.
    release = asyncio.Event()
    helper = asyncio.create_task(_ignores_cancellation(release))

    async def loop_that_cleans_up() -> None:
        while True:
            await stop_tasks((helper,), timeout_s=30.0)

    loop = asyncio.create_task(loop_that_cleans_up())
    await asyncio.sleep(0.05)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(loop, 2.0)
    release.set()
    await helper


async def test_a_task_ignoring_its_cancellation_is_left_behind_after_the_timeout() -> None:
    release = asyncio.Event()
    stuck = asyncio.create_task(_ignores_cancellation(release))
    await asyncio.sleep(0)
    started = time.monotonic()
    assert await stop_tasks((stuck,), timeout_s=0.2) is False
    assert time.monotonic() - started < 1.0
    release.set()
    await stuck


async def test_failures_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    async def drops() -> None:
        raise ConnectionError("line dropped")

    failing, dropping = asyncio.create_task(fails()), asyncio.create_task(drops())
    await asyncio.sleep(0)
    assert await stop_tasks((failing, dropping), what="helper", expected=(ConnectionError,))
    assert "boom" in caplog.text
    assert "line dropped" not in caplog.text


async def test_cancelling_me_tells_my_cancellation_from_a_task_i_awaited() -> None:
    seen: list[bool] = []

    async def waits_on(other: asyncio.Task[None]) -> None:
        try:
            await other
        except asyncio.CancelledError:
            seen.append(cancelling_me())
            if cancelling_me():
                raise

    other = asyncio.create_task(_forever())
    waiter = asyncio.create_task(waits_on(other))
    await asyncio.sleep(0)
    other.cancel()  # someone else's: the waiter carries on
    await waiter
    other = asyncio.create_task(_forever())
    waiter = asyncio.create_task(waits_on(other))
    await asyncio.sleep(0)
    waiter.cancel()  # the waiter's own: re-raised
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert seen == [False, True]
