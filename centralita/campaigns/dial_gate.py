"""Whether a contact may be dialled now, and when next: the rules applied to one contact.

Pure: the dispatcher uses it to choose due contacts, the attempt re-checks with it at
dial time, and the result step uses `after_attempt` to schedule what follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from centralita.campaigns.calling_rules import (
    AttemptFact,
    CapVerdict,
    check_caps,
    in_window,
    next_allowed_moment,
)
from centralita.campaigns.policy import CampaignPolicy
from centralita.campaigns.retry_rules import next_step
from centralita.kernel.calls import CallOutcome, ContactState

# Without a time from the person, a callback is tried after this long.
DEFAULT_CALLBACK_DELAY = timedelta(hours=2)
# A callback asked for further ahead is a mishearing (or a joke): it is kept this far
# ahead at most. Unbounded, a date near year 9999 overflowed every later step, and the
# call's result could never be stored.
MAX_CALLBACK_AHEAD = timedelta(days=366)


class Action(StrEnum):
    """What to do with a contact."""

    DIAL = "dial"
    WAIT = "wait"
    FINISH = "finish"


@dataclass(frozen=True)
class Gate:
    """A decision about one contact at one moment."""

    action: Action
    reason: str
    phone_index: int = 0
    phone: str = ""
    not_before: datetime | None = None
    final_state: ContactState | None = None
    callback_at: datetime | None = None


@dataclass(frozen=True)
class ContactFacts:
    """What the rules look at (all read from the store)."""

    phones: list[str]
    phone_index: int
    opted_out: set[str]
    recipient_tz: str
    history: list[AttemptFact]


def _wait_until(
    earliest: datetime, facts: ContactFacts, policy: CampaignPolicy, reason: str, **extra: Any
) -> Gate:
    try:
        when = next_allowed_moment(
            earliest, facts.recipient_tz, policy.schedule, policy.jurisdiction()
        )
    except ValueError as exc:
        return Gate(
            Action.FINISH, f"no calling window ahead: {exc}", final_state=ContactState.FAILED
        )
    return Gate(Action.WAIT, reason, not_before=when, **extra)


def gate(facts: ContactFacts, policy: CampaignPolicy, now: datetime) -> Gate:
    """Dial now, wait until a moment, or finish the contact (opted out, excluded)."""
    choice = next(
        (
            (i, facts.phones[i])
            for i in range(facts.phone_index, len(facts.phones))
            if facts.phones[i] not in facts.opted_out
        ),
        None,
    )
    if choice is None:
        return Gate(Action.FINISH, "every phone opted out", final_state=ContactState.OPTED_OUT)
    index, phone = choice
    caps = check_caps(facts.history, now, facts.recipient_tz, policy.caps, policy.jurisdiction())
    if caps.verdict is CapVerdict.EXCLUDE:
        return Gate(Action.FINISH, caps.reason, final_state=ContactState.EXCLUDED)
    if caps.verdict is CapVerdict.WAIT:
        assert caps.not_before is not None
        return _wait_until(caps.not_before, facts, policy, caps.reason, phone_index=index)
    if not in_window(now, facts.recipient_tz, policy.schedule, policy.jurisdiction()):
        return _wait_until(now, facts, policy, "outside the calling window", phone_index=index)
    return Gate(Action.DIAL, "due", phone_index=index, phone=phone)


def callback_time(extracted: dict[str, Any], now: datetime) -> datetime:
    """When the person asked to be called back: an ISO time, minutes from now, or a default.

    Never before `now`, never more than `MAX_CALLBACK_AHEAD` after it.
    """
    latest = now + MAX_CALLBACK_AHEAD
    raw = extracted.get("callback_at")
    if isinstance(raw, str):
        try:
            asked = datetime.fromisoformat(raw)
        except ValueError:
            asked = None
        if asked is not None and asked.tzinfo is not None:
            return min(max(asked, now), latest)
    minutes = extracted.get("callback_in_minutes")
    if isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes >= 0:
        ahead = MAX_CALLBACK_AHEAD.total_seconds() / 60
        return latest if minutes >= ahead else now + timedelta(minutes=minutes)
    return now + DEFAULT_CALLBACK_DELAY


def after_attempt(
    outcome: CallOutcome,
    extracted: dict[str, Any],
    facts: ContactFacts,
    policy: CampaignPolicy,
    now: datetime,
    disconnection_reason: str = "",
) -> Gate:
    """Schedule what follows an attempt (`facts.history` includes it)."""
    step = next_step(
        outcome,
        attempts_made=len(facts.history),
        phone_index=facts.phone_index,
        phone_count=len(facts.phones),
        policy=policy,
        no_decisions=sum(1 for a in facts.history if a.outcome is CallOutcome.NO_DECISION),
        disconnection_reason=disconnection_reason,
    )
    if step.final_state is not None:
        return Gate(Action.FINISH, step.reason, final_state=step.final_state)
    callback_at = callback_time(extracted, now) if step.callback else None
    earliest = callback_at or now + timedelta(seconds=step.delay_seconds)
    caps = check_caps(
        facts.history, earliest, facts.recipient_tz, policy.caps, policy.jurisdiction()
    )
    if caps.verdict is CapVerdict.EXCLUDE:
        return Gate(Action.FINISH, caps.reason, final_state=ContactState.EXCLUDED)
    if caps.verdict is CapVerdict.WAIT and caps.not_before is not None:
        earliest = max(earliest, caps.not_before)
    # A callback asked outside the window happens at the next allowed moment.
    return _wait_until(
        earliest, facts, policy, step.reason, phone_index=step.phone_index, callback_at=callback_at
    )
