"""Stopping asyncio tasks without swallowing one's own cancellation.

`task.cancel(); with suppress(CancelledError): await task` is the usual way to stop a
helper task, and it has a trap: if the task doing it is cancelled while it waits, the
`CancelledError` that reaches it is its own, and `suppress` eats it. A loop written that
way never stops (a call whose turn loop ignored the hang-up stayed up for hours). The
helpers here tell the two apart with `Task.cancelling()`: a cancellation asked of the
running task is always re-raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


def cancelling_me() -> bool:
    """Whether the running task has been asked to stop (a `CancelledError` is then its own).

    A task that awaited another task which was cancelled from elsewhere (a barge-in
    cancelling the reply being said) sees a `CancelledError` too; only when this returns
    False may it treat that error as the other task's and carry on.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def stop_tasks(
    tasks: Iterable[asyncio.Task[object] | asyncio.Future[object] | None],
    *,
    timeout_s: float = 5.0,
    what: str = "task",
    expected: tuple[type[BaseException], ...] = (),
) -> bool:
    """Cancel `tasks` and wait up to `timeout_s` for them to finish.

    Their cancellation and their own failures are not raised (failures other than
    `expected` ones are logged): the caller is cleaning up. A task still running after
    `timeout_s` (it ignores its cancellation) is logged and left behind rather than
    holding the caller forever.

    Returns:
        True when every task finished.

    Raises:
        asyncio.CancelledError: the running task was cancelled while it waited.
    """
    pending = [t for t in tasks if t is not None]
    for task in pending:
        task.cancel()
    if not pending:
        return True
    done, stuck = await asyncio.wait(pending, timeout=timeout_s)
    for task in done:
        if task.cancelled() or (exc := task.exception()) is None:
            continue
        if not isinstance(exc, expected):
            log.error("%s failed while stopping: %r", what, exc, exc_info=exc)
    for task in stuck:
        log.error("%s ignored its cancellation for %.1f s; left behind: %r", what, timeout_s, task)
    return not stuck
