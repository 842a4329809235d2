"""Per-row validation of uploaded contacts: valid rows are kept, bad ones explained.

A campaign upload must never fail whole for one bad row, and never drop a row quietly:
each rejected row comes back with its number and the reason.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, Field, ValidationError, field_validator

from centralita.store.campaigns import NewContact
from workflows.calling_rules import recipient_timezone


class ContactIn(BaseModel):
    """One contact as a client sends it."""

    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=3, max_length=40, description="Called first (to_number).")
    try_phones: list[str] = Field(
        default_factory=list, max_length=5, description="Tried in order after `phone`."
    )
    external_id: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, description="IANA zone override.")
    segment: str | None = Field(default=None, max_length=100)
    variables: dict[str, Any] = Field(
        default_factory=dict, description="Dynamic variables for the agent (e.g. monto_total)."
    )

    @field_validator("external_id", "segment", "timezone")
    @classmethod
    def _blank_is_absent(cls, value: str | None) -> str | None:
        # Spreadsheets send empty cells as "": that means "no value", not a value.
        if value is None or not value.strip():
            return None
        return value.strip()

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name is empty")
        return value


class InvalidRow:
    """A row that failed before validation (e.g. a ragged CSV line), with why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class RejectedRow(BaseModel):
    """A row that was not stored, and why."""

    row: int = Field(description="1-based position in the upload.")
    reason: str


def to_e164(raw: str, default_region: str | None) -> str:
    """Parse a phone number and return it in E.164.

    Args:
        raw: as typed (spaces, dashes, national or international form).
        default_region: ISO country for numbers written without a country code.

    Raises:
        ValueError: not a valid, dialable number.
    """
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"invalid phone {raw!r}: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"invalid phone {raw!r}: not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_timezone(name: str) -> str:
    """Return `name` if it is a known IANA time zone.

    Raises:
        ValueError: unknown zone.
    """
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


def validate_rows(
    rows: list[Any], default_region: str | None, campaign_timezone: str = "UTC"
) -> tuple[list[NewContact], list[RejectedRow]]:
    """Split raw rows (anything JSON can hold) into storable contacts and rejections.

    Each accepted contact gets the recipient's time zone: the row's override, else the
    one its first phone's number implies, else (ambiguous countries) the campaign's.
    """
    accepted: list[NewContact] = []
    rejected: list[RejectedRow] = []
    seen_external_ids: set[str] = set()
    for index, raw in enumerate(rows, start=1):
        if isinstance(raw, InvalidRow):
            rejected.append(RejectedRow(row=index, reason=raw.reason))
            continue
        try:
            contact = _validate_row(raw, default_region, campaign_timezone)
        except ValueError as exc:
            rejected.append(RejectedRow(row=index, reason=_reason(exc)))
            continue
        if contact.external_id is not None:
            if contact.external_id in seen_external_ids:
                rejected.append(
                    RejectedRow(row=index, reason=f"duplicate external_id {contact.external_id!r}")
                )
                continue
            seen_external_ids.add(contact.external_id)
        accepted.append(contact)
    return accepted, rejected


def _validate_row(raw: Any, default_region: str | None, campaign_timezone: str) -> NewContact:
    if not isinstance(raw, dict):
        raise ValueError(f"a contact must be an object, got {type(raw).__name__}")
    row = ContactIn.model_validate(raw)
    phones: list[str] = []
    for candidate in [row.phone, *row.try_phones]:
        e164 = to_e164(candidate, default_region)
        if e164 not in phones:
            phones.append(e164)
    override = check_timezone(row.timezone) if row.timezone else None
    return NewContact(
        name=row.name,
        phones=phones,
        external_id=row.external_id,
        timezone=override,
        recipient_timezone=recipient_timezone(phones[0], override, campaign_timezone),
        segment=row.segment,
        variables=row.variables,
    )


def _reason(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'row'}: {err['msg']}" for err in exc.errors()
        )
    return str(exc)
