"""Dialling from inside an activity: place the call through a `Dialer`, heartbeating."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from centralita.kernel.calls import Dialer, DialRequest, DialResult, InvalidDialRequestError

HEARTBEAT_EVERY = timedelta(seconds=2)


async def dial_with_heartbeats(
    dialer: Dialer, request: DialRequest, every: timedelta = HEARTBEAT_EVERY
) -> DialResult:
    """Place the call and wait for its end, heartbeating meanwhile (inside an activity).

    The heartbeat is what lets Temporal notice a dead worker within seconds; the
    idempotency key in the request is what makes the retry that follows safe.

    Raises:
        ApplicationError: the request can never be dialled (non-retryable).
    """
    call = asyncio.ensure_future(dialer.dial(request))
    try:
        while True:
            done, _ = await asyncio.wait({call}, timeout=every.total_seconds())
            if done:
                return call.result()
            activity.heartbeat(request.idempotency_key)
    except InvalidDialRequestError as exc:
        raise ApplicationError(str(exc), type="InvalidDialRequest", non_retryable=True) from exc
    finally:
        call.cancel()
