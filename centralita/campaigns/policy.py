"""A campaign's rules as one validated model, and the messages of the campaign workflow."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from centralita.campaigns.calling_rules import (
    PROFILES,
    CampaignSchedule,
    ContactCaps,
    JurisdictionProfile,
)
from centralita.campaigns.messages import CampaignStatus

# Delays and quiet periods are added to dates: past a year they are a typo, and far
# enough past one the addition overflows and every later decision fails.
MAX_DELAY_SECONDS = 366 * 24 * 3600
MAX_QUIET_DAYS = 366

# The ApplicationError type of a policy that cannot be applied (stored invalid, or rules
# that fail when applied): not retried, since a retry would fail the same way forever.
INVALID_POLICY = "InvalidPolicy"


class RetryDelays(BaseModel):
    """How long to wait before calling again, by what happened (at most a year)."""

    model_config = ConfigDict(extra="forbid")

    no_answer_seconds: int = Field(default=3600, ge=0, le=MAX_DELAY_SECONDS)
    busy_seconds: int = Field(default=3600, ge=0, le=MAX_DELAY_SECONDS)
    voicemail_seconds: int = Field(default=7200, ge=0, le=MAX_DELAY_SECONDS)
    failure_seconds: int = Field(default=1800, ge=0, le=MAX_DELAY_SECONDS)
    # The person answered and hung up (or the call was cut) before anything was decided:
    # later the same day, not within the hour (they may have been busy, or upset).
    no_decision_seconds: int = Field(default=7200, ge=0, le=MAX_DELAY_SECONDS)


class CampaignPolicy(BaseModel):
    """Everything that decides who is called when, editable while the campaign runs."""

    # A misspelt rule must be an error, not a silently ignored key (and a default rule).
    model_config = ConfigDict(extra="forbid")

    schedule: CampaignSchedule = Field(default_factory=CampaignSchedule)
    profile: str = Field(default="default", description="Jurisdiction profile (see PROFILES).")
    max_attempts_per_7_days: int | None = Field(
        default=None, ge=1, le=10_000, description="Override of the profile's weekly cap."
    )
    quiet_days_after_conversation: int | None = Field(
        default=None, ge=0, le=MAX_QUIET_DAYS, description="Override of the profile's quiet days."
    )
    caps: ContactCaps = Field(default_factory=ContactCaps)
    retry: RetryDelays = Field(default_factory=RetryDelays)
    concurrency: int = Field(default=5, ge=1, le=500, description="Calls at once, at most.")
    segment_agents: dict[str, str] = Field(
        default_factory=dict, description="Agent (flow) by contact segment, e.g. delinquency type."
    )
    default_agent: str | None = Field(default=None, description="Agent for other segments.")
    caller_ids: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="The numbers this campaign's phone calls show (E.164); a call takes one "
        "with the callee's country code when there is one. Empty: the media worker's pool.",
    )

    carrier_account_id: str | None = Field(
        default=None,
        description="The tenant's carrier account (POST /carrier-accounts) the calls are "
        "placed on; none: the media worker's own carrier.",
    )

    @field_validator("carrier_account_id")
    @classmethod
    def _account_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(f"{value!r} is not a carrier account id (a UUID)") from None

    @field_validator("caller_ids")
    @classmethod
    def _e164_caller_ids(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if not re.fullmatch(r"\+[1-9]\d{6,14}", v)]
        if bad:
            raise ValueError(f"caller IDs must be E.164 (+ and the country code): {bad}")
        return list(dict.fromkeys(values))

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(f"unknown profile {value!r}; known: {', '.join(sorted(PROFILES))}")
        return value

    def jurisdiction(self) -> JurisdictionProfile:
        """The profile with this campaign's overrides applied."""
        base = PROFILES[self.profile]
        overrides: dict[str, int] = {}
        if self.max_attempts_per_7_days is not None:
            overrides["max_attempts_per_7_days"] = self.max_attempts_per_7_days
        if self.quiet_days_after_conversation is not None:
            overrides["quiet_days_after_conversation"] = self.quiet_days_after_conversation
        return base.model_copy(update=overrides)

    def agent_for(self, segment: str | None) -> str | None:
        """The agent that calls a contact of `segment`."""
        if segment is not None and segment in self.segment_agents:
            return self.segment_agents[segment]
        return self.default_agent


def policy_problems(error: ValidationError) -> str:
    """One line naming each invalid field of a policy and what is wrong with it.

    For people and logs: `schedule.weekdays.0: Input should be less than or equal to 6
    (got 9); schedule.holiday_country: ...`.
    """
    parts = []
    for problem in error.errors(include_url=False, include_context=False):
        where = ".".join(str(part) for part in problem["loc"]) or "policy"
        got = problem.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        parts.append(f"{where}: {problem['msg']}{shown}")
    return "; ".join(parts)


def read_stored_policy(stored: Any) -> tuple[CampaignPolicy | None, str | None]:
    """A stored policy, or None and why it is not a valid one.

    Every policy is checked before it is stored, but rows stored before a check existed
    (or edited by hand) can still hold one that is not: whoever reads them must be able
    to show the row, with its problem, instead of failing.
    """
    try:
        return CampaignPolicy.model_validate(stored), None
    except ValidationError as exc:
        return None, policy_problems(exc)


class CampaignCarry(BaseModel):
    """State handed from one run of the campaign workflow to the next (continue-as-new)."""

    policy: CampaignPolicy
    paused: bool = False
    attempts_started: int = 0
    runs: int = 1


# Temporal warns past 10,240 events or 10 MB and fails a workflow past 51,200 events or
# 50 MB: a run stays under the warning's count of events, and far under the failure's size.
HISTORY_LIMIT = 10_240
HISTORY_MARGIN = 240
MAX_HISTORY_BYTES = 20 * 1024 * 1024
# Where a run is cut by default: near the server's own suggestion (4 Ki events), so the
# cut and the drain of 100 calls at once end under 5,000 events. A history is replayed
# whole whenever a worker lost the run (restart, cache eviction): half the events, half
# the replay; the price is twice as many drains (a few seconds each with instant calls,
# up to one call's length with real ones).
DEFAULT_MAX_HISTORY_EVENTS = 4_000
# Past the length check, one dispatch round (a start command and its started event per
# call, workflow tasks between) and the drain before continue-as-new (a completion and
# its workflow task per call) add at most this many events per concurrent call.
EVENTS_PER_CALL = 9


def history_budget(max_history_events: int, concurrency: int) -> int:
    """History length past which a campaign run continues as new, at this concurrency."""
    room = HISTORY_LIMIT - HISTORY_MARGIN - EVENTS_PER_CALL * concurrency
    return min(max_history_events, room)


def history_bound(max_history_events: int, concurrency: int) -> int:
    """The most events a campaign run reaches: its budget, a dispatch round and a drain.

    Signals and policy updates add theirs on top (a few events each, rare).
    """
    return history_budget(max_history_events, concurrency) + EVENTS_PER_CALL * concurrency


class CampaignRunInput(BaseModel):
    """Start (or continue) a campaign's workflow."""

    campaign_id: str
    use_search_attributes: bool = True
    post_call_task_queue: str | None = Field(
        default=None, description="Start a post-call workflow there after each answered call"
    )
    # Recorded in each run's input and carried to the next run: a run started with an
    # earlier default keeps it, so its replay decides the cut where it did.
    max_history_events: int = Field(
        default=DEFAULT_MAX_HISTORY_EVENTS,
        ge=200,
        le=9_000,
        description=(
            "Continue as a new run past this many events (Temporal's limit: 10,240); "
            "lowered further for a high concurrency, so the cut always fits."
        ),
    )
    media_placement: bool = Field(
        default=False,
        description="Place each call on a registered media worker with room (issue 20)",
    )
    carry: CampaignCarry | None = None


class DispatchRequest(BaseModel):
    """Ask which contacts may be dialled now."""

    campaign_id: str
    now: datetime
    limit: int = Field(ge=0)
    exclude_contact_ids: list[str] = Field(default_factory=list)
    policy: CampaignPolicy


class DispatchJob(BaseModel):
    """One contact to dial now."""

    contact_id: str
    attempt_number: int
    phone: str
    agent: str | None = None
    variables: dict[str, object] = Field(default_factory=dict)


class DispatchPlan(BaseModel):
    """Who to dial now, when to look again, and how much is left."""

    jobs: list[DispatchJob]
    wake_at: datetime | None = Field(description="Next moment something becomes due.")
    remaining: int = Field(description="Contacts not yet in a final state.")
    admitted_today: int = 0


class PolicyStored(BaseModel):
    """Persist a campaign's edited policy."""

    campaign_id: str
    policy: CampaignPolicy


class CampaignStatusChange(BaseModel):
    """Record a campaign's new status."""

    campaign_id: str
    status: CampaignStatus


class OptOutSignal(BaseModel):
    """A number asked not to be called again."""

    phone: str


class CampaignProgress(BaseModel):
    """Answer of the campaign workflow's `progress` query."""

    campaign_id: str
    status: CampaignStatus
    active_calls: int
    attempts_started: int
    remaining: int | None
    admitted_today: int
    next_wake_at: datetime | None
    runs: int


class CampaignResult(BaseModel):
    """What a finished campaign workflow returns."""

    campaign_id: str
    status: CampaignStatus
    attempts_started: int
