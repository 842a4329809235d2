"""When a contact may be called: schedules, legal windows, caps. Pure and deterministic.

Everything here takes the current moment as an argument (UTC, timezone-aware) and
never reads a clock, so workflows, activities and property-based tests all get the
same answers. Times of day are interpreted in the zone named next to them.

Vocabulary:
- campaign schedule: the campaign's own rules in ITS time zone (batch slots, calling
  hours end, weekdays, holidays of a country, daily quota of new contacts).
- jurisdiction profile: the law's rules in the RECIPIENT's time zone (window, weekdays,
  holidays, contact-frequency caps). Shipped as data in `PROFILES`, sources cited
  (`centralita.campaigns.jurisdictions`).
- a call is allowed only inside BOTH (the stricter of the two).

Wall-clock times are mapped to instants DST-safely: a wall time that happens twice (the
fall-back hour) means its first occurrence; one that never happens (the spring-forward
gap) means the first instant after the gap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import phonenumbers
from phonenumbers import timezone as phone_timezones
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

# Re-exported: the profiles live in their own module, with their sources.
from centralita.campaigns.jurisdictions import PROFILES as PROFILES
from centralita.campaigns.jurisdictions import JurisdictionProfile as JurisdictionProfile
from centralita.kernel.calls import NOT_A_CONVERSATION, UNREACHED, CallOutcome

# How far next_allowed_moment / next_slot look before declaring a window that never
# opens: a year plus slack, so a yearly holiday run can never end the search early.
SEARCH_DAYS = 400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)


def _wall_clock(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError(
            "a time of day is read in the campaign's time zone: give it without a UTC "
            "offset (e.g. 09:00)"
        )
    return value


# A time of day on the campaign's wall clock. Refused with an offset at the door (it
# would fail every later decision, `_clock`). JSON Schema's "time" format is RFC 3339's
# full-time, offset required, so the schema states the offset-free form as a pattern.
WallClockTime = Annotated[
    time,
    AfterValidator(_wall_clock),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
            "examples": ["09:00", "20:30:00"],
        }
    ),
]


def _known_zone(name: str) -> str:
    _zone(name)
    return name


def _no_repeats(value: object) -> object:
    # A set would swallow a repeated item silently, and a repeat is a typo more often
    # than not ("[1, 1]" for "[1, 2]"): refuse it before it becomes a set.
    if isinstance(value, list | tuple):
        repeated = sorted({str(v) for v in value if value.count(v) > 1})
        if repeated:
            raise ValueError(f"each item may appear once; repeated: {', '.join(repeated)}")
    return value


def _hhmm(clock: time) -> str:
    return clock.isoformat("minutes" if not (clock.second or clock.microsecond) else "auto")


def _distinct_slots(slots: list[time]) -> list[time]:
    # Compared as times, not as typed: "09:00" and "09:00:00" are one slot.
    repeated = sorted({slot for slot in slots if slots.count(slot) > 1})
    if repeated:
        listed = ", ".join(_hhmm(slot) for slot in repeated)
        raise ValueError(f"each slot may appear once; repeated: {listed}")
    return slots


def _holiday_calendar(country: str | None) -> str | None:
    if country is None:
        return None
    code = country.strip().upper()
    if code not in holidays.list_supported_countries():
        raise ValueError(
            f"no public-holiday calendar for country {country!r}: give an ISO 3166 code "
            "the `holidays` library knows (e.g. CL, ES, US), or null for none"
        )
    return code


# Monday=0 ... Sunday=6, as `date.weekday()` counts.
Weekday = Annotated[int, Field(ge=0, le=6)]
IanaZone = Annotated[
    str,
    AfterValidator(_known_zone),
    WithJsonSchema({"type": "string", "minLength": 1, "examples": ["America/Santiago"]}),
]


class CampaignSchedule(BaseModel):
    """The campaign's own calling rules, in the campaign's time zone.

    Checked whole here, once, for every way a schedule arrives (creation, CSV upload,
    edits, the campaign workflow's update validator): a schedule that cannot be
    applied must be refused before it is stored, never fail the decisions made later.
    """

    model_config = ConfigDict(extra="forbid")

    timezone: IanaZone = Field(default="UTC", description="IANA time zone, e.g. America/Santiago.")
    batch_slots: Annotated[list[WallClockTime], AfterValidator(_distinct_slots)] = Field(
        default_factory=lambda: [time(9, 0), time(12, 0), time(15, 0)],
        min_length=1,
        max_length=96,
        description="Times of day new contacts are admitted; the first opens the window.",
    )
    window_end: WallClockTime = Field(
        default=time(20, 0),
        description="No call starts at or after this (00:00: midnight); after every slot.",
    )
    weekdays: Annotated[frozenset[Weekday], BeforeValidator(_no_repeats)] = Field(
        default=frozenset({0, 1, 2, 3, 4, 5}),
        min_length=1,
        description="Days calls may start, Monday=0 ... Sunday=6, each once.",
    )
    holiday_country: Annotated[str | None, AfterValidator(_holiday_calendar)] = Field(
        default=None, description="ISO country whose public holidays are skipped (e.g. CL)."
    )
    daily_quota: int = Field(
        default=60, ge=1, le=10_000_000, description="New contacts admitted per day."
    )

    @field_validator("window_end")
    @classmethod
    def _after_every_slot(cls, end: time, info: ValidationInfo) -> time:
        # An end of 00:00 is midnight: the window runs to the end of the day.
        slots: list[time] = info.data.get("batch_slots") or []
        late = sorted(slot for slot in slots if end != time(0) and slot >= end)
        if late:
            raise ValueError(
                f"window_end {_hhmm(end)} must come after every batch slot (the window "
                f"runs from the first slot to window_end); not after "
                f"{', '.join(_hhmm(slot) for slot in late)}"
            )
        return end


class ContactCaps(BaseModel):
    """Per-contact limits (bounded: a count past these is a typo, not a rule)."""

    model_config = ConfigDict(extra="forbid")

    calls_per_day: int = Field(default=3, ge=1, le=10_000, description="Per recipient-local day.")
    no_answer_days_to_exclude: int = Field(
        default=3,
        ge=1,
        le=10_000,
        description="Exclude after unanswered calls on this many distinct days.",
    )
    no_decision_to_exclude: int = Field(
        default=3,
        ge=1,
        le=10_000,
        description="Exclude after this many conversations that ended with no decision.",
    )
    max_attempts: int = Field(default=15, ge=1, le=10_000, description="Attempts overall, at most.")


class AttemptFact(BaseModel):
    """One past attempt of a contact, as the caps see it."""

    started_at: datetime
    outcome: CallOutcome


class CapVerdict(StrEnum):
    """What the caps say about calling a contact now."""

    ALLOWED = "allowed"
    WAIT = "wait"
    EXCLUDE = "exclude"


class CapDecision(BaseModel):
    """Verdict plus, for WAIT, the earliest moment the caps allow (UTC)."""

    verdict: CapVerdict
    not_before: datetime | None = None
    reason: str


# --- time helpers ---------------------------------------------------------------------


def _utc(moment: datetime, what: str = "moment") -> datetime:
    # A naive datetime would silently be read as the host's local time: refuse it.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {moment!r}")
    return moment.astimezone(UTC)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _clock(value: time) -> time:
    # An offset on a time of day would fight the zone it is read in.
    if value.tzinfo is not None:
        raise ValueError(f"times of day must be naive (read in their zone), got {value!r}")
    return value


@lru_cache(maxsize=512)
def _holiday_dates(country: str, year: int) -> frozenset[date]:
    # Cached per (country, year): `holidays` computes a year at a time and is slow-ish.
    try:
        return frozenset(holidays.country_holidays(country, years=year).keys())
    except NotImplementedError as exc:
        raise ValueError(f"no public-holiday calendar for country {country!r}") from exc


def _day_allowed(day: date, weekdays: frozenset[int], country: str | None) -> bool:
    if day.weekday() not in weekdays:
        return False
    return country is None or day not in _holiday_dates(country, day.year)


def _offset_at(zone: ZoneInfo, seconds: int) -> timedelta | None:
    return (_EPOCH + timedelta(seconds=seconds)).astimezone(zone).utcoffset()


def _first_offset_change(zone: ZoneInfo, after: datetime, before: datetime) -> datetime:
    """The first whole-second instant in (after, before] whose UTC offset differs from after's.

    Offsets change at whole seconds, so a binary search over epoch seconds is exact.
    """
    base = after.astimezone(zone).utcoffset()
    lo = (after - _EPOCH) // _SECOND
    hi = -((_EPOCH - before) // _SECOND)  # ceiling
    if _offset_at(zone, hi) == base:  # no change after all (cannot happen with tzdata)
        return before
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_at(zone, mid) == base:
            lo = mid
        else:
            hi = mid
    return _EPOCH + timedelta(seconds=hi)


def _wall_to_utc(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The first instant whose wall clock reads `day clock`, or the end of the gap hiding it."""
    naive = datetime.combine(day, clock)
    # fold=0 is the first of two occurrences in an overlap, and in a gap it applies the
    # pre-gap offset, which lands after the gap: the round trip then shows another time.
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    before_gap = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return _first_offset_change(zone, before_gap, first)


def _slots(schedule: CampaignSchedule) -> list[time]:
    # Duplicates would count twice in the quota; order is the caller's business.
    return sorted({_clock(slot) for slot in schedule.batch_slots})


# --- windows ----------------------------------------------------------------------------


class _DailyWindow(NamedTuple):
    """One side of the window: [start, end) wall time on allowed days, in one zone."""

    zone: ZoneInfo
    start: time
    end: time
    weekdays: frozenset[int]
    country: str | None

    def holds(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        # An end of 00:00 is midnight: the window runs to the end of the day.
        before_end = self.end == time(0) or local.time() < self.end
        if not (self.start <= local.time() and before_end):
            return False
        return _day_allowed(local.date(), self.weekdays, self.country)

    def next_change(self, moment: datetime) -> datetime:
        """A moment > `moment` before which this (false) window cannot become true.

        With a constant UTC offset the wall clock only opens the window by reaching
        `start` on an allowed day or by starting a new day; an offset change can move
        the wall clock anywhere, so it is a stopping point too.
        """
        local = moment.astimezone(self.zone)
        wall = local.replace(tzinfo=None)
        if local.time() < self.start and _day_allowed(local.date(), self.weekdays, self.country):
            target = datetime.combine(local.date(), self.start)
        else:
            target = datetime.combine(local.date() + _DAY, time(0))
        candidate = moment + (target - wall)
        if candidate.astimezone(self.zone).utcoffset() != local.utcoffset():
            return _first_offset_change(self.zone, moment, candidate)
        return candidate


def _windows(
    recipient_tz: str, schedule: CampaignSchedule, profile: JurisdictionProfile
) -> tuple[_DailyWindow, _DailyWindow]:
    campaign = _DailyWindow(
        _zone(schedule.timezone),
        _slots(schedule)[0],  # nobody is called before the first batch of the day
        _clock(schedule.window_end),
        schedule.weekdays,
        schedule.holiday_country,
    )
    recipient = _DailyWindow(
        _zone(recipient_tz),
        _clock(profile.window_start),
        _clock(profile.window_end),
        profile.weekdays,
        profile.holiday_country,
    )
    return campaign, recipient


def recipient_timezone(phone_e164: str, override: str | None, campaign_timezone: str) -> str:
    """The IANA zone the recipient lives in.

    Args:
        phone_e164: The recipient's number in E.164 form (``+56221234567``).
        override: The contact's own zone, if the campaign knows it; blank means none.
        campaign_timezone: The campaign's zone, used when the number alone can't tell.

    Returns:
        The override if given; else the number's zone when `phonenumbers` names exactly
        one; else (several zones, as for Spanish mobiles or Australia, or none known) the
        campaign's zone.

    Raises:
        ValueError: The number is not a valid phone number, or a zone is unknown.
    """
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    if override is not None and override.strip():
        _zone(override.strip())
        return override.strip()
    _zone(campaign_timezone)
    zones = phone_timezones.time_zones_for_number(number)
    if len(zones) == 1:
        try:
            _zone(zones[0])  # "Etc/Unknown", or an alias this tzdata lacks
        except ValueError:
            return campaign_timezone
        return zones[0]
    return campaign_timezone


def in_window(
    moment: datetime, recipient_tz: str, schedule: CampaignSchedule, profile: JurisdictionProfile
) -> bool:
    """Whether a call may START at `moment` (UTC).

    Args:
        moment: The instant, timezone-aware.
        recipient_tz: The recipient's IANA zone (see `recipient_timezone`).
        schedule: The campaign's rules, read in the campaign's zone: allowed weekday, not a
            holiday, and between the first batch slot and `window_end`.
        profile: The jurisdiction's rules, read in the recipient's zone.

    Returns:
        True iff both the campaign's and the jurisdiction's windows are open.

    Raises:
        ValueError: Naive `moment`, unknown zone or holiday country.
    """
    at = _utc(moment)
    return all(window.holds(at) for window in _windows(recipient_tz, schedule, profile))


def next_allowed_moment(
    earliest: datetime,
    recipient_tz: str,
    schedule: CampaignSchedule,
    profile: JurisdictionProfile,
) -> datetime:
    """The first moment >= `earliest` (UTC) at which `in_window` is true.

    Jumps from one possible opening to the next (a window's start, a midnight, a UTC
    offset change) instead of scanning minutes, so the answer is exact and cheap.

    Args:
        earliest: Timezone-aware lower bound.
        recipient_tz: The recipient's IANA zone.
        schedule: The campaign's rules.
        profile: The jurisdiction's rules.

    Returns:
        The earliest allowed instant, in UTC (`earliest` itself if it is allowed).

    Raises:
        ValueError: Naive input, unknown zone, or no allowed moment within `SEARCH_DAYS`.
    """
    moment = _utc(earliest, "earliest")
    windows = _windows(recipient_tz, schedule, profile)
    if any((w.end != time(0) and w.start >= w.end) or not w.weekdays for w in windows):
        raise ValueError("the calling window never opens (empty hours or no weekdays)")
    limit = moment + timedelta(days=SEARCH_DAYS)
    while moment <= limit:
        closed = [w for w in windows if not w.holds(moment)]
        if not closed:
            return moment
        # Both must be open: nothing opens before the latest of the closed ones' bounds.
        moment = max(w.next_change(moment) for w in closed)
    raise ValueError(f"the calling window does not open within {SEARCH_DAYS} days")


def next_slot(now: datetime, schedule: CampaignSchedule) -> datetime:
    """The first batch-slot start strictly after `now` on an allowed, non-holiday day (UTC).

    Args:
        now: Timezone-aware current moment.
        schedule: The campaign's rules (slots read in the campaign's zone).

    Returns:
        The slot's start in UTC; a slot skipped by a DST gap starts when the gap ends.

    Raises:
        ValueError: Naive `now`, unknown zone, or no slot within `SEARCH_DAYS`.
    """
    at = _utc(now, "now")
    zone = _zone(schedule.timezone)
    slots = _slots(schedule)
    # From the day before: a fall-back night can show yesterday's wall clock again.
    first_day = at.astimezone(zone).date() - _DAY
    best: datetime | None = None
    found_on: date | None = None
    for offset in range(SEARCH_DAYS + 2):
        day = first_day + timedelta(days=offset)
        if found_on is not None and day > found_on + _DAY:
            break  # one more day checked in case DST reorders two days' slots
        if not _day_allowed(day, schedule.weekdays, schedule.holiday_country):
            continue
        for slot in slots:
            start = _wall_to_utc(day, slot, zone)
            if start > at and (best is None or start < best):
                best, found_on = start, found_on or day
    if best is None:
        raise ValueError(f"no batch slot within {SEARCH_DAYS} days")
    return best


def campaign_day(moment: datetime, schedule: CampaignSchedule) -> date:
    """The campaign-local calendar date of `moment`.

    Raises:
        ValueError: Naive `moment` or unknown zone.
    """
    return _utc(moment).astimezone(_zone(schedule.timezone)).date()


def new_contacts_allowed(now: datetime, schedule: CampaignSchedule, admitted_today: int) -> int:
    """How many NEW contacts may be admitted at `now`, given those admitted today.

    The quota is released cumulatively by slot: once k of today's n slots have started,
    ceil(quota * k / n) contacts may have been admitted today. Rounding up means the
    whole quota is out by the last slot, and earlier slots never get less than their share.

    Args:
        now: Timezone-aware current moment.
        schedule: The campaign's rules.
        admitted_today: New contacts already admitted on this campaign-local day.

    Returns:
        The number still allowed now (0 before the first slot, on disallowed weekdays and
        on holidays).

    Raises:
        ValueError: Naive `now`, unknown zone, or a negative count.
    """
    if admitted_today < 0:
        raise ValueError("admitted_today must be >= 0")
    at = _utc(now, "now")
    zone = _zone(schedule.timezone)
    today = at.astimezone(zone).date()
    if not _day_allowed(today, schedule.weekdays, schedule.holiday_country):
        return 0
    slots = _slots(schedule)
    # Compare instants, not wall times: a fall-back hour repeats wall times, and the
    # allowance must never go back down.
    started = sum(1 for slot in slots if _wall_to_utc(today, slot, zone) <= at)
    allowance = -(-schedule.daily_quota * started // len(slots))
    return max(0, allowance - admitted_today)


def check_caps(
    history: list[AttemptFact],
    now: datetime,
    recipient_tz: str,
    caps: ContactCaps,
    profile: JurisdictionProfile,
) -> CapDecision:
    """Apply per-contact caps and the profile's frequency rules to a contact's history.

    Exclusions come first (max attempts; unanswered on N distinct recipient-local days
    with no conversation ever), then waits (calls per recipient-local day; the profile's
    rolling 7-day cap; its quiet days after a conversation). When several waits apply,
    the latest `not_before` wins, and every reason is kept.

    Args:
        history: Past attempts of this contact, in any order.
        now: Timezone-aware current moment.
        recipient_tz: The recipient's IANA zone (days are the recipient's days).
        caps: The campaign's per-contact caps.
        profile: The jurisdiction profile (with the campaign's overrides applied).

    Returns:
        ALLOWED, WAIT with `not_before` (UTC, later than `now`), or EXCLUDE; with a reason.

    Raises:
        ValueError: Naive datetimes or unknown zone.
    """
    at = _utc(now, "now")
    zone = _zone(recipient_tz)
    attempts = sorted(
        ((_utc(a.started_at, "started_at"), a.outcome) for a in history), key=lambda a: a[0]
    )

    if len(attempts) >= caps.max_attempts:
        return CapDecision(
            verdict=CapVerdict.EXCLUDE,
            reason=f"max attempts reached ({len(attempts)} of {caps.max_attempts})",
        )
    unanswered_days = {t.astimezone(zone).date() for t, o in attempts if o in UNREACHED}
    conversations = [t for t, o in attempts if o not in NOT_A_CONVERSATION]
    if len(unanswered_days) >= caps.no_answer_days_to_exclude and not conversations:
        return CapDecision(
            verdict=CapVerdict.EXCLUDE,
            reason=f"no answer on {len(unanswered_days)} distinct days and never reached",
        )

    waits: list[tuple[datetime, str]] = []
    today = at.astimezone(zone).date()
    calls_today = sum(1 for t, _ in attempts if t.astimezone(zone).date() == today)
    if calls_today >= caps.calls_per_day:
        tomorrow = _wall_to_utc(today + _DAY, time(0), zone)  # DST-safe start of next day
        waits.append((tomorrow, f"{calls_today} calls today, cap {caps.calls_per_day} a day"))
    cap = profile.max_attempts_per_7_days
    recent = [t for t, _ in attempts if at - _WEEK < t <= at]
    if cap and len(recent) >= cap:
        # Once the cap-th most recent attempt leaves the window, one call frees up.
        why = f"{len(recent)} calls in the last 7 days, {profile.name} allows {cap}"
        waits.append((recent[-cap] + _WEEK, why))
    quiet = profile.quiet_days_after_conversation
    if quiet and conversations and conversations[-1] + timedelta(days=quiet) > at:
        why = f"conversation at {conversations[-1].isoformat()}, {quiet} quiet days follow"
        waits.append((conversations[-1] + timedelta(days=quiet), why))

    if waits:
        return CapDecision(
            verdict=CapVerdict.WAIT,
            not_before=max(t for t, _ in waits),
            reason="; ".join(reason for _, reason in waits),
        )
    return CapDecision(verdict=CapVerdict.ALLOWED, reason="within every cap")
