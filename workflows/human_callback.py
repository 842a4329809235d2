"""HumanCallbackWorkflow: a person owes a caller a call, at a time, durably.

Started by the media worker when nobody answered a handed-off call in time (or the
agent's policy said a person should call back), with the stored callback's id and due
time. It sleeps on a durable timer until then (a restart of every process loses
nothing), marks the callback `due` so operator pages list it first, and waits for an
operator to report it `done` (or someone to cancel it) for up to `EXPIRES_AFTER` (one
settled in the table while the workflow could not be told ends at its time); the
Temporal UI shows each one waiting (id `human-callback-{id}`), and the dashboard lists
them from the table.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.human_callbacks import HumanCallbackActivities
    from centralita.handoff.callback_messages import (
        CallbackSettled,
        HumanCallbackInput,
        HumanCallbackResult,
    )
    from workflows.activity_policies import STORE_RETRY, STORE_TIMEOUT

# A callback nobody reported within a week of its time is left as it is (still `due` in
# the table) and its workflow ends `expired`.
EXPIRES_AFTER = timedelta(days=7)
# Runs from before it waited a week for a callback already settled in the table.
SETTLED_IN_TABLE_PATCH = "callback-settled-in-table"


@workflow.defn
class HumanCallbackWorkflow:
    """Waits for a callback's time, marks it due, then for it to be settled."""

    def __init__(self) -> None:
        self._settled: CallbackSettled | None = None
        self._phase = "scheduled"

    @workflow.signal
    def settle(self, settled: CallbackSettled) -> None:
        """An operator made the call (`done`) or it was `cancelled` (before or after due)."""
        if self._settled is None:
            self._settled = settled

    @workflow.query
    def state(self) -> str:
        """`scheduled`, `due`, or how it was settled."""
        return self._settled.state if self._settled is not None else self._phase

    @workflow.run
    async def run(self, callback: HumanCallbackInput) -> HumanCallbackResult:
        wait = callback.due_at - workflow.now()
        if wait > timedelta(0):
            # Settling before the time (the person called in meanwhile) ends it early.
            await self._until_settled(wait)
        if self._settled is None:
            owed = await workflow.execute_activity_method(
                HumanCallbackActivities.mark_callback_due,
                callback.callback_id,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            if not owed and self._settled is None and workflow.patched(SETTLED_IN_TABLE_PATCH):
                # Settled through the API while Temporal was away (its signal was lost):
                # nothing is owed, and the table says how it ended.
                return HumanCallbackResult(state="settled")
            self._phase = "due"
            await self._until_settled(EXPIRES_AFTER)
        if self._settled is None:
            return HumanCallbackResult(state="expired")
        return HumanCallbackResult(state=self._settled.state, by=self._settled.by)

    async def _until_settled(self, within: timedelta) -> None:
        try:
            await workflow.wait_condition(lambda: self._settled is not None, timeout=within)
        except TimeoutError:
            return
