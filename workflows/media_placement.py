"""Running one call's activity on a media worker with room, and again on another if it dies.

Called from `CallAttemptWorkflow` for campaigns with `media_placement`. Each round
chooses a worker (waiting while none has room), then runs the call activity on that
worker's own task queue, tried once there:

- it ends: the call's result;
- the worker never took it (`PLACED_CALL_START`) or refused it (draining, full): choose
  again, avoiding that worker;
- the worker stopped heartbeating mid-call (killed, machine lost; noticed within
  `PLACED_CALL_HEARTBEAT`): record the call as
  dropped with what was said so far, then choose again at once; the same attempt key
  rings the person once more from another worker (the carrier's dial log marks the lost
  ring `lost`);
- any other failure is retried on a new placement after a back-off, as `DIAL_RETRY` would;
  refusals for good (an invalid number or policy) and cancellation end it.

Deterministic: every decision reads only activity results and `workflow.now()`.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    TimeoutType,
    is_cancelled_exception,
)
from temporalio.exceptions import (
    TimeoutError as ActivityTimeoutError,
)

with workflow.unsafe.imports_passed_through():
    from activities.calls import CallActivities
    from activities.placement import PlacementActivities
    from centralita.campaigns.messages import PlaceCall, PlacedCall
    from centralita.telephony.media_workers import (
        MEDIA_WORKER_UNAVAILABLE,
        DroppedCall,
        Placement,
        PlacementRequest,
    )
    from workflows.activity_policies import (
        DIAL_GIVE_UP,
        DIAL_RETRY,
        DIAL_TIMEOUT,
        PLACED_CALL_HEARTBEAT,
        PLACED_CALL_RETRY,
        PLACED_CALL_START,
        PLACEMENT_RETRY,
        REPLACE_BACKOFF,
        STORE_RETRY,
        STORE_TIMEOUT,
    )

_FOR_GOOD = frozenset(DIAL_RETRY.non_retryable_error_types or ())


def _lost_mid_call(exc: ActivityError) -> bool:
    """The worker took the call and then went silent (heartbeat or run timeout)."""
    cause = exc.cause
    return isinstance(cause, ActivityTimeoutError) and cause.type in (
        TimeoutType.HEARTBEAT,
        TimeoutType.START_TO_CLOSE,
    )


def _never_started(exc: ActivityError) -> bool:
    """The worker never took the call, or refused it: nothing rang there."""
    cause = exc.cause
    if isinstance(cause, ActivityTimeoutError):
        return cause.type is TimeoutType.SCHEDULE_TO_START
    return isinstance(cause, ApplicationError) and cause.type == MEDIA_WORKER_UNAVAILABLE


def _for_good(exc: ActivityError) -> bool:
    cause = exc.cause
    return isinstance(cause, ApplicationError) and (cause.non_retryable or cause.type in _FOR_GOOD)


class MediaPlacement:
    """One attempt's call, placed and re-placed until it ends (or gives up)."""

    def __init__(self, call: PlaceCall) -> None:
        self._call = call
        self._key = call.begin.attempt_key
        self._drops = 0
        self._backoff = REPLACE_BACKOFF[0]

    async def run(self) -> PlacedCall:
        """The call's result from whichever worker held it to its end.

        Raises:
            ActivityError: refused for good, cancelled, or no result by DIAL_GIVE_UP.
        """
        give_up_at = workflow.now() + DIAL_GIVE_UP
        avoid: str | None = None
        while True:
            placement = await self._choose(avoid)
            try:
                return await self._hold(placement)
            except ActivityError as exc:
                if is_cancelled_exception(exc) or _for_good(exc):
                    raise
                if workflow.now() >= give_up_at:
                    raise
                avoid = placement.worker_id
                await self._after_failure(exc, placement)

    async def _choose(self, avoid: str | None) -> Placement:
        return await workflow.execute_activity_method(
            PlacementActivities.choose_media_worker,
            PlacementRequest(
                call_key=self._key, campaign_id=self._call.begin.campaign_id, avoid=avoid
            ),
            start_to_close_timeout=STORE_TIMEOUT,
            schedule_to_close_timeout=DIAL_GIVE_UP,
            retry_policy=PLACEMENT_RETRY,
        )

    async def _hold(self, placement: Placement) -> PlacedCall:
        return await workflow.execute_activity_method(
            CallActivities.place_call,
            self._call,
            task_queue=placement.task_queue,
            start_to_close_timeout=DIAL_TIMEOUT,
            schedule_to_start_timeout=PLACED_CALL_START,
            heartbeat_timeout=PLACED_CALL_HEARTBEAT,
            retry_policy=PLACED_CALL_RETRY,
        )

    async def _after_failure(self, exc: ActivityError, placement: Placement) -> None:
        """Record a drop and place again at once, or wait the back-off first."""
        if _lost_mid_call(exc):
            self._drops += 1
            workflow.logger.warning(
                "call %s dropped with media worker %s", self._key, placement.worker_id
            )
            await workflow.execute_local_activity_method(
                PlacementActivities.record_dropped_call,
                DroppedCall(
                    call_key=self._key,
                    drop_number=self._drops,
                    media_worker=placement.worker_id,
                    detected_at=workflow.now(),
                ),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            return
        if _never_started(exc):
            await workflow.sleep(REPLACE_BACKOFF[0])
            return
        await workflow.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, REPLACE_BACKOFF[1])
