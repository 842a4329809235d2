"""Per-row validation of uploaded contacts: valid rows are kept, bad ones explained.

A campaign upload must never fail whole for one bad row, and never drop a row quietly:
each rejected row comes back with its number and the reason. A row's number is its
1-based position in a JSON `contacts` list, or the line of the CSV file it starts on
(`NumberedRow`; the header is line 1).

A row that repeats an earlier accepted row's first phone or `external_id` is refused
("duplicate of line 3 (same phone)"): the first one is kept, so a contact pasted twice
is called once. Only the first phone is compared: two people may share a fallback line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, Field, ValidationError, field_validator

from centralita.campaigns.calling_rules import recipient_timezone
from centralita.campaigns.store.campaigns import NewContact


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


@dataclass(frozen=True)
class NumberedRow:
    """A row reported by its own number rather than its position: a CSV file's line."""

    number: int
    row: Any
    unit: str = "line"


_ROW_NUMBER = (
    "JSON: the 1-based position in `contacts`; CSV: the line of the file the row starts "
    "on (the header is line 1, blank lines count)."
)


class RejectedRow(BaseModel):
    """A row that was not stored, and why."""

    row: int = Field(description=_ROW_NUMBER)
    reason: str


class RowWarning(BaseModel):
    """A stored row that will probably not go well, and why."""

    row: int = Field(description=_ROW_NUMBER)
    reason: str


class ValidatedRows(NamedTuple):
    """The rows split: contacts to store, rows refused, and warnings on stored rows."""

    accepted: list[NewContact]
    rejected: list[RejectedRow]
    warnings: list[RowWarning]


RowCheck = Callable[[NewContact], list[str]]
"""A further check of a valid row: returns warnings, raises ValueError to refuse it."""


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
        raise ValueError(
            f"invalid phone {raw!r}: {_parse_problem(exc, raw, default_region)}"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"invalid phone {raw!r}: not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_problem(
    exc: phonenumbers.NumberParseException, raw: str, default_region: str | None
) -> str:
    # phonenumbers' own text starts with its error code ("(0) Missing or invalid
    # default region."), which names neither the number's problem nor the fix.
    kind = exc.error_type
    if kind == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        if raw.strip().startswith("+"):
            return "unknown country code"
        if default_region is None:
            return (
                "it has no country code; start it with + and the country code "
                "(+56 9 6123 4567), or set default_region (CL, ES...)"
            )
        return f"unknown default_region {default_region!r}"
    if kind == phonenumbers.NumberParseException.NOT_A_NUMBER:
        return "not a phone number"
    if kind == phonenumbers.NumberParseException.TOO_LONG:
        return "too long"
    return "too short"


def check_region(region: str) -> str:
    """`region` in upper case, if phone numbers know it as a country (CL, ES, US...).

    Raises:
        ValueError: not a region a phone number can belong to.
    """
    upper = region.upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {region!r}; use an ISO country code such as CL or ES")
    return upper


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
    rows: list[Any],
    default_region: str | None,
    campaign_timezone: str = "UTC",
    *,
    check: RowCheck | None = None,
) -> ValidatedRows:
    """Split raw rows (anything JSON can hold) into storable contacts and rejections.

    Each accepted contact gets the recipient's time zone: the row's override, else the
    one its first phone's number implies, else (ambiguous countries) the campaign's.

    Args:
        rows: the rows; a `NumberedRow` is reported by its number, any other by its
            1-based position.
        default_region: ISO country for phones written without a country code.
        campaign_timezone: for numbers whose country spans several zones.
        check: run on each valid row before duplicates are looked for (the campaign's
            agents, `api.contact_agents`).
    """
    accepted: list[NewContact] = []
    rejected: list[RejectedRow] = []
    warnings: list[RowWarning] = []
    # First accepted row of each external id and each first phone, as reported.
    seen_ids: dict[str, str] = {}
    seen_phones: dict[str, str] = {}
    for index, raw in enumerate(rows, start=1):
        number, unit, raw = (
            (raw.number, raw.unit, raw.row) if isinstance(raw, NumberedRow) else (index, "row", raw)
        )
        if isinstance(raw, InvalidRow):
            rejected.append(RejectedRow(row=number, reason=raw.reason))
            continue
        try:
            contact = _validate_row(raw, default_region, campaign_timezone)
            notes = check(contact) if check is not None else []
            _check_unique(contact, seen_ids, seen_phones)
        except ValueError as exc:
            rejected.append(RejectedRow(row=number, reason=_reason(exc)))
            continue
        if contact.external_id is not None:
            seen_ids[contact.external_id] = f"{unit} {number}"
        seen_phones.setdefault(contact.phones[0], f"{unit} {number}")
        warnings.extend(RowWarning(row=number, reason=note) for note in notes)
        accepted.append(contact)
    return ValidatedRows(accepted, rejected, warnings)


def _check_unique(
    contact: NewContact, seen_ids: dict[str, str], seen_phones: dict[str, str]
) -> None:
    if contact.external_id is not None and contact.external_id in seen_ids:
        raise ValueError(
            f"duplicate of {seen_ids[contact.external_id]} "
            f"(same external_id {contact.external_id!r})"
        )
    if contact.phones[0] in seen_phones:
        raise ValueError(f"duplicate of {seen_phones[contact.phones[0]]} (same phone)")


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
