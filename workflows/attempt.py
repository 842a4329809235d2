"""CallAttemptWorkflow: one dial of one phone, re-checked at dial time, result applied."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.attempts import AttemptActivities
    from activities.campaigns import CampaignActivities
    from activities.dialing import DialActivities
    from centralita.privacy import mask_phone
    from workflows import search_attributes
    from workflows.activity_policies import (
        DIAL_GIVE_UP,
        DIAL_HEARTBEAT,
        DIAL_RETRY,
        DIAL_TIMEOUT,
        STORE_RETRY,
        STORE_TIMEOUT,
    )
    from workflows.campaign_policy import OptOutSignal
    from workflows.models import (
        AttemptCancel,
        AttemptInput,
        AttemptRecord,
        AttemptResult,
        BeginAttempt,
        CallOutcome,
        DialRequest,
        DialResult,
    )


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
    """Re-check and record the attempt, dial with its id as idempotency key, apply the result."""

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
        begun = await workflow.execute_local_activity_method(
            AttemptActivities.begin_attempt,
            BeginAttempt(
                attempt_key=key,
                campaign_id=attempt.campaign_id,
                contact_id=attempt.contact_id,
                attempt_number=attempt.attempt_number,
                phone=attempt.phone,
                agent=attempt.agent,
                now=workflow.now(),
            ),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        if not begun.proceed:
            return AttemptResult(
                attempt_key=key,
                phone=attempt.phone,
                dialed=False,
                outcome=None,
                reason=begun.reason,
            )
        result = await self._dial_or_failure(attempt, key)
        decision = await workflow.execute_local_activity_method(
            AttemptActivities.finish_attempt,
            AttemptRecord(attempt_key=key, result=result, now=workflow.now()),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        if result.outcome is CallOutcome.OPT_OUT:
            await workflow.execute_activity_method(
                CampaignActivities.broadcast_opt_out,
                OptOutSignal(phone=attempt.phone),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        if attempt.use_search_attributes:
            workflow.upsert_search_attributes([search_attributes.OUTCOME.value_set(result.outcome)])
        return AttemptResult(
            attempt_key=key,
            phone=attempt.phone,
            dialed=True,
            outcome=result.outcome,
            reason=decision.reason,
            contact_state=decision.state,
            extracted=result.extracted,
        )

    async def _dial_or_failure(self, attempt: AttemptInput, key: str) -> DialResult:
        """The call's result; a dial that could not be placed at all is a failed call."""
        try:
            return await self._dial(attempt, key)
        except ActivityError as exc:
            if is_cancelled_exception(exc):
                raise
            # Invalid number, or the carrier unreachable for DIAL_GIVE_UP: the contact
            # moves on (next phone or a later retry) instead of staying "in progress".
            now = workflow.now()
            cause = exc.cause or exc
            return DialResult(
                outcome=CallOutcome.FAILED,
                disconnection_reason=f"dial_error: {cause}"[:200],
                started_at=now,
                ended_at=now,
                duration_s=0.0,
            )

    async def _dial(self, attempt: AttemptInput, key: str) -> DialResult:
        return await workflow.execute_activity_method(
            DialActivities.dial,
            DialRequest(
                idempotency_key=key,
                to_number=attempt.phone,
                campaign_id=attempt.campaign_id,
                contact_id=attempt.contact_id,
                attempt_number=attempt.attempt_number,
                agent=attempt.agent,
                variables=attempt.variables,
            ),
            start_to_close_timeout=DIAL_TIMEOUT,
            schedule_to_close_timeout=DIAL_GIVE_UP,
            heartbeat_timeout=DIAL_HEARTBEAT,
            retry_policy=DIAL_RETRY,
        )
