"""The call activity: one attempt's whole side effect (re-check, dial, store) in one step.

Re-checking, dialling and storing the result used to be three steps of the attempt
workflow (two local activities around the dial). Done inside one activity, an attempt
costs the Temporal server two workflow tasks and no markers: the campaign benchmark's
bottleneck is that server (bench/campaign.py). Every part stays idempotent by the
attempt key, so a retry after a lost worker resumes the call instead of repeating it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from opentelemetry import trace
from temporalio import activity

from activities.attempts import record_begin, record_result, stored_policy_must_be_valid
from activities.dialing import HEARTBEAT_EVERY, dial_with_heartbeats
from activities.placement import CallAdmission
from centralita.campaigns.messages import AttemptRecord, PlaceCall, PlacedCall
from centralita.kernel.calls import Dialer, DialResult
from centralita.kernel.db import Pool
from centralita.memory.call_variables import with_memory


def ended_at_workflow_time(placed: PlaceCall, tried_since: float) -> datetime:
    """When the call ended, on the clock the workflow decided by.

    The workflow's `now` when it scheduled this try (or the server's time of this retry,
    if later) plus the time the try took. Wall-clock time would be wrong in
    time-skipping tests, where the workflow's day is not today.
    """
    scheduled = max(placed.begin.now, activity.info().current_attempt_scheduled_time)
    return scheduled + timedelta(seconds=time.monotonic() - tried_since)


class CallActivities:
    """The call activity, bound to the database and the dialer that places calls.

    On a media worker it also goes through the worker's `admission`, which refuses a
    call while the worker drains or is full (the workflow then places it elsewhere).
    """

    def __init__(
        self,
        pool: Pool,
        dialer: Dialer,
        *,
        heartbeat_every: timedelta = HEARTBEAT_EVERY,
        admission: CallAdmission | None = None,
    ) -> None:
        self._pool = pool
        self._dialer = dialer
        self._heartbeat_every = heartbeat_every
        self._admission = admission

    @activity.defn
    async def place_call(self, placed: PlaceCall) -> PlacedCall:
        """Re-check the rules and record the attempt, dial, then store the result.

        A skipped attempt (rules changed since it was planned) answers `proceed=False`
        without dialling. Dial errors propagate: the workflow records the failed call.
        """
        if self._admission is None:
            return await self._place_call(placed)
        with self._admission.admit():
            return await self._place_call(placed)

    async def _place_call(self, placed: PlaceCall) -> PlacedCall:
        tried_since = time.monotonic()
        # On the activity's span (the Temporal plugin's RunActivity:place_call): which
        # call of which campaign this is, to find it by in a trace viewer.
        trace.get_current_span().set_attributes(
            {
                "centralita.call_key": placed.begin.attempt_key,
                "centralita.campaign_id": placed.begin.campaign_id,
                "centralita.attempt_number": placed.begin.attempt_number,
            }
        )
        with stored_policy_must_be_valid():
            async with self._pool.connection() as conn, conn.transaction():
                begun = await record_begin(conn, placed.begin)
        if not begun.proceed:
            return PlacedCall(proceed=False, reason=begun.reason)
        remembered = await self._remembered(placed, begun.tenant_id)
        result: DialResult = await dial_with_heartbeats(
            self._dialer, remembered.dial_request(begun), self._heartbeat_every
        )
        record = AttemptRecord(
            attempt_key=placed.begin.attempt_key,
            result=result,
            now=ended_at_workflow_time(placed, tried_since),
        )
        with stored_policy_must_be_valid():
            async with self._pool.connection() as conn, conn.transaction():
                decision = await record_result(conn, record)
        return PlacedCall(proceed=True, reason=decision.reason, result=result, decision=decision)

    async def _remembered(self, placed: PlaceCall, tenant_id: str | None) -> PlaceCall:
        """The call with the contact's memory in its variables (what earlier calls and
        reported payments tell), read now, just before it dials."""
        if tenant_id is None:
            return placed
        variables = await with_memory(
            self._pool, tenant_id, placed.begin.contact_id, placed.variables, now=datetime.now(UTC)
        )
        return placed.model_copy(update={"variables": variables})
