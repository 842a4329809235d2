"""Request and response bodies of the campaign endpoints."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from api.contact_rows import RejectedRow, RowWarning, check_region, check_timezone
from centralita.campaigns.policy import CampaignPolicy
from centralita.campaigns.store.attempts import AttemptRow
from centralita.campaigns.store.campaigns import CampaignRow, ContactRow


class CampaignCreate(BaseModel):
    """A new campaign; contacts come inline (JSON) or from a CSV upload."""

    name: str = Field(min_length=1, max_length=200)
    timezone: str | None = Field(
        default=None,
        description="The campaign's IANA zone; when given it sets policy.schedule.timezone.",
    )
    default_region: str | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="ISO country for phones written without +country code (e.g. CL, ES).",
    )
    policy: CampaignPolicy = Field(default_factory=CampaignPolicy)
    contacts: list[Any] = Field(
        default_factory=list,
        description="Rows validated one by one (see ContactIn); bad rows come back rejected.",
    )
    start: bool = Field(default=True, description="Start the campaign's workflow at once.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return check_timezone(value) if value else None

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, value: str | None) -> str | None:
        return check_region(value) if value else None

    def effective_policy(self) -> CampaignPolicy:
        """The policy, with the top-level time zone applied to its schedule."""
        if self.timezone is None:
            return self.policy
        schedule = self.policy.schedule.model_copy(update={"timezone": self.timezone})
        return self.policy.model_copy(update={"schedule": schedule})


class CampaignOut(BaseModel):
    """A campaign with its progress."""

    id: str
    name: str
    status: str
    timezone: str
    policy: CampaignPolicy | None = Field(
        description="Null when the stored policy is not valid (see policy_error)."
    )
    policy_error: str | None = Field(
        default=None,
        description="What is wrong with the stored policy (a row stored before a check "
        "existed): each invalid field and why. Null when it is valid.",
    )
    workflow_id: str | None
    temporal_ui_url: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    contacts_total: int = 0
    contacts_by_state: dict[str, int] = Field(default_factory=dict)
    attempts_by_outcome: dict[str, int] = Field(default_factory=dict)
    next_dial_slot: datetime | None = Field(
        default=None, description="Next batch slot (UTC) while the campaign is open."
    )
    quota_used_today: int = Field(default=0, description="New contacts admitted today.")
    calls_waiting_for_media: int = Field(
        default=0,
        description="Calls due now that wait for a media worker with room (every worker "
        "full, draining or gone); they start as soon as one has room.",
    )

    @classmethod
    def build(cls, row: CampaignRow, ui_base: str, **progress: Any) -> CampaignOut:
        """Combine the stored campaign with its progress figures."""
        counts: dict[str, int] = progress.get("contacts_by_state", {})
        return cls(
            **row.model_dump(),
            temporal_ui_url=f"{ui_base}/workflows/{row.workflow_id}" if row.workflow_id else None,
            contacts_total=sum(counts.values()),
            **progress,
        )


class CampaignCreated(BaseModel):
    """Answer to a campaign creation."""

    campaign: CampaignOut
    accepted: int
    rejected: list[RejectedRow]
    warnings: list[RowWarning] = Field(
        default_factory=list,
        description="Stored rows that their agent will probably not be able to call "
        "(a required variable missing), with why.",
    )
    started: bool
    start_error: str | None = None


class PolicyPatch(BaseModel):
    """Fields of the policy to change; the others keep their values."""

    model_config = {"extra": "forbid"}

    schedule: dict[str, Any] | None = None
    profile: str | None = None
    max_attempts_per_7_days: int | None = None
    quiet_days_after_conversation: int | None = None
    caps: dict[str, Any] | None = None
    retry: dict[str, Any] | None = None
    concurrency: int | None = None
    segment_agents: dict[str, str] | None = None
    default_agent: str | None = None
    caller_ids: list[str] | None = None
    carrier_account_id: str | None = None

    def apply(self, current: CampaignPolicy | dict[str, Any]) -> CampaignPolicy:
        """The current policy with this patch merged in (nested models field by field).

        `current` may be a stored policy that is not valid (as JSON): an edit that mends
        every bad field gives a valid policy, one that does not is refused.

        Raises:
            pydantic.ValidationError: the result is not a valid policy.
        """
        merged = (
            current.model_dump(mode="json")
            if isinstance(current, CampaignPolicy)
            else copy.deepcopy(current)
        )
        for key, value in self.model_dump(exclude_unset=True).items():
            if (
                isinstance(value, dict)
                and isinstance(merged.get(key), dict)
                and key != "segment_agents"
            ):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return CampaignPolicy.model_validate(merged)


class ContactOut(ContactRow):
    """A contact with its attempt history."""

    attempts: list[AttemptRow] = Field(default_factory=list)
