"""What happens after an attempt: stop, retry later (on which phone), or give up.

Pure and deterministic: the contact workflow calls it, tests call it directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.models import CallOutcome, CampaignPolicy, ContactState

# A person was reached and the conversation settled the contact: never call again.
FINAL_OUTCOMES: dict[CallOutcome, ContactState] = {
    CallOutcome.PROMISE_TO_PAY: ContactState.DONE,
    CallOutcome.COMPLETED: ContactState.DONE,
    CallOutcome.DISPUTED: ContactState.DONE,
    CallOutcome.CALLBACK_REQUESTED: ContactState.DONE,  # scheduling callbacks: campaign issue
    CallOutcome.WRONG_PERSON: ContactState.EXCLUDED,
    CallOutcome.OPT_OUT: ContactState.OPTED_OUT,
}
# Nobody (or a machine) picked up: the same phone may answer later.
UNREACHED_OUTCOMES = frozenset({CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL})


@dataclass(frozen=True)
class NextStep:
    """The decision after one attempt.

    Attributes:
        final_state: set when the contact is finished; None means call again.
        delay_seconds: wait before the next attempt (when not final).
        phone_index: which of the contact's phones the next attempt uses.
    """

    final_state: ContactState | None
    delay_seconds: int = 0
    phone_index: int = 0


def next_step(
    outcome: CallOutcome,
    *,
    attempts_made: int,
    phone_index: int,
    phone_count: int,
    policy: CampaignPolicy,
) -> NextStep:
    """Decide what follows an attempt that ended with `outcome`.

    A failed call (the carrier could not connect that number) moves on to the contact's
    next phone; an unanswered one retries the same phone after the policy's delay.

    Args:
        outcome: how the attempt ended.
        attempts_made: attempts so far for this contact, this one included.
        phone_index: index of the phone this attempt used.
        phone_count: how many phones the contact has.
        policy: the campaign's caps and delays.
    """
    if outcome in FINAL_OUTCOMES:
        return NextStep(final_state=FINAL_OUTCOMES[outcome], phone_index=phone_index)
    if outcome is CallOutcome.FAILED:
        if phone_index + 1 >= phone_count:
            return NextStep(final_state=ContactState.FAILED, phone_index=phone_index)
        if attempts_made >= policy.max_attempts:
            return NextStep(final_state=ContactState.FAILED, phone_index=phone_index)
        return NextStep(
            final_state=None,
            delay_seconds=policy.failure_retry_delay_seconds,
            phone_index=phone_index + 1,
        )
    # Unreached: retry the same phone while attempts remain.
    if attempts_made >= policy.max_attempts:
        return NextStep(final_state=ContactState.EXCLUDED, phone_index=phone_index)
    return NextStep(
        final_state=None, delay_seconds=policy.retry_delay_seconds, phone_index=phone_index
    )
