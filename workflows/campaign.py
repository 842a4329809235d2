"""CampaignWorkflow: a durable dispatcher that dials due contacts within every rule.

The database holds each contact's state and history; this workflow holds the loop:
ask which contacts are due now (an activity applies the calling rules at the
workflow's time), start one CallAttemptWorkflow per due contact under the concurrency
cap, and sleep until the next slot, the next due contact, a finished call or a signal.
Attempt ids are deterministic, so a replay or a restart can never dial twice; the
history is cut with continue-as-new well before Temporal's limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.attempts import AttemptActivities
    from activities.campaigns import CampaignActivities
    from centralita.campaigns.messages import (
        OPT_OUT_SIGNAL,
        AttemptCancel,
        AttemptInput,
        AttemptResult,
        CampaignStatus,
    )
    from centralita.campaigns.policy import (
        DEFAULT_MAX_HISTORY_EVENTS,
        INVALID_POLICY,
        MAX_HISTORY_BYTES,
        CampaignCarry,
        CampaignPolicy,
        CampaignProgress,
        CampaignResult,
        CampaignRunInput,
        CampaignStatusChange,
        DispatchJob,
        DispatchPlan,
        DispatchRequest,
        OptOutSignal,
        PolicyStored,
        history_budget,
    )
    from centralita.kernel import search_attributes
    from workflows.activity_policies import (
        DISPATCH_HEARTBEAT,
        DISPATCH_RETRY,
        DISPATCH_TIMEOUT,
        STORE_RETRY,
        STORE_TIMEOUT,
    )
    from workflows.attempt import CallAttemptWorkflow, attempt_memo, attempt_workflow_id

# While waiting for nothing in particular, look again at least this often (a new
# contact's slot, an edited policy) so that a lost wake-up costs minutes, not days.
MAX_SLEEP = timedelta(hours=6)
# Runs from before it ended a campaign whose policy cannot be applied (their activities
# retried that forever, so no such failure is in their histories).
INVALID_POLICY_ENDS_PATCH = "invalid-policy-ends-campaign"


def _invalid_policy(exc: ActivityError) -> ApplicationError | None:
    """The activity's failure when it says the campaign's policy cannot be applied."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type == INVALID_POLICY:
        return cause
    return None


@workflow.defn
class CampaignWorkflow:
    """Dispatch due contacts of one campaign until none is left or it is cancelled."""

    def __init__(self) -> None:
        self._campaign_id = ""
        self._policy = CampaignPolicy()
        self._paused = False
        self._cancelled = False
        self._attempts_started = 0
        self._runs = 1
        self._active: dict[str, tuple[str, asyncio.Task[None]]] = {}
        self._woken = False
        self._last_plan: DispatchPlan | None = None
        self._use_search_attributes = True
        self._post_call_task_queue: str | None = None
        self._media_placement = False
        self._max_history_events = DEFAULT_MAX_HISTORY_EVENTS
        self._recorded_status: CampaignStatus | None = None
        self._next_wake: datetime | None = None
        self._timer_fired = False
        self._timer: asyncio.Task[None] | None = None
        self._timer_deadline: datetime | None = None

    # -- operator controls ---------------------------------------------------------

    @workflow.query
    def progress(self) -> CampaignProgress:
        """Where the campaign stands now."""
        plan = self._last_plan
        return CampaignProgress(
            campaign_id=self._campaign_id,
            status=self._status(),
            active_calls=len(self._active),
            attempts_started=self._attempts_started,
            remaining=plan.remaining if plan else None,
            admitted_today=plan.admitted_today if plan else 0,
            next_wake_at=plan.wake_at if plan else None,
            runs=self._runs,
        )

    @workflow.signal
    def pause(self) -> None:
        """Stop starting calls (calls in progress finish)."""
        self._paused = True
        self._wake()

    @workflow.signal
    def resume(self) -> None:
        """Start calling again."""
        self._paused = False
        self._wake()

    @workflow.signal
    def cancel(self) -> None:
        """End the campaign: calls in progress are cancelled, nobody else is called."""
        self._cancelled = True
        self._wake()

    @workflow.signal(name=OPT_OUT_SIGNAL)
    def opt_out(self, signal: OptOutSignal) -> None:
        """A number opted out: cancel any attempt to it now in progress."""
        for phone, task in self._active.values():
            if phone == signal.phone:
                task.cancel()
        self._wake()

    @workflow.update
    async def update_policy(self, policy: CampaignPolicy) -> CampaignPolicy:
        """Replace the schedule, caps and retry rules; effective from the next decision."""
        await workflow.execute_activity_method(
            CampaignActivities.store_policy,
            PolicyStored(campaign_id=self._campaign_id, policy=policy),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        self._policy = policy
        self._wake()
        return policy

    @update_policy.validator
    def _validate_policy(self, policy: CampaignPolicy) -> None:
        if self._cancelled:
            raise ValueError("the campaign is cancelled")
        CampaignPolicy.model_validate(policy.model_dump())

    # -- the loop ------------------------------------------------------------------

    @workflow.run
    async def run(self, job: CampaignRunInput) -> CampaignResult:
        """Dispatch until done, cancelled, or time to continue as a new run."""
        self._campaign_id = job.campaign_id
        self._use_search_attributes = job.use_search_attributes
        self._post_call_task_queue = job.post_call_task_queue
        self._media_placement = job.media_placement
        self._max_history_events = job.max_history_events
        if job.carry is None:
            try:
                self._policy = await workflow.execute_activity_method(
                    CampaignActivities.load_policy,
                    job.campaign_id,
                    start_to_close_timeout=STORE_TIMEOUT,
                    retry_policy=STORE_RETRY,
                )
            except ActivityError as exc:
                await self._fail_on_invalid_policy(exc)
                raise
            await self._set_status(CampaignStatus.RUNNING)
        else:
            self._policy = job.carry.policy
            self._paused = job.carry.paused
            self._attempts_started = job.carry.attempts_started
            self._runs = job.carry.runs + 1

        while True:
            if self._cancelled:
                return await self._finish_cancelled()
            await self._record_pause_state()
            if self._history_is_long():
                await self._drain()
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carry(job))
            # Cleared before looking, not before sleeping: a call that ends while we
            # look must still wake the sleep that follows.
            self._woken = False
            if self._worth_dispatching():
                try:
                    plan = await self._dispatch()
                except ActivityError as exc:
                    await self._fail_on_invalid_policy(exc)
                    raise
                self._next_wake, self._timer_fired = plan.wake_at, False
                if plan.remaining == 0 and not self._active:
                    await self._set_status(CampaignStatus.COMPLETED)
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    return self._result(CampaignStatus.COMPLETED)
            await self._sleep_until(self._next_wake)

    def _worth_dispatching(self) -> bool:
        """Whether to ask for due contacts now.

        One dispatch round per finished call would cost more than the calls themselves
        (an activity and its history each time): while calls are in progress, wait
        until a quarter of the slots are free, unless a due moment has arrived.
        """
        free = self._policy.concurrency - len(self._active)
        if self._paused or free <= 0:
            return False
        batch = max(1, self._policy.concurrency // 4)
        return free >= batch or not self._active or self._timer_fired

    async def _record_pause_state(self) -> None:
        """Keep the stored status in step with pause/resume signals."""
        wanted = CampaignStatus.PAUSED if self._paused else CampaignStatus.RUNNING
        if wanted != self._recorded_status:
            await self._set_status(wanted)

    async def _dispatch(self) -> DispatchPlan:
        plan: DispatchPlan = await workflow.execute_activity_method(
            CampaignActivities.plan_dispatch,
            DispatchRequest(
                campaign_id=self._campaign_id,
                now=workflow.now(),
                limit=self._policy.concurrency - len(self._active),
                exclude_contact_ids=sorted(self._active),
                policy=self._policy,
            ),
            start_to_close_timeout=DISPATCH_TIMEOUT,
            heartbeat_timeout=DISPATCH_HEARTBEAT,
            retry_policy=DISPATCH_RETRY,
        )
        self._last_plan = plan
        # Started together: awaiting each child's start in turn would cost a workflow
        # task round trip per call (it capped a campaign at about 10 calls a second).
        await asyncio.gather(*(self._start_attempt(dispatch) for dispatch in plan.jobs))
        return plan

    async def _start_attempt(self, dispatch: DispatchJob) -> None:
        attempt = AttemptInput(
            campaign_id=self._campaign_id,
            contact_id=dispatch.contact_id,
            attempt_number=dispatch.attempt_number,
            phone=dispatch.phone,
            agent=dispatch.agent,
            variables=dispatch.variables,
            use_search_attributes=self._use_search_attributes,
            post_call_task_queue=self._post_call_task_queue,
            media_placement=self._media_placement,
        )
        sa = None
        if self._use_search_attributes:
            sa = TypedSearchAttributes(
                [
                    SearchAttributePair(search_attributes.CAMPAIGN_ID, self._campaign_id),
                    SearchAttributePair(search_attributes.CONTACT_ID, dispatch.contact_id),
                    SearchAttributePair(search_attributes.ATTEMPT_NUMBER, dispatch.attempt_number),
                ]
            )
        handle = await workflow.start_child_workflow(
            CallAttemptWorkflow.run,
            attempt,
            id=attempt_workflow_id(self._campaign_id, dispatch.contact_id, dispatch.attempt_number),
            memo=attempt_memo(dispatch.phone),
            search_attributes=sa,
        )
        self._attempts_started += 1
        task = asyncio.create_task(self._await_attempt(dispatch.contact_id, handle))
        self._active[dispatch.contact_id] = (dispatch.phone, task)

    async def _await_attempt(
        self,
        contact_id: str,
        handle: workflow.ChildWorkflowHandle[CallAttemptWorkflow, AttemptResult],
    ) -> None:
        try:
            await handle
        except asyncio.CancelledError:
            # Opt-out or campaign cancel: stop the call; the child records the cancellation.
            handle.cancel()
            with contextlib.suppress(ChildWorkflowError, asyncio.CancelledError):
                await handle
        except ChildWorkflowError as exc:
            # Should not happen (an attempt records its own failures), but a contact must
            # never be left "in progress" forever: release it for the next decision.
            workflow.logger.warning("attempt for contact %s failed: %s", contact_id, exc)
            await workflow.execute_local_activity_method(
                AttemptActivities.cancel_attempt,
                AttemptCancel(
                    attempt_key=handle.id, reason=f"attempt failed: {exc}", now=workflow.now()
                ),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        finally:
            self._active.pop(contact_id, None)
            self._wake()

    async def _sleep_until(self, wake_at: datetime | None) -> None:
        """Sleep until `wake_at` (at most MAX_SLEEP), a signal, or a finished call."""
        now = workflow.now()
        deadline = now + MAX_SLEEP if wake_at is None else max(wake_at, now + timedelta(seconds=1))
        timer = self._timer_for(deadline)
        await workflow.wait_condition(lambda: self._woken or timer.done())
        if timer.done():
            self._timer_fired = True

    def _timer_for(self, deadline: datetime) -> asyncio.Task[None]:
        """A timer that fires no later than `deadline`, reused across wake-ups.

        Every finished call wakes the loop; a fresh timer each time would add a start and
        a cancel event per call to the history and to the server's timer queue. A timer
        already pending that fires no later than needed is kept (firing early only costs
        one extra look at the due contacts).
        """
        pending = self._timer
        if pending is not None and not pending.done():
            if self._timer_deadline is not None and self._timer_deadline <= deadline:
                return pending
            pending.cancel()
        delay = (deadline - workflow.now()).total_seconds()
        self._timer = asyncio.create_task(asyncio.sleep(delay))
        self._timer_deadline = deadline
        return self._timer

    async def _drain(self) -> None:
        """Let calls in progress end: children would not survive the run that started them."""
        await workflow.wait_condition(lambda: not self._active)

    async def _finish_cancelled(self) -> CampaignResult:
        await self._stop_calls()
        await self._set_status(CampaignStatus.CANCELLED)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._result(CampaignStatus.CANCELLED)

    async def _stop_calls(self) -> None:
        for _, task in list(self._active.values()):
            task.cancel()
        await workflow.wait_condition(lambda: not self._active)

    async def _fail_on_invalid_policy(self, exc: ActivityError) -> None:
        """End the campaign as failed, with the reason, when its policy cannot be applied.

        Raises:
            ApplicationError: the activity's own (non-retryable, InvalidPolicy), which
                fails this run with the reason in Temporal; the stored status is failed.
                Returns (the caller re-raises `exc`) for any other failure.
        """
        cause = _invalid_policy(exc)
        if cause is None or not workflow.patched(INVALID_POLICY_ENDS_PATCH):
            return
        workflow.logger.warning("campaign %s failed: %s", self._campaign_id, cause.message)
        await self._stop_calls()
        await self._set_status(CampaignStatus.FAILED)
        await workflow.wait_condition(workflow.all_handlers_finished)
        raise ApplicationError(cause.message, type=INVALID_POLICY, non_retryable=True) from exc

    # -- helpers ---------------------------------------------------------------------

    def _wake(self) -> None:
        self._woken = True

    def _status(self) -> CampaignStatus:
        if self._cancelled:
            return CampaignStatus.CANCELLED
        return CampaignStatus.PAUSED if self._paused else CampaignStatus.RUNNING

    def _history_is_long(self) -> bool:
        """Time to continue as a new run, leaving room for what the cut itself adds.

        The length comes from the run's input (DEFAULT_MAX_HISTORY_EVENTS unless set),
        never from this code alone: a replay of a run started under another default cuts
        where that run did. Not the server's "continue-as-new suggested": each cut
        drains every call in progress, so the campaign chooses how often to pay for it.
        """
        info = workflow.info()
        return (
            info.get_current_history_length()
            > history_budget(self._max_history_events, self._policy.concurrency)
            or info.get_current_history_size() > MAX_HISTORY_BYTES
        )

    def _carry(self, job: CampaignRunInput) -> CampaignRunInput:
        return CampaignRunInput(
            campaign_id=job.campaign_id,
            use_search_attributes=job.use_search_attributes,
            post_call_task_queue=job.post_call_task_queue,
            max_history_events=job.max_history_events,
            media_placement=job.media_placement,
            carry=CampaignCarry(
                policy=self._policy,
                paused=self._paused,
                attempts_started=self._attempts_started,
                runs=self._runs,
            ),
        )

    def _result(self, status: CampaignStatus) -> CampaignResult:
        return CampaignResult(
            campaign_id=self._campaign_id, status=status, attempts_started=self._attempts_started
        )

    async def _set_status(self, status: CampaignStatus) -> None:
        self._recorded_status = status
        await workflow.execute_activity_method(
            CampaignActivities.set_campaign_status,
            CampaignStatusChange(campaign_id=self._campaign_id, status=status),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
