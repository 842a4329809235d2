"""Request and response bodies of the campaign endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from api.contact_rows import RejectedRow, check_timezone
from centralita.store.attempts import AttemptRow
from centralita.store.campaigns import CampaignRow, ContactRow
from workflows.models import CampaignPolicy

MAX_CONTACTS_PER_REQUEST = 10_000


class CampaignCreate(BaseModel):
    """A new campaign with its contacts inline."""

    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="UTC", description="The campaign's IANA time zone.")
    default_region: str | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="ISO country for phones written without +country code (e.g. CL, ES).",
    )
    policy: CampaignPolicy = Field(default_factory=CampaignPolicy)
    contacts: list[Any] = Field(
        min_length=1,
        max_length=MAX_CONTACTS_PER_REQUEST,
        description="Rows validated one by one (see ContactIn); bad rows come back rejected.",
    )
    start: bool = Field(default=True, description="Start dialling at once.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, value: str | None) -> str | None:
        return value.upper() if value else None


class CampaignOut(BaseModel):
    """A campaign with its progress."""

    id: str
    name: str
    status: str
    timezone: str
    policy: CampaignPolicy
    workflow_id: str | None
    temporal_ui_url: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    contacts_by_state: dict[str, int] = Field(default_factory=dict)
    contacts_total: int = 0

    @classmethod
    def build(cls, row: CampaignRow, counts: dict[str, int], ui_base: str) -> CampaignOut:
        """Combine the stored campaign with its contact counts."""
        return cls(
            **row.model_dump(),
            temporal_ui_url=f"{ui_base}/workflows/{row.workflow_id}" if row.workflow_id else None,
            contacts_by_state=counts,
            contacts_total=sum(counts.values()),
        )


class CampaignCreated(BaseModel):
    """Answer to a campaign creation."""

    campaign: CampaignOut
    accepted: int
    rejected: list[RejectedRow]
    started: bool
    start_error: str | None = None


class ContactOut(ContactRow):
    """A contact with its attempt history."""

    attempts: list[AttemptRow] = Field(default_factory=list)


class Page(BaseModel):
    """Pagination echo."""

    limit: int
    offset: int
