"""CallAttemptWorkflow: one dial of one phone, re-checked at dial time, result applied."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.attempts import AttemptActivities
    from activities.calls import CallActivities
    from activities.campaigns import CampaignActivities
    from centralita.campaigns.messages import (
        AttemptCancel,
        AttemptInput,
        AttemptRecord,
        AttemptResult,
        BeginAttempt,
        PlaceCall,
        PlacedCall,
    )
    from centralita.campaigns.policy import OptOutSignal
    from centralita.kernel import search_attributes
    from centralita.kernel.calls import CallOutcome, DialResult
    from centralita.kernel.privacy import mask_phone
    from centralita.postcall.messages import PostCallInput
    from workflows.activity_policies import (
        DIAL_GIVE_UP,
        DIAL_HEARTBEAT,
        DIAL_RETRY,
        DIAL_TIMEOUT,
        STORE_RETRY,
        STORE_TIMEOUT,
    )
    from workflows.media_placement import MediaPlacement
    from workflows.post_call import PostCallWorkflow, post_call_workflow_id


# Attempts recorded before post-call processing existed replay without the child start.
POST_CALL_PATCH = "post-call-child"


def attempt_workflow_id(campaign_id: str, contact_id: str, attempt_number: int) -> str:
    """Deterministic id: a restarted parent can never start the same attempt twice."""
    return f"campaign-{campaign_id}-contact-{contact_id}-attempt-{attempt_number}"


def attempt_memo(phone: str) -> dict[str, str]:
    """What operators see in the Temporal UI: the masked number, never the full one."""
    return {"phone": mask_phone(phone)}


# Not sandboxed: one of these runs per call, and re-creating the sandbox for each run
# cost a quarter of the campaign's throughput. The class is small, calls no clock, random
# or I/O outside activities, and tests/integration/test_replay.py replays its history.
@workflow.defn(sandboxed=False)
class CallAttemptWorkflow:
    """One call activity (re-check, dial with the attempt id as idempotency key, store)."""

    @workflow.run
    async def run(self, attempt: AttemptInput) -> AttemptResult:
        """Run one attempt; its workflow id is the idempotency key of the dial."""
        key = workflow.info().workflow_id
        try:
            return await self._attempt(attempt, key)
        except BaseException as exc:
            # A cancelled dial surfaces as an ActivityError caused by the cancellation,
            # not always as CancelledError itself.
            if not is_cancelled_exception(exc):
                raise
            # Opt-out or cancelled campaign, at any step: say so in the attempt's record
            # (a no-op unless it was dialling), then stop.
            await workflow.execute_local_activity_method(
                AttemptActivities.cancel_attempt,
                AttemptCancel(attempt_key=key, reason="cancelled", now=workflow.now()),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            raise

    async def _attempt(self, attempt: AttemptInput, key: str) -> AttemptResult:
        placed = await self._place_call_or_failure(attempt, key)
        if not placed.proceed:
            return AttemptResult(
                attempt_key=key,
                phone=attempt.phone,
                dialed=False,
                outcome=None,
                reason=placed.reason,
            )
        assert placed.result is not None
        assert placed.decision is not None
        outcome = placed.result.outcome
        if outcome is CallOutcome.OPT_OUT:
            await workflow.execute_activity_method(
                CampaignActivities.broadcast_opt_out,
                OptOutSignal(phone=attempt.phone),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        if attempt.use_search_attributes:
            workflow.upsert_search_attributes([search_attributes.OUTCOME.value_set(outcome)])
        if (
            attempt.post_call_task_queue
            and placed.result.answered_at is not None
            and workflow.patched(POST_CALL_PATCH)
        ):
            await self._start_post_call(attempt.post_call_task_queue, key)
        return AttemptResult(
            attempt_key=key,
            phone=attempt.phone,
            dialed=True,
            outcome=outcome,
            reason=placed.decision.reason,
            contact_state=placed.decision.state,
            extracted=placed.result.extracted,
        )

    async def _start_post_call(self, task_queue: str, key: str) -> None:
        """The call's post-call workflow: it outlives this attempt (abandoned, not cancelled)."""
        await workflow.start_child_workflow(
            PostCallWorkflow.run,
            PostCallInput(call_key=key),
            id=post_call_workflow_id(key),
            task_queue=task_queue,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )

    async def _place_call_or_failure(self, attempt: AttemptInput, key: str) -> PlacedCall:
        """The call's outcome; a dial that could not be placed at all is a failed call."""
        try:
            return await self._place_call(attempt, key)
        except ActivityError as exc:
            if is_cancelled_exception(exc):
                raise
            # Invalid number, or the carrier unreachable for DIAL_GIVE_UP: the contact
            # moves on (next phone or a later retry) instead of staying "in progress".
            now = workflow.now()
            cause = exc.cause or exc
            failed = DialResult(
                outcome=CallOutcome.FAILED,
                disconnection_reason=f"dial_error: {cause}"[:200],
                started_at=now,
                ended_at=now,
                duration_s=0.0,
            )
            decision = await workflow.execute_local_activity_method(
                AttemptActivities.finish_attempt,
                AttemptRecord(attempt_key=key, result=failed, now=now),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            return PlacedCall(
                proceed=True, reason=decision.reason, result=failed, decision=decision
            )

    async def _place_call(self, attempt: AttemptInput, key: str) -> PlacedCall:
        begin = BeginAttempt(
            attempt_key=key,
            campaign_id=attempt.campaign_id,
            contact_id=attempt.contact_id,
            attempt_number=attempt.attempt_number,
            phone=attempt.phone,
            agent=attempt.agent,
            now=workflow.now(),
        )
        call = PlaceCall(begin=begin, variables=attempt.variables)
        if attempt.media_placement:
            return await MediaPlacement(call).run()
        return await workflow.execute_activity_method(
            CallActivities.place_call,
            call,
            start_to_close_timeout=DIAL_TIMEOUT,
            schedule_to_close_timeout=DIAL_GIVE_UP,
            heartbeat_timeout=DIAL_HEARTBEAT,
            retry_policy=DIAL_RETRY,
        )
