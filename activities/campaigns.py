"""Campaign-level activities: policy, status, choosing who to dial, spreading opt-outs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.attempts import apply_gate, facts_of
from centralita.campaigns.calling_rules import campaign_day, new_contacts_allowed, next_slot
from centralita.campaigns.dial_gate import Action, gate
from centralita.campaigns.opt_out_signals import signal_opt_out
from centralita.campaigns.policy import (
    INVALID_POLICY,
    CampaignPolicy,
    CampaignStatusChange,
    DispatchJob,
    DispatchPlan,
    DispatchRequest,
    OptOutSignal,
    PolicyStored,
    policy_problems,
    read_stored_policy,
)
from centralita.campaigns.store import campaigns as campaign_store
from centralita.campaigns.store import contact_state
from centralita.campaigns.store.contact_context import ContactContext, load_due
from centralita.kernel.db import Conn, Pool
from centralita.tenants.store.call_owners import call_key_tenant

log = logging.getLogger(__name__)

# Contacts read per round beyond the free call slots: some turn out not to be due
# (window closed, caps) and are rescheduled instead of dialled.
CANDIDATE_FACTOR = 4
MAX_ROUNDS = 10


def _not_found(what: str) -> ApplicationError:
    return ApplicationError(f"{what} not found", type="NotFound", non_retryable=True)


def _invalid_policy(message: str) -> ApplicationError:
    return ApplicationError(message, type=INVALID_POLICY, non_retryable=True)


def _problem(exc: Exception) -> str:
    return policy_problems(exc) if isinstance(exc, ValidationError) else str(exc)


class CampaignActivities:
    """Activities backed by the shared pool."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @activity.defn
    async def load_policy(self, campaign_id: str) -> CampaignPolicy:
        """The campaign's stored policy."""
        async with self._pool.connection() as conn:
            stored = await campaign_store.stored_policy(conn, campaign_id)
        if stored is None:
            raise _not_found(f"campaign {campaign_id}")
        policy, problem = read_stored_policy(stored)
        if policy is None:
            raise _invalid_policy(
                f"campaign {campaign_id}: its stored policy is invalid: {problem}"
            )
        return policy

    @activity.defn
    async def store_policy(self, stored: PolicyStored) -> None:
        """Persist an edited policy (the workflow already validated it)."""
        async with self._pool.connection() as conn:
            await campaign_store.store_policy(conn, stored.campaign_id, stored.policy)

    @activity.defn
    async def set_campaign_status(self, change: CampaignStatusChange) -> None:
        """Record the campaign's status (cancelling also stops its open contacts)."""
        ok = await campaign_store.set_campaign_status(self._pool, change.campaign_id, change.status)
        if not ok:
            raise _not_found(f"campaign {change.campaign_id}")

    @activity.defn
    async def plan_dispatch(self, request: DispatchRequest) -> DispatchPlan:
        """Choose contacts to dial at `request.now`; reschedule or finish the others.

        Retries already admitted come first, then new contacts within the daily quota
        and the batch slots. Every contact that is not dialled gets the moment it next
        becomes due, so it is not looked at again before then.
        """
        try:
            async with self._pool.connection() as conn:
                return await _plan(conn, request)
        except (ValueError, OverflowError) as exc:
            # The calling rules (and a contact's stored policy, read with it) raise these
            # only for rules that cannot be applied: every retry would fail alike.
            raise _invalid_policy(
                f"campaign {request.campaign_id}: its rules cannot be applied: {_problem(exc)}"
            ) from exc

    @activity.defn
    async def broadcast_opt_out(self, signal: OptOutSignal) -> None:
        """Tell every running campaign of the tenant with this number to stop calling it now.

        The tenant is the calling attempt's: its workflow id is the attempt key.
        """
        async with self._pool.connection() as conn:
            tenant = await call_key_tenant(conn, activity.info().workflow_id or "")
        await signal_opt_out(activity.client(), self._pool, signal.phone, tenant_id=tenant)


async def _plan(conn: Conn, request: DispatchRequest) -> DispatchPlan:
    policy, now = request.policy, request.now
    admitted_today = await _admitted_today(conn, request.campaign_id, now, policy)
    new_allowance = new_contacts_allowed(now, policy.schedule, admitted_today)
    jobs: list[DispatchJob] = []
    exclude = list(request.exclude_contact_ids)
    for _ in range(MAX_ROUNDS):
        if len(jobs) >= request.limit:
            break
        batch = await load_due(
            conn, request.campaign_id, now, exclude, (request.limit - len(jobs)) * CANDIDATE_FACTOR
        )
        if not batch:
            break
        activity.heartbeat(len(jobs))
        for ctx in batch:
            exclude.append(ctx.contact_id)
            if len(jobs) >= request.limit:
                break
            if ctx.admitted_at is None and new_allowance <= 0:
                continue  # a new contact waits for the next slot's share of the quota
            job = await _consider(conn, ctx, policy, now)
            if job is None:
                continue
            if ctx.admitted_at is None:
                new_allowance -= 1
                admitted_today += 1
                await contact_state.admit(conn, contact_id=ctx.contact_id, at=now)
            jobs.append(job)
    wake_at, remaining, waiting_new = await campaign_store.outlook(conn, request.campaign_id, now)
    if waiting_new:
        slot = next_slot(now, policy.schedule)
        wake_at = slot if wake_at is None else min(wake_at, slot)
    return DispatchPlan(
        jobs=jobs, wake_at=wake_at, remaining=remaining, admitted_today=admitted_today
    )


async def _consider(
    conn: Conn, ctx: ContactContext, policy: CampaignPolicy, now: datetime
) -> DispatchJob | None:
    # The campaign's current policy (an edit takes effect here), the stored history.
    ctx = ctx.model_copy(update={"policy": policy})
    decision = gate(facts_of(ctx), policy, now)
    if decision.action is not Action.DIAL:
        key = f"plan:{ctx.contact_id}:{ctx.attempts_total}:{now.isoformat()}"
        await apply_gate(conn, ctx, decision, now, key)
        return None
    if decision.phone_index != ctx.phone_index:
        await contact_state.set_phone_index(
            conn, contact_id=ctx.contact_id, phone_index=decision.phone_index
        )
    return DispatchJob(
        contact_id=ctx.contact_id,
        attempt_number=ctx.attempts_total + 1,
        phone=decision.phone,
        agent=policy.agent_for(ctx.segment),
        variables=agent_variables(ctx),
    )


def agent_variables(ctx: ContactContext) -> dict[str, Any]:
    """The contact's dynamic variables for the agent, with its name as `name`.

    Agents greet people by name; a CSV's own `nombre`/`name` column wins. The contact's
    zone (its override, else its number's, as the calling windows read it) goes along as
    `timezone`: the agent resolves "el miércoles" on the contact's clock.
    """
    variables = dict(ctx.variables)
    if ctx.name and "name" not in variables:
        variables = {"name": ctx.name, **variables}
    if ctx.recipient_timezone and "timezone" not in variables:
        variables["timezone"] = ctx.recipient_timezone
    return variables


async def _admitted_today(
    conn: Conn, campaign_id: str, now: datetime, policy: CampaignPolicy
) -> int:
    zone = ZoneInfo(policy.schedule.timezone)
    day_start = datetime.combine(campaign_day(now, policy.schedule), time(0), zone)
    return await campaign_store.admitted_between(conn, campaign_id, day_start.astimezone(UTC), now)
