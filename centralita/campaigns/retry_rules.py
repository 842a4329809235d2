"""What happens after an attempt: stop, call back, retry later (on which phone), give up.

Pure and deterministic: the attempt's result activity calls it; tests call it directly.
Calling windows and caps are applied afterwards (`calling_rules`), so the delay here
is the earliest the retry may happen, not when it will.
"""

from __future__ import annotations

from dataclasses import dataclass

from centralita.campaigns.policy import CampaignPolicy
from centralita.kernel.calls import AGENT_ERROR, CallOutcome, ContactState

# A person was reached and the conversation settled the contact: never call again.
FINAL_OUTCOMES: dict[CallOutcome, ContactState] = {
    CallOutcome.PROMISE_TO_PAY: ContactState.DONE,
    CallOutcome.COMPLETED: ContactState.DONE,
    CallOutcome.DISPUTED: ContactState.DONE,
    CallOutcome.WRONG_PERSON: ContactState.EXCLUDED,
    CallOutcome.OPT_OUT: ContactState.OPTED_OUT,
}


@dataclass(frozen=True)
class NextStep:
    """The decision after one attempt.

    Attributes:
        final_state: set when the contact is finished; None means call again.
        delay_seconds: earliest retry, counted from the end of this attempt.
        phone_index: which of the contact's phones the next attempt uses.
        callback: the person asked to be called back at a time of their choosing.
        reason: why, in words an operator reads.
    """

    final_state: ContactState | None
    reason: str
    delay_seconds: int = 0
    phone_index: int = 0
    callback: bool = False


def _no_decision_step(
    no_decisions: int, out_of_attempts: bool, phone_index: int, policy: CampaignPolicy
) -> NextStep:
    # Someone answered and nothing was settled: the same phone reaches them, so call it
    # again, until they have cut the conversation short often enough to mean "no".
    cap = policy.caps.no_decision_to_exclude
    if no_decisions >= cap:
        why = f"{no_decisions} conversations ended with no decision (cap {cap})"
        return NextStep(ContactState.EXCLUDED, why, phone_index=phone_index)
    if out_of_attempts:
        return NextStep(ContactState.EXCLUDED, "max attempts reached", phone_index=phone_index)
    return NextStep(
        final_state=None,
        reason="the conversation ended with no decision; retry later",
        delay_seconds=policy.retry.no_decision_seconds,
        phone_index=phone_index,
    )


def _unreached_delay(outcome: CallOutcome, policy: CampaignPolicy) -> int:
    """How long before calling the same phone again after an `UNREACHED` outcome."""
    delays = {
        CallOutcome.NO_ANSWER: policy.retry.no_answer_seconds,
        CallOutcome.BUSY: policy.retry.busy_seconds,
        CallOutcome.VOICEMAIL: policy.retry.voicemail_seconds,
    }
    return delays[outcome]


def next_step(
    outcome: CallOutcome,
    *,
    attempts_made: int,
    phone_index: int,
    phone_count: int,
    policy: CampaignPolicy,
    no_decisions: int = 0,
    disconnection_reason: str = "",
) -> NextStep:
    """Decide what follows an attempt that ended with `outcome`.

    A failed call (the carrier could not connect that number) moves on to the contact's
    next phone; when every phone failed the contact is `failed`. An unanswered call
    retries the same phone after the outcome's delay. A callback request is honoured
    at the time the person asked (the caller resolves that time). A conversation that
    ended with no decision retries the same phone, up to the campaign's cap of such
    conversations.

    Args:
        outcome: how the attempt ended.
        attempts_made: dialled attempts so far for this contact, this one included.
        phone_index: index of the phone this attempt used.
        phone_count: how many phones the contact has.
        policy: the campaign's caps and delays.
        no_decisions: conversations of this contact that ended with no decision, this
            one included.
        disconnection_reason: how the call ended; a failed call whose agent could not
            hold it (`agent_error: ...`) fails the contact at once, with that reason.
    """
    if outcome in FINAL_OUTCOMES:
        return NextStep(
            final_state=FINAL_OUTCOMES[outcome], reason=outcome.value, phone_index=phone_index
        )
    out_of_attempts = attempts_made >= policy.caps.max_attempts
    if outcome is CallOutcome.CALLBACK_REQUESTED:
        return NextStep(
            final_state=None, reason="callback requested", phone_index=phone_index, callback=True
        )
    if outcome is CallOutcome.NO_DECISION:
        return _no_decision_step(no_decisions, out_of_attempts, phone_index, policy)
    if outcome is CallOutcome.FAILED and disconnection_reason.startswith(AGENT_ERROR):
        # The call never rang: the agent cannot read this contact. Another phone (or a
        # retry) would fail the same way, so say why now instead of "every phone failed".
        return NextStep(ContactState.FAILED, disconnection_reason, phone_index=phone_index)
    if outcome is CallOutcome.FAILED:
        if phone_index + 1 >= phone_count:
            return NextStep(ContactState.FAILED, "every phone failed", phone_index=phone_index)
        if out_of_attempts:
            return NextStep(ContactState.FAILED, "max attempts reached", phone_index=phone_index)
        return NextStep(
            final_state=None,
            reason=f"call failed; trying phone {phone_index + 2} of {phone_count}",
            delay_seconds=policy.retry.failure_seconds,
            phone_index=phone_index + 1,
        )
    if out_of_attempts:
        return NextStep(ContactState.EXCLUDED, "max attempts reached", phone_index=phone_index)
    return NextStep(
        final_state=None,
        reason=f"{outcome.value}; retry later",
        delay_seconds=_unreached_delay(outcome, policy),
        phone_index=phone_index,
    )
