"""An attempt's bookkeeping: the dial-time re-check, applying the result, cancelling.

`record_begin` and `record_result` run inside the call activity (activities/calls.py);
the activities here are what a workflow asks for when that activity could not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from centralita.campaigns.dial_gate import Action, ContactFacts, Gate, after_attempt, gate
from centralita.campaigns.messages import (
    AttemptCancel,
    AttemptRecord,
    BeginAttempt,
    BeginResult,
    ContactDecision,
)
from centralita.campaigns.policy import INVALID_POLICY
from centralita.campaigns.store import attempts, contact_state, opt_outs
from centralita.campaigns.store import call_events as call_webhooks
from centralita.campaigns.store.contact_context import (
    ContactContext,
    StoredPolicyError,
    load_contact,
)
from centralita.kernel.calls import CallOutcome, ContactState
from centralita.kernel.db import Conn, Pool

_FINAL_STATES = {"done", "excluded", "failed", "opted_out", "cancelled"}


def _not_found(what: str) -> ApplicationError:
    return ApplicationError(f"{what} not found", type="NotFound", non_retryable=True)


@contextmanager
def stored_policy_must_be_valid() -> Iterator[None]:
    """Fail the activity for good when the campaign's stored policy is not valid.

    Every retry would read the same row and fail the same way: a retried failure would
    keep an attempt (and its campaign) busy forever instead of ending it with the reason.
    """
    try:
        yield
    except StoredPolicyError as exc:
        raise ApplicationError(str(exc), type=INVALID_POLICY, non_retryable=True) from exc


def facts_of(ctx: ContactContext) -> ContactFacts:
    """The rule inputs of a stored contact."""
    return ContactFacts(
        phones=ctx.phones,
        phone_index=ctx.phone_index,
        opted_out=ctx.opted_out,
        recipient_tz=ctx.timezone,
        history=list(ctx.history),
    )


async def apply_gate(
    conn: Conn,
    ctx: ContactContext,
    decision: Gate,
    now: datetime,
    event_key: str,
    *,
    outcome: CallOutcome | None = None,
) -> ContactDecision:
    """Write a WAIT or FINISH decision to the contact (with its event and last outcome)."""
    if decision.action is Action.FINISH:
        assert decision.final_state is not None
        await contact_state.finish(
            conn,
            contact_id=ctx.contact_id,
            at=now,
            state=decision.final_state,
            reason=decision.reason,
            event_key=event_key,
            outcome=outcome,
        )
        return ContactDecision(
            contact_id=ctx.contact_id, state=decision.final_state, reason=decision.reason
        )
    assert decision.not_before is not None
    await contact_state.reschedule(
        conn,
        contact_id=ctx.contact_id,
        at=now,
        not_before=decision.not_before,
        reason=decision.reason,
        event_key=event_key,
        phone_index=decision.phone_index,
        callback_at=decision.callback_at,
        outcome=outcome,
    )
    return ContactDecision(
        contact_id=ctx.contact_id,
        state=ContactState.RETRY_SCHEDULED,
        reason=decision.reason,
        next_attempt_at=decision.not_before,
    )


async def record_begin(conn: Conn, begin: BeginAttempt) -> BeginResult:
    """Re-check the rules at dial time; record the attempt as dialling or skipped.

    Idempotent: a retry (or a replay after a crash) finds the recorded attempt and
    answers as the first call did, so a dial that began is resumed, never repeated.
    Runs inside the caller's transaction.
    """
    known = await attempts.existing_status(conn, begin.attempt_key)
    ctx = await load_contact(conn, begin.contact_id)
    if ctx is None:
        raise _not_found(f"contact {begin.contact_id}")
    phone = {
        "caller_ids": list(ctx.policy.caller_ids),
        "tenant_id": ctx.tenant_id,
        "carrier_account_id": ctx.policy.carrier_account_id,
    }
    if known is not None:
        return BeginResult(proceed=known in {"dialing", "completed"}, reason=known, **phone)
    decision = (
        Gate(Action.WAIT, f"contact is {ctx.state}")
        if ctx.state in _FINAL_STATES
        else gate(facts_of(ctx), ctx.policy, begin.now)
    )
    if decision.action is Action.DIAL and decision.phone == begin.phone:
        await attempts.insert_attempt(
            conn, ctx.tenant_id, begin, status="dialing", skip_reason=None
        )
        await contact_state.mark_dialing(
            conn,
            contact_id=ctx.contact_id,
            at=begin.now,
            phone=begin.phone,
            attempt_key=begin.attempt_key,
        )
        return BeginResult(proceed=True, reason="dialing", **phone)
    reason = decision.reason if decision.action is not Action.DIAL else "phone changed"
    await attempts.insert_attempt(conn, ctx.tenant_id, begin, status="skipped", skip_reason=reason)
    if ctx.state not in _FINAL_STATES and decision.action is not Action.DIAL:
        await apply_gate(conn, ctx, decision, begin.now, f"{begin.attempt_key}:skipped")
    return BeginResult(proceed=False, reason=reason)


async def record_result(conn: Conn, record: AttemptRecord) -> ContactDecision:
    """Store the call's result and schedule what follows for its contact.

    Idempotent by attempt key (the result and the contact event are upserts). Runs inside
    the caller's transaction.
    """
    contact_id = await attempts.complete_attempt(conn, record.attempt_key, record.result)
    if contact_id is None:
        raise _not_found(f"attempt {record.attempt_key}")
    ctx = await load_contact(conn, contact_id)
    if ctx is None:
        raise _not_found(f"contact {contact_id}")
    await _report_promise(conn, record)
    if ctx.state in _FINAL_STATES:
        # Opted out or cancelled while the call ran: the final state stands.
        return ContactDecision(
            contact_id=contact_id, state=ContactState(ctx.state), reason="already final"
        )
    decision = after_attempt(
        record.result.outcome,
        record.result.extracted,
        facts_of(ctx),
        ctx.policy,
        record.now,
        disconnection_reason=record.result.disconnection_reason,
    )
    if record.result.outcome is CallOutcome.OPT_OUT:
        phone = ctx.phones[ctx.phone_index] if ctx.phone_index < len(ctx.phones) else ""
        await opt_outs.add(
            conn,
            ctx.tenant_id,
            phone,
            reason="asked during the call",
            source="call",
            at=record.now,
            call_key=record.attempt_key,
        )
    applied = await apply_gate(
        conn,
        ctx,
        decision,
        record.now,
        f"{record.attempt_key}:result",
        outcome=record.result.outcome,
    )
    if decision.action is Action.WAIT and decision.callback_at is not None:
        links = await call_webhooks.links_of_attempt(conn, record.attempt_key)
        if links is not None:
            await call_webhooks.record_callback(
                conn,
                links,
                callback_at=decision.callback_at,
                next_attempt_at=decision.not_before,
                reason=record.result.extracted.get("callback_reason"),
                source="campaign",
                occurred_at=record.now,
            )
    return applied


async def _report_promise(conn: Conn, record: AttemptRecord) -> None:
    """`promise_registered` for a promise the call's result reports and no tool told of.

    A carrier that held the conversation elsewhere reports the promise only here.
    """
    extracted = record.result.extracted
    promised = extracted.get("promised_amount") or extracted.get("promised_date")
    if record.result.outcome is not CallOutcome.PROMISE_TO_PAY or not promised:
        return
    links = await call_webhooks.links_of_attempt(conn, record.attempt_key)
    if links is None:
        return
    await call_webhooks.record_promise(
        conn,
        links,
        amount=extracted.get("promised_amount"),
        currency=extracted.get("promised_currency"),
        pay_date=extracted.get("promised_date"),
        source="call_result",
        occurred_at=record.now,
    )


class AttemptActivities:
    """Attempt bookkeeping the workflow itself asks for (local activities: short and rare)."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @activity.defn
    async def finish_attempt(self, record: AttemptRecord) -> ContactDecision:
        """Store a result the workflow decided itself (a dial that could not be placed)."""
        with stored_policy_must_be_valid():
            async with self._pool.connection() as conn, conn.transaction():
                return await record_result(conn, record)

    @activity.defn
    async def cancel_attempt(self, cancel: AttemptCancel) -> None:
        """Record that an attempt was cancelled mid-call (opt-out, campaign cancelled)."""
        with stored_policy_must_be_valid():
            await self._cancel_attempt(cancel)

    async def _cancel_attempt(self, cancel: AttemptCancel) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await attempts.cancel_dialing(
                conn, cancel.attempt_key, at=cancel.now, reason=cancel.reason
            )
            contact_id = await attempts.contact_of_attempt(conn, cancel.attempt_key)
            ctx = await load_contact(conn, contact_id) if contact_id else None
            if ctx is None or ctx.state in _FINAL_STATES:
                return
            decision = gate(facts_of(ctx), ctx.policy, cancel.now)
            if decision.action is Action.DIAL:
                decision = Gate(
                    Action.WAIT,
                    cancel.reason,
                    not_before=cancel.now,
                    phone_index=decision.phone_index,
                )
            await apply_gate(conn, ctx, decision, cancel.now, f"{cancel.attempt_key}:cancelled")
