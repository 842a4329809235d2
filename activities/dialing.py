"""The dial activity: place the call through a `Dialer`, heartbeating until it ends."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from realtime.carrier.dialer import Dialer, InvalidDialRequestError
from workflows.models import DialRequest, DialResult


class DialActivities:
    """Dial activities built with the dialer that places calls (carrier or media worker)."""

    def __init__(
        self, dialer: Dialer, *, heartbeat_every: timedelta = timedelta(seconds=2)
    ) -> None:
        self._dialer = dialer
        self._heartbeat_every = heartbeat_every.total_seconds()

    @activity.defn
    async def dial(self, request: DialRequest) -> DialResult:
        """Place the call and wait for its end, heartbeating meanwhile.

        The heartbeat is what lets Temporal notice a dead worker within seconds; the
        idempotency key in the request is what makes the retry that follows safe.
        """
        call = asyncio.ensure_future(self._dialer.dial(request))
        try:
            while True:
                done, _ = await asyncio.wait({call}, timeout=self._heartbeat_every)
                if done:
                    return call.result()
                activity.heartbeat(request.idempotency_key)
        except InvalidDialRequestError as exc:
            raise ApplicationError(str(exc), type="InvalidDialRequest", non_retryable=True) from exc
        finally:
            call.cancel()
