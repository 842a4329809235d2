"""CallAttemptWorkflow: one dial of one phone, from 'dialing' to a stored result."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.dialing import DialActivities
    from activities.store import StoreActivities
    from workflows.activity_policies import (
        DIAL_HEARTBEAT,
        DIAL_RETRY,
        DIAL_TIMEOUT,
        STORE_RETRY,
        STORE_TIMEOUT,
    )
    from workflows.models import (
        AttemptInput,
        AttemptRecord,
        AttemptResult,
        AttemptStart,
        DialRequest,
    )


def attempt_workflow_id(campaign_id: str, contact_id: str, attempt_number: int) -> str:
    """Deterministic id: a restarted parent can never start the same attempt twice."""
    return f"campaign-{campaign_id}-contact-{contact_id}-attempt-{attempt_number}"


@workflow.defn
class CallAttemptWorkflow:
    """Record the attempt, dial with the attempt id as idempotency key, store the result."""

    @workflow.run
    async def run(self, attempt: AttemptInput) -> AttemptResult:
        """Run one attempt; its workflow id is the idempotency key of the dial."""
        key = workflow.info().workflow_id
        await workflow.execute_activity_method(
            StoreActivities.record_attempt_started,
            AttemptStart(
                attempt_key=key,
                campaign_id=attempt.campaign_id,
                contact_id=attempt.contact_id,
                attempt_number=attempt.attempt_number,
                phone=attempt.phone,
            ),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        result = await workflow.execute_activity_method(
            DialActivities.dial,
            DialRequest(
                idempotency_key=key,
                to_number=attempt.phone,
                campaign_id=attempt.campaign_id,
                contact_id=attempt.contact_id,
                attempt_number=attempt.attempt_number,
                variables=attempt.variables,
            ),
            start_to_close_timeout=DIAL_TIMEOUT,
            heartbeat_timeout=DIAL_HEARTBEAT,
            retry_policy=DIAL_RETRY,
        )
        await workflow.execute_activity_method(
            StoreActivities.record_attempt_result,
            AttemptRecord(attempt_key=key, result=result),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        return AttemptResult(
            attempt_key=key,
            phone=attempt.phone,
            outcome=result.outcome,
            disconnection_reason=result.disconnection_reason,
            extracted=result.extracted,
        )
