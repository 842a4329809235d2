"""Placing a call on a media worker: choose one with room, admit or refuse it there.

The orchestrator's `choose_media_worker` picks a live worker with room from the
registry (`media_workers`) and answers its own task queue; the attempt workflow then
runs the call activity on that queue, so the call runs in the process that holds its
audio, its carrier stream or its SIP dialog. When no worker has room the activity
fails with `NoMediaCapacity`, a retryable error: the attempt waits, and Temporal shows
why on the attempt (pending activity, its attempt count and last failure).

On the media worker, `CallAdmission` refuses a call it cannot take (draining after
SIGTERM, or full): a retryable `MediaWorkerUnavailable` that makes the workflow choose
again. `record_dropped_call` keeps what was said on a call lost with its worker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from temporalio import activity
from temporalio.exceptions import ApplicationError

from centralita.kernel.db import Pool
from centralita.telephony.media_workers import (
    MEDIA_WORKER_UNAVAILABLE,
    NO_MEDIA_CAPACITY,
    DroppedCall,
    Placement,
    PlacementRequest,
)
from centralita.telephony.store import media_workers


class PlacementActivities:
    """The orchestrator's side of placement, bound to the database."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @activity.defn
    async def choose_media_worker(self, request: PlacementRequest) -> Placement:
        """A live media worker with room for the call, its pick already counted.

        Raises:
            ApplicationError: `NoMediaCapacity` (retryable) when none has room.
        """
        async with self._pool.connection() as conn:
            async with conn.transaction():
                placement = await media_workers.place(conn, avoid=request.avoid)
                if placement is not None:
                    await media_workers.stop_waiting(conn, request.call_key)
            if placement is None:
                reason = (await media_workers.capacity(conn)).describe()
                await media_workers.note_waiting(
                    conn, request.call_key, request.campaign_id, reason
                )
                raise ApplicationError(reason, type=NO_MEDIA_CAPACITY)
        activity.logger.info("call %s placed on %s", request.call_key, placement.worker_id)
        return placement

    @activity.defn
    async def record_dropped_call(self, dropped: DroppedCall) -> bool:
        """Keep the lost try's transcript (idempotent by key and drop number)."""
        async with self._pool.connection() as conn, conn.transaction():
            return await media_workers.record_dropped(conn, dropped)


class CallAdmission:
    """How many calls this media worker holds, and whether it takes one more."""

    def __init__(self, max_calls: int) -> None:
        self.max_calls = max_calls
        self.active = 0
        self.draining = False

    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        """Hold one call for the block's duration.

        Raises:
            ApplicationError: `MediaWorkerUnavailable` (retryable) when draining or full.
        """
        if self.draining:
            raise ApplicationError(
                "this media worker is draining (shutting down)", type=MEDIA_WORKER_UNAVAILABLE
            )
        if self.active >= self.max_calls:
            raise ApplicationError(
                f"this media worker holds {self.active} of {self.max_calls} calls",
                type=MEDIA_WORKER_UNAVAILABLE,
            )
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
