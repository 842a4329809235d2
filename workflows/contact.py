"""ContactWorkflow: call one contact until the retry rules say stop."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.store import StoreActivities
    from workflows.activity_policies import STORE_RETRY, STORE_TIMEOUT
    from workflows.attempt import CallAttemptWorkflow, attempt_workflow_id
    from workflows.models import (
        AttemptInput,
        CallOutcome,
        ContactLookup,
        ContactProfile,
        ContactResult,
        ContactRunInput,
        ContactState,
        ContactStateChange,
    )
    from workflows.retry_rules import next_step


def contact_workflow_id(campaign_id: str, contact_id: str) -> str:
    """Deterministic id: one contact workflow per contact and campaign."""
    return f"campaign-{campaign_id}-contact-{contact_id}"


@workflow.defn
class ContactWorkflow:
    """Attempts in sequence, durable timers between them, the final state stored."""

    def __init__(self) -> None:
        self._contact_id = ""
        self._attempts = 0
        self._state = ContactState.PENDING

    @workflow.query
    def state(self) -> ContactStateChange:
        """Where this contact stands now."""
        return ContactStateChange(
            contact_id=self._contact_id, state=self._state, attempts=self._attempts
        )

    @workflow.run
    async def run(self, job: ContactRunInput) -> ContactResult:
        """Dial, decide, wait, dial again, until a final state."""
        self._contact_id = job.contact_id
        profile: ContactProfile = await workflow.execute_activity_method(
            StoreActivities.load_contact,
            ContactLookup(contact_id=job.contact_id),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        phone_index = 0
        outcome: CallOutcome | None = None
        while True:
            self._attempts += 1
            phone = profile.phones[phone_index]
            await self._record(job.contact_id, ContactState.IN_PROGRESS, last_phone_tried=phone)
            result = await workflow.execute_child_workflow(
                CallAttemptWorkflow.run,
                AttemptInput(
                    campaign_id=job.campaign_id,
                    contact_id=job.contact_id,
                    attempt_number=self._attempts,
                    phone=phone,
                    variables=profile.variables,
                ),
                id=attempt_workflow_id(job.campaign_id, job.contact_id, self._attempts),
            )
            outcome = result.outcome
            step = next_step(
                outcome,
                attempts_made=self._attempts,
                phone_index=phone_index,
                phone_count=len(profile.phones),
                policy=job.policy,
            )
            if step.final_state is not None:
                await self._record(job.contact_id, step.final_state, outcome=outcome)
                return ContactResult(
                    contact_id=job.contact_id,
                    state=step.final_state,
                    outcome=outcome,
                    attempts=self._attempts,
                )
            phone_index = step.phone_index
            await self._record(
                job.contact_id,
                ContactState.RETRY_SCHEDULED,
                outcome=outcome,
                next_attempt_at=workflow.now() + timedelta(seconds=step.delay_seconds),
            )
            await workflow.sleep(timedelta(seconds=step.delay_seconds))

    async def _record(
        self,
        contact_id: str,
        state: ContactState,
        *,
        outcome: CallOutcome | None = None,
        last_phone_tried: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        self._state = state
        await workflow.execute_activity_method(
            StoreActivities.record_contact_state,
            ContactStateChange(
                contact_id=contact_id,
                state=state,
                outcome=outcome,
                attempts=self._attempts,
                last_phone_tried=last_phone_tried,
                next_attempt_at=next_attempt_at,
            ),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
