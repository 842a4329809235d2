"""Calling windows, batch slots, quotas and caps: tables of real dates, then properties.

The tables pin the rules on concrete days (the users' Chilean campaign, DST changes in
Santiago, Madrid and New York, holidays, the Canary Islands). The properties check the
same functions over random moments, zones, schedules and profiles against an oracle
written here with `zoneinfo` and `holidays` directly, not with the module's helpers.
"""

from __future__ import annotations

import functools
import operator
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centralita.campaigns.calling_rules import (
    PROFILES,
    AttemptFact,
    CampaignSchedule,
    CapVerdict,
    ContactCaps,
    JurisdictionProfile,
    campaign_day,
    check_caps,
    in_window,
    new_contacts_allowed,
    next_allowed_moment,
    next_slot,
    recipient_timezone,
)
from centralita.kernel.calls import CallOutcome

pytestmark = pytest.mark.unit

SCL = "America/Santiago"
MAD = "Europe/Madrid"
NYC = "America/New_York"
LAX = "America/Los_Angeles"
CANARY = "Atlantic/Canary"
EVERY_DAY = frozenset(range(7))
N = CallOutcome.NO_ANSWER

# The users' campaign (issue 3): Chile, 60 new debtors a day in batches at 9, 12 and 15.
CHILE = CampaignSchedule(timezone=SCL, holiday_country="CL", daily_quota=60)
CL = PROFILES["cl_ley_21320"]
US = PROFILES["us_reg_f"]
ES = PROFILES["es"]
# Open all day, every day: isolates the other side of the window in a test.
ALWAYS = JurisdictionProfile(
    name="always", window_start=time(0), window_end=time.max, weekdays=EVERY_DAY, source="test"
)
ANYTIME = CampaignSchedule(batch_slots=[time(0)], window_end=time.max, weekdays=EVERY_DAY)


def at(zone: str, y: int, mo: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:
    """The UTC instant of a wall-clock time in `zone` (fold=1: the second occurrence)."""
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def z(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def schedule(
    tz: str, slots: list[time], end: time, days: frozenset[int] = EVERY_DAY
) -> CampaignSchedule:
    return CampaignSchedule(timezone=tz, batch_slots=slots, window_end=end, weekdays=days)


def window(start: time, end: time) -> JurisdictionProfile:
    return JurisdictionProfile(
        name="w", window_start=start, window_end=end, weekdays=EVERY_DAY, source="test"
    )


# -- profiles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "hours", "weekdays", "country", "weekly", "quiet", "cites"),
    [
        ("default", (time(8), time(21)), frozenset(range(6)), None, None, None, "issue 3"),
        ("us_reg_f", (time(8), time(21)), EVERY_DAY, None, 7, 7, "1006.14(b)(2)"),
        ("cl_ley_21320", (time(8), time(20)), frozenset(range(6)), "CL", 1, None, "21.320"),
        ("es", (time(9), time(21)), frozenset(range(5)), "ES", None, None, "96.2"),
    ],
)
def test_profiles_are_the_cited_rules(
    name: str,
    hours: tuple[time, time],
    weekdays: frozenset[int],
    country: str | None,
    weekly: int | None,
    quiet: int | None,
    cites: str,
) -> None:
    profile = PROFILES[name]
    assert profile.name == name
    assert (profile.window_start, profile.window_end) == hours
    assert profile.weekdays == weekdays
    assert profile.holiday_country == country
    assert profile.max_attempts_per_7_days == weekly
    assert profile.quiet_days_after_conversation == quiet
    assert cites in profile.source


def test_reg_f_source_cites_the_hours_rule_too() -> None:
    assert "1006.6(b)(1)(i)" in US.source


# -- recipient_timezone ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "override", "expected"),
    [
        pytest.param("+34612345678", None, SCL, id="es-mobile-canary-or-madrid-ambiguous"),
        pytest.param("+34928123456", None, CANARY, id="es-las-palmas-landline"),
        pytest.param("+34912345678", None, MAD, id="es-madrid-landline"),
        pytest.param("+56221234567", None, SCL, id="cl-santiago-landline"),
        pytest.param("+12125551234", "", NYC, id="us-nyc-blank-override-ignored"),
        pytest.param("+61412345678", None, SCL, id="au-mobile-many-zones"),
        pytest.param("+18005551234", None, SCL, id="us-toll-free-many-zones"),
        pytest.param("+80012345678", None, SCL, id="non-geographic-etc-unknown"),
        pytest.param("+34612345678", CANARY, CANARY, id="override-settles-ambiguity"),
        pytest.param("+12125551234", LAX, LAX, id="override-beats-number"),
    ],
)
def test_recipient_timezone(phone: str, override: str | None, expected: str) -> None:
    assert recipient_timezone(phone, override, SCL) == expected


@pytest.mark.parametrize(
    ("phone", "override", "campaign_tz"),
    [
        pytest.param("+56912345678", None, SCL, id="invalid-number"),
        pytest.param("hola", None, SCL, id="not-a-number"),
        pytest.param("+34612345678", "Mars/Olympus_Mons", SCL, id="unknown-override"),
        pytest.param("+34612345678", None, "Chile/Nowhere", id="unknown-campaign-zone"),
        pytest.param("+56912345678", CANARY, SCL, id="override-does-not-excuse-bad-number"),
    ],
)
def test_recipient_timezone_rejects(phone: str, override: str | None, campaign_tz: str) -> None:
    with pytest.raises(ValueError, match=r"phone number|time zone"):
        recipient_timezone(phone, override, campaign_tz)


# -- in_window ---------------------------------------------------------------------------

SPAIN = CampaignSchedule(
    timezone=MAD, batch_slots=[time(9)], window_end=time(22), weekdays=EVERY_DAY
)


class WindowCase(NamedTuple):
    moment: datetime
    recipient: str
    schedule: CampaignSchedule
    profile: JurisdictionProfile
    expected: bool


@pytest.mark.parametrize(
    "case",
    [
        # Chile, Thursday 2026-09-17: the profile opens at 8, the first batch at 9.
        pytest.param(WindowCase(at(SCL, 2026, 9, 17, 8, 59), SCL, CHILE, CL, False), id="cl-0859"),
        pytest.param(WindowCase(at(SCL, 2026, 9, 17, 9), SCL, CHILE, CL, True), id="cl-0900"),
        pytest.param(WindowCase(at(SCL, 2026, 9, 17, 19, 59), SCL, CHILE, CL, True), id="cl-1959"),
        pytest.param(WindowCase(at(SCL, 2026, 9, 17, 20), SCL, CHILE, CL, False), id="cl-2000"),
        pytest.param(
            WindowCase(at(SCL, 2026, 9, 18, 10), SCL, CHILE, CL, False), id="cl-fiestas-patrias"
        ),
        pytest.param(WindowCase(at(SCL, 2026, 9, 20, 10), SCL, CHILE, CL, False), id="cl-sunday"),
        pytest.param(WindowCase(at(SCL, 2026, 9, 26, 10), SCL, CHILE, CL, True), id="cl-saturday"),
        # The campaign profile allows Saturday but Chile's law does not allow 20:30.
        pytest.param(
            WindowCase(
                at(SCL, 2026, 9, 26, 20, 30), SCL, schedule(SCL, [time(9)], time(22)), CL, False
            ),
            id="cl-law-stricter-than-campaign",
        ),
        # Santiago campaign (UTC-3), debtor in Los Angeles (UTC-7): the law's 8 a.m. binds.
        pytest.param(WindowCase(z(2026, 9, 17, 12), LAX, CHILE, US, False), id="us-la-0500"),
        pytest.param(WindowCase(z(2026, 9, 17, 14, 59), LAX, CHILE, US, False), id="us-la-0759"),
        pytest.param(WindowCase(z(2026, 9, 17, 15), LAX, CHILE, US, True), id="us-la-0800"),
        # Spain: 2026-10-12 is the Fiesta Nacional; weekends are out; 21:00 is out.
        pytest.param(WindowCase(at(MAD, 2026, 10, 12, 10), MAD, SPAIN, ES, False), id="es-holiday"),
        pytest.param(WindowCase(at(MAD, 2026, 10, 13, 10), MAD, SPAIN, ES, True), id="es-tuesday"),
        pytest.param(WindowCase(at(MAD, 2026, 10, 17, 10), MAD, SPAIN, ES, False), id="es-sat"),
        pytest.param(WindowCase(at(MAD, 2026, 10, 13, 20, 59), MAD, SPAIN, ES, True), id="es-2059"),
        pytest.param(WindowCase(at(MAD, 2026, 10, 13, 21), MAD, SPAIN, ES, False), id="es-2100"),
        # Same instant, 09:30 in Madrid but 08:30 in the Canaries.
        pytest.param(WindowCase(z(2026, 3, 2, 8, 30), MAD, SPAIN, ES, True), id="es-madrid"),
        pytest.param(WindowCase(z(2026, 3, 2, 8, 30), CANARY, SPAIN, ES, False), id="es-canary"),
    ],
)
def test_in_window(case: WindowCase) -> None:
    assert in_window(case.moment, case.recipient, case.schedule, case.profile) is case.expected


def test_in_window_rejects_naive_moments() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        in_window(datetime(2026, 9, 17, 12), SCL, CHILE, CL)  # naive on purpose


# -- next_allowed_moment -----------------------------------------------------------------


class NextCase(NamedTuple):
    earliest: datetime
    recipient: str
    schedule: CampaignSchedule
    profile: JurisdictionProfile
    expected: datetime


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            NextCase(at(SCL, 2026, 9, 17, 7), SCL, CHILE, CL, at(SCL, 2026, 9, 17, 9)),
            id="cl-morning-waits-for-first-batch",
        ),
        pytest.param(
            NextCase(
                at(SCL, 2026, 9, 17, 10, 17) + timedelta(seconds=33.5),
                SCL,
                CHILE,
                CL,
                at(SCL, 2026, 9, 17, 10, 17) + timedelta(seconds=33.5),
            ),
            id="cl-open-now-is-now",
        ),
        pytest.param(
            # Friday 18 and Saturday 19 are holidays, then Sunday: Monday 09:00.
            NextCase(at(SCL, 2026, 9, 17, 20, 30), SCL, CHILE, CL, at(SCL, 2026, 9, 21, 9)),
            id="cl-fiestas-patrias-weekend",
        ),
        pytest.param(
            NextCase(z(2026, 9, 17, 12), LAX, CHILE, US, z(2026, 9, 17, 15)),
            id="us-recipient-window-binds",
        ),
        pytest.param(
            # Santiago falls back at Saturday 24:00 to 23:00: 23:00-23:30 happens twice.
            NextCase(
                at(SCL, 2027, 4, 3, 23, 45),
                "UTC",
                schedule(SCL, [time(22)], time(23, 30)),
                ALWAYS,
                at(SCL, 2027, 4, 3, 23, 0, fold=1),
            ),
            id="santiago-fall-back-reopens-the-window",
        ),
        pytest.param(
            NextCase(
                at(SCL, 2027, 4, 3, 23, 35, fold=1),
                "UTC",
                schedule(SCL, [time(22)], time(23, 30)),
                ALWAYS,
                at(SCL, 2027, 4, 4, 22),
            ),
            id="santiago-fall-back-second-pass-over",
        ),
        pytest.param(
            # Santiago springs forward at Sunday 00:00 to 01:00: 00:30 never happens.
            NextCase(
                at(SCL, 2026, 9, 5, 23, 50),
                "UTC",
                schedule(SCL, [time(0, 30)], time(2), frozenset({6})),
                ALWAYS,
                z(2026, 9, 6, 4),
            ),
            id="santiago-spring-forward-gap",
        ),
        pytest.param(
            NextCase(
                at(MAD, 2026, 3, 29, 1, 50),
                "UTC",
                schedule(MAD, [time(2, 30)], time(4)),
                ALWAYS,
                z(2026, 3, 29, 1),
            ),
            id="madrid-spring-forward-gap",
        ),
        pytest.param(
            NextCase(
                at(MAD, 2026, 10, 25, 2, 50),
                "UTC",
                schedule(MAD, [time(2, 15)], time(2, 45)),
                ALWAYS,
                at(MAD, 2026, 10, 25, 2, 15, fold=1),
            ),
            id="madrid-fall-back-second-pass",
        ),
        pytest.param(
            NextCase(
                z(2026, 3, 8, 6), NYC, ANYTIME, window(time(2, 30), time(4)), z(2026, 3, 8, 7)
            ),
            id="new-york-spring-forward-recipient-gap",
        ),
        pytest.param(
            NextCase(
                at(NYC, 2026, 11, 1, 1, 45),
                NYC,
                ANYTIME,
                window(time(1), time(1, 30)),
                at(NYC, 2026, 11, 1, 1, 0, fold=1),
            ),
            id="new-york-fall-back-recipient-second-pass",
        ),
    ],
)
def test_next_allowed_moment(case: NextCase) -> None:
    got = next_allowed_moment(case.earliest, case.recipient, case.schedule, case.profile)
    assert got == case.expected
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    ("recipient", "sched", "profile"),
    [
        pytest.param(SCL, CHILE.model_copy(update={"weekdays": frozenset()}), CL, id="no-days"),
        pytest.param(SCL, CHILE.model_copy(update={"window_end": time(9)}), CL, id="end-at-slot"),
        pytest.param(SCL, CHILE, CL.model_copy(update={"weekdays": frozenset({6})}), id="cl-sun"),
        # 09:00-10:00 in Santiago is 21:00-22:00 in Tokyo, after the Spanish-style window.
        pytest.param(
            "Asia/Tokyo", schedule(SCL, [time(9)], time(10)), ES, id="windows-never-overlap"
        ),
    ],
)
def test_next_allowed_moment_refuses_windows_that_never_open(
    recipient: str, sched: CampaignSchedule, profile: JurisdictionProfile
) -> None:
    with pytest.raises(ValueError, match=r"never opens|does not open"):
        next_allowed_moment(z(2026, 9, 17), recipient, sched, profile)


# -- next_slot and campaign_day ----------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "sched", "expected"),
    [
        pytest.param(at(SCL, 2026, 9, 17, 8), CHILE, at(SCL, 2026, 9, 17, 9), id="cl-before"),
        pytest.param(at(SCL, 2026, 9, 17, 9), CHILE, at(SCL, 2026, 9, 17, 12), id="cl-strict"),
        pytest.param(
            at(SCL, 2026, 9, 17, 15) - timedelta(microseconds=1),
            CHILE,
            at(SCL, 2026, 9, 17, 15),
            id="cl-just-before-last",
        ),
        pytest.param(
            at(SCL, 2026, 9, 17, 15), CHILE, at(SCL, 2026, 9, 21, 9), id="cl-skips-holidays"
        ),
        pytest.param(
            z(2026, 10, 11, 20),
            SPAIN.model_copy(update={"holiday_country": "ES"}),
            at(MAD, 2026, 10, 13, 9),
            id="es-skips-fiesta-nacional",
        ),
        pytest.param(
            z(2026, 3, 28, 23),
            schedule(MAD, [time(2, 30), time(10)], time(20)),
            z(2026, 3, 29, 1),
            id="madrid-slot-in-gap-starts-when-gap-ends",
        ),
        pytest.param(
            z(2026, 3, 8, 5), schedule(NYC, [time(2, 30)], time(20)), z(2026, 3, 8, 7), id="nyc-gap"
        ),
        pytest.param(
            z(2026, 9, 6, 3),
            schedule(SCL, [time(0, 30)], time(20)),
            z(2026, 9, 6, 4),
            id="santiago-gap-at-midnight",
        ),
        pytest.param(
            z(2026, 10, 25, 0),
            schedule(MAD, [time(2, 30)], time(20)),
            z(2026, 10, 25, 0, 30),
            id="madrid-overlap-first-occurrence",
        ),
        pytest.param(
            z(2026, 10, 25, 0, 30),
            schedule(MAD, [time(2, 30)], time(20)),
            z(2026, 10, 26, 1, 30),
            id="madrid-overlap-no-second-slot",
        ),
    ],
)
def test_next_slot(now: datetime, sched: CampaignSchedule, expected: datetime) -> None:
    assert next_slot(now, sched) == expected


def test_next_slot_refuses_a_schedule_without_days() -> None:
    with pytest.raises(ValueError, match="no batch slot"):
        next_slot(z(2026, 9, 17), CHILE.model_copy(update={"weekdays": frozenset()}))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [(z(2026, 9, 18, 2), date(2026, 9, 17)), (z(2026, 9, 18, 3), date(2026, 9, 18))],
)
def test_campaign_day_is_campaign_local(moment: datetime, expected: date) -> None:
    assert campaign_day(moment, CHILE) == expected


# -- new_contacts_allowed ----------------------------------------------------------------

TEN_IN_THREE = CHILE.model_copy(update={"daily_quota": 10})


@pytest.mark.parametrize(
    ("now", "sched", "admitted", "expected"),
    [
        # The example: Q=60, slots 9/12/15.
        pytest.param(at(SCL, 2026, 9, 17, 8, 59), CHILE, 0, 0, id="before-first-slot"),
        pytest.param(at(SCL, 2026, 9, 17, 9), CHILE, 0, 20, id="first-slot"),
        pytest.param(at(SCL, 2026, 9, 17, 11, 59), CHILE, 20, 0, id="first-share-used"),
        pytest.param(at(SCL, 2026, 9, 17, 12, 30), CHILE, 20, 20, id="second-slot"),
        pytest.param(at(SCL, 2026, 9, 17, 16), CHILE, 55, 5, id="third-slot-catches-up"),
        pytest.param(at(SCL, 2026, 9, 17, 16), CHILE, 70, 0, id="over-quota-is-zero"),
        pytest.param(at(SCL, 2026, 9, 18, 10), CHILE, 0, 0, id="holiday"),
        pytest.param(at(SCL, 2026, 9, 20, 10), CHILE, 0, 0, id="sunday"),
        # Ceil keeps earlier slots from being starved: 4, 7, 10.
        pytest.param(at(SCL, 2026, 9, 17, 9), TEN_IN_THREE, 0, 4, id="ceil-first"),
        pytest.param(at(SCL, 2026, 9, 17, 12), TEN_IN_THREE, 0, 7, id="ceil-second"),
        pytest.param(at(SCL, 2026, 9, 17, 15), TEN_IN_THREE, 0, 10, id="ceil-last"),
        # A slot swallowed by Madrid's spring-forward gap has started once the gap is over.
        pytest.param(
            z(2026, 3, 29, 1),
            schedule(MAD, [time(2, 30), time(12)], time(20)).model_copy(update={"daily_quota": 10}),
            0,
            5,
            id="slot-in-dst-gap",
        ),
        # Madrid falls back at 03:00 to 02:00: a slot at 02:30 stays started on the
        # second pass, when the wall clock reads 02:15 again.
        pytest.param(
            at(MAD, 2026, 10, 25, 2, 45),
            schedule(MAD, [time(2, 30), time(12)], time(20)).model_copy(update={"daily_quota": 10}),
            0,
            5,
            id="fall-back-first-pass",
        ),
        pytest.param(
            at(MAD, 2026, 10, 25, 2, 15, fold=1),
            schedule(MAD, [time(2, 30), time(12)], time(20)).model_copy(update={"daily_quota": 10}),
            0,
            5,
            id="fall-back-second-pass",
        ),
    ],
)
def test_new_contacts_allowed(
    now: datetime, sched: CampaignSchedule, admitted: int, expected: int
) -> None:
    assert new_contacts_allowed(now, sched, admitted) == expected


# -- check_caps --------------------------------------------------------------------------

NOW = at(SCL, 2026, 9, 17, 16)  # Thursday
DEFAULT = PROFILES["default"]
CAPS = ContactCaps()


def tries(*attempts: tuple[datetime, CallOutcome]) -> list[AttemptFact]:
    return [AttemptFact(started_at=moment, outcome=outcome) for moment, outcome in attempts]


class CapCase(NamedTuple):
    history: list[AttemptFact]
    now: datetime
    recipient: str
    caps: ContactCaps
    profile: JurisdictionProfile
    verdict: CapVerdict
    not_before: datetime | None
    reason: str


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(CapCase([], NOW, SCL, CAPS, CL, CapVerdict.ALLOWED, None, "within"), id="new"),
        pytest.param(
            CapCase(
                tries((at(SCL, 2026, 9, 1, 10), CallOutcome.COMPLETED)) * 2,
                NOW,
                SCL,
                ContactCaps(max_attempts=2),
                DEFAULT,
                CapVerdict.EXCLUDE,
                None,
                "max attempts",
            ),
            id="max-attempts",
        ),
        pytest.param(
            CapCase(
                tries(*((at(SCL, 2026, 9, d, 10), N) for d in (14, 15, 16))),
                NOW,
                SCL,
                ContactCaps(max_attempts=3),
                DEFAULT,
                CapVerdict.EXCLUDE,
                None,
                "max attempts",
            ),
            id="max-attempts-checked-first",
        ),
        pytest.param(
            CapCase(
                tries(
                    (at(SCL, 2026, 9, 14, 10), N),
                    (at(SCL, 2026, 9, 15, 10), CallOutcome.BUSY),
                    (at(SCL, 2026, 9, 16, 10), CallOutcome.VOICEMAIL),
                ),
                NOW,
                SCL,
                CAPS,
                DEFAULT,
                CapVerdict.EXCLUDE,
                None,
                "3 distinct days",
            ),
            id="unanswered-three-days",
        ),
        pytest.param(
            CapCase(
                tries(
                    (at(SCL, 2026, 9, 14, 10), N),
                    (at(SCL, 2026, 9, 15, 10), CallOutcome.WRONG_PERSON),
                    (at(SCL, 2026, 9, 15, 11), N),
                    (at(SCL, 2026, 9, 16, 10), N),
                ),
                NOW,
                SCL,
                CAPS,
                DEFAULT,
                CapVerdict.ALLOWED,
                None,
                "within",
            ),
            id="once-reached-never-excluded-for-silence",
        ),
        pytest.param(
            CapCase(
                tries(
                    (at(SCL, 2026, 9, 14, 10), N),
                    (at(SCL, 2026, 9, 15, 10), N),
                    (at(SCL, 2026, 9, 16, 10), CallOutcome.FAILED),
                ),
                NOW,
                SCL,
                CAPS,
                DEFAULT,
                CapVerdict.ALLOWED,
                None,
                "within",
            ),
            id="carrier-failure-is-not-an-unanswered-day",
        ),
        pytest.param(
            # 23:30 and 00:30 Santiago are two days there, one day in UTC (the 17th).
            CapCase(
                tries(
                    (at(SCL, 2026, 9, 15, 10), N),
                    (at(SCL, 2026, 9, 16, 23, 30), N),
                    (at(SCL, 2026, 9, 17, 0, 30), N),
                ),
                NOW,
                SCL,
                CAPS,
                DEFAULT,
                CapVerdict.EXCLUDE,
                None,
                "3 distinct days",
            ),
            id="days-are-recipient-local",
        ),
        pytest.param(
            CapCase(
                tries(
                    (at(SCL, 2026, 9, 15, 10), N),
                    (at(SCL, 2026, 9, 16, 23, 30), N),
                    (at(SCL, 2026, 9, 17, 0, 30), N),
                ),
                NOW,
                "UTC",
                CAPS,
                DEFAULT,
                CapVerdict.ALLOWED,
                None,
                "within",
            ),
            id="same-calls-two-days-in-utc",
        ),
        pytest.param(
            CapCase(
                tries(*((at(SCL, 2026, 9, 17, h), N) for h in (9, 12, 15))),
                NOW,
                SCL,
                CAPS,
                DEFAULT,
                CapVerdict.WAIT,
                at(SCL, 2026, 9, 18),
                "3 calls today",
            ),
            id="three-calls-today-wait-for-tomorrow",
        ),
        pytest.param(
            # Saturday 2026-09-05: Sunday's midnight does not exist in Santiago (01:00).
            CapCase(
                tries(*((at(SCL, 2026, 9, 5, h), N) for h in (9, 12, 15))),
                at(SCL, 2026, 9, 5, 16),
                SCL,
                CAPS,
                DEFAULT,
                CapVerdict.WAIT,
                z(2026, 9, 6, 4),
                "3 calls today",
            ),
            id="tomorrow-starts-after-the-dst-gap",
        ),
        pytest.param(
            # One call a day for seven days (plus an eighth, older): the 11th's call frees
            # a place on the 18th at the same time.
            CapCase(
                tries(*((at(NYC, 2026, 9, d, 10), N) for d in range(10, 18))),
                at(NYC, 2026, 9, 17, 18),
                NYC,
                ContactCaps(no_answer_days_to_exclude=10),
                US,
                CapVerdict.WAIT,
                at(NYC, 2026, 9, 18, 10),
                "7 calls in the last 7 days",
            ),
            id="reg-f-seven-in-seven-days",
        ),
        pytest.param(
            CapCase(
                tries((at(SCL, 2026, 9, 14, 10), N)),
                NOW,
                SCL,
                CAPS,
                CL,
                CapVerdict.WAIT,
                at(SCL, 2026, 9, 21, 10),
                "cl_ley_21320 allows 1",
            ),
            id="chile-one-a-week",
        ),
        pytest.param(
            CapCase(
                tries((NOW - timedelta(days=7), N)),
                NOW,
                SCL,
                CAPS,
                CL,
                CapVerdict.ALLOWED,
                None,
                "within",
            ),
            id="chile-a-week-later-exactly",
        ),
        pytest.param(
            CapCase(
                tries((z(2026, 9, 15, 14), CallOutcome.CALLBACK_REQUESTED)),
                z(2026, 9, 17, 22),
                NYC,
                CAPS,
                US,
                CapVerdict.WAIT,
                z(2026, 9, 22, 14),
                "7 quiet days",
            ),
            id="reg-f-quiet-after-conversation",
        ),
        pytest.param(
            CapCase(
                tries((z(2026, 9, 10, 22, 1), CallOutcome.COMPLETED)),
                z(2026, 9, 17, 22),
                NYC,
                CAPS,
                US,
                CapVerdict.WAIT,
                z(2026, 9, 17, 22, 1),
                "quiet days",
            ),
            id="reg-f-quiet-one-minute-left",
        ),
        pytest.param(
            CapCase(
                tries((z(2026, 9, 10, 22), CallOutcome.COMPLETED)),
                z(2026, 9, 17, 22),
                NYC,
                CAPS,
                US,
                CapVerdict.ALLOWED,
                None,
                "within",
            ),
            id="reg-f-quiet-days-over",
        ),
        pytest.param(
            # Three calls today AND a conversation today: the later wait (7 days) wins.
            CapCase(
                tries(
                    (at(NYC, 2026, 9, 17, 9), N),
                    (at(NYC, 2026, 9, 17, 10), N),
                    (at(NYC, 2026, 9, 17, 11), CallOutcome.PROMISE_TO_PAY),
                ),
                at(NYC, 2026, 9, 17, 12),
                NYC,
                CAPS,
                US,
                CapVerdict.WAIT,
                at(NYC, 2026, 9, 24, 11),
                "3 calls today",
            ),
            id="several-waits-latest-wins",
        ),
    ],
)
def test_check_caps(case: CapCase) -> None:
    decision = check_caps(case.history, case.now, case.recipient, case.caps, case.profile)
    assert decision.verdict is case.verdict
    assert decision.not_before == case.not_before
    assert case.reason in decision.reason


def test_several_waits_keep_every_reason() -> None:
    history = tries(*((at(NYC, 2026, 9, 17, h), CallOutcome.COMPLETED) for h in (9, 10, 11)))
    decision = check_caps(history, at(NYC, 2026, 9, 17, 12), NYC, CAPS, US)
    assert "calls today" in decision.reason
    assert "quiet days" in decision.reason


def test_check_caps_rejects_naive_datetimes() -> None:
    naive = datetime(2026, 9, 17, 12)  # naive on purpose
    with pytest.raises(ValueError, match="timezone-aware"):
        check_caps([], naive, SCL, CAPS, CL)
    with pytest.raises(ValueError, match="timezone-aware"):
        check_caps(tries((naive, N)), NOW, SCL, CAPS, CL)


# == properties ==========================================================================
#
# The oracle below reads wall clocks with zoneinfo and holidays with `holidays`, as a
# reviewer would by hand; it shares no code with the module.

ZONES = [
    SCL,
    MAD,
    CANARY,
    NYC,
    LAX,
    "America/Havana",  # DST changes at midnight
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Auckland",
    "Europe/London",
    "UTC",
]
COUNTRIES: list[str | None] = [None, "CL", "ES", "US"]
FIRST, LAST = datetime(2024, 1, 1), datetime(2030, 12, 31)  # naive bounds, UTC moments
STEP = timedelta(minutes=5)  # every generated time of day is on this grid


@functools.cache
def _holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year))


def _open_in(
    moment: datetime,
    zone: str,
    start: time,
    end: time,
    weekdays: frozenset[int],
    country: str | None,
) -> bool:
    local = moment.astimezone(ZoneInfo(zone))
    if local.weekday() not in weekdays:
        return False
    if country is not None and local.date() in _holidays(country, local.year):
        return False
    # An end of 00:00 is midnight: open to the end of the day.
    return start <= local.time() and (end == time(0) or local.time() < end)


def _empty(start: time, end: time) -> bool:
    return end != time(0) and start >= end


def _open(
    moment: datetime, recipient: str, sched: CampaignSchedule, profile: JurisdictionProfile
) -> bool:
    campaign_open = _open_in(
        moment,
        sched.timezone,
        min(sched.batch_slots),
        sched.window_end,
        sched.weekdays,
        sched.holiday_country,
    )
    return campaign_open and _open_in(
        moment,
        recipient,
        profile.window_start,
        profile.window_end,
        profile.weekdays,
        profile.holiday_country,
    )


@functools.cache
def _dst_noons(name: str) -> tuple[datetime, ...]:
    """Noon UTC of each day before a UTC-offset change of `name`, 2024-2030."""
    zone, noons = ZoneInfo(name), []
    noon = datetime(2024, 1, 1, 12, tzinfo=UTC)
    while noon.year < 2031:
        if (
            noon.astimezone(zone).utcoffset()
            != (noon + timedelta(days=1)).astimezone(zone).utcoffset()
        ):
            noons.append(noon)
        noon += timedelta(days=1)
    return tuple(noons)


def _on_grid(moment: datetime) -> datetime:
    return moment - (moment - datetime.min.replace(tzinfo=UTC)) % STEP


uniform_moments = st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(UTC))
zones = st.sampled_from(ZONES)


def moments_near(*names: str) -> st.SearchStrategy[datetime]:
    """Moments in 2024-2030, half of them within 36 h of a DST change of one of `names`.

    Half are also snapped to the 5-minute grid, where every window boundary lies, so
    "exactly at the boundary" cases come up as often as "somewhere inside".
    """
    around = [
        st.builds(
            operator.add,
            st.sampled_from(_dst_noons(name)),
            st.timedeltas(min_value=timedelta(hours=-36), max_value=timedelta(hours=36)),
        )
        for name in names
        if _dst_noons(name)
    ]
    near_dst = st.one_of(*around) if around else uniform_moments
    raw = st.one_of(uniform_moments, near_dst)
    return st.one_of(raw, raw.map(_on_grid))


def clocks(first_hour: int, last_hour: int) -> st.SearchStrategy[time]:
    return st.builds(time, st.integers(first_hour, last_hour), st.sampled_from(range(0, 60, 5)))


@st.composite
def schedules(draw: st.DrawFn, zone: str) -> CampaignSchedule:
    # Built unchecked: the model refuses a window that ends before a slot, but the rules
    # must stay right for any schedule (a row stored before that check, an old history).
    return CampaignSchedule.model_construct(
        timezone=zone,
        batch_slots=draw(st.lists(clocks(0, 20), min_size=1, max_size=4, unique=True)),
        window_end=draw(st.one_of(clocks(6, 23), st.just(time.max))),
        weekdays=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        holiday_country=draw(st.sampled_from(COUNTRIES)),
        daily_quota=draw(st.integers(1, 200)),
    )


@st.composite
def profiles(draw: st.DrawFn) -> JurisdictionProfile:
    return JurisdictionProfile(
        name="random",
        window_start=draw(clocks(0, 12)),
        window_end=draw(st.one_of(clocks(8, 23), st.just(time.max))),
        weekdays=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        holiday_country=draw(st.sampled_from(COUNTRIES)),
        max_attempts_per_7_days=draw(st.none() | st.integers(1, 8)),
        quiet_days_after_conversation=draw(st.none() | st.integers(0, 8)),
        source="hypothesis",
    )


class Situation(NamedTuple):
    moment: datetime
    recipient: str
    schedule: CampaignSchedule
    profile: JurisdictionProfile


@st.composite
def situations(draw: st.DrawFn) -> Situation:
    """A campaign zone and a recipient zone, and a moment often near a DST change of either.

    One in three is aimed straight at a DST change (see `dst_situations`).
    """
    if draw(st.integers(0, 2)) == 0:
        return draw(dst_situations())
    campaign_zone, recipient = draw(zones), draw(zones)
    return Situation(
        moment=draw(moments_near(campaign_zone, recipient)),
        recipient=recipient,
        schedule=draw(schedules(campaign_zone)),
        profile=draw(profiles()),
    )


DST_ZONES = [name for name in ZONES if _dst_noons(name)]


def _first_instant_after_change(noon: datetime, zone: ZoneInfo) -> datetime:
    # Offsets change on the 5-minute UTC grid (whole or half hours), so stepping finds it.
    moment = noon
    while moment.astimezone(zone).utcoffset() == noon.astimezone(zone).utcoffset():
        moment += STEP
    return moment


@st.composite
def dst_situations(draw: st.DrawFn) -> Situation:
    """Slots, window edges and moments placed in and around a DST gap or repeated hour."""
    name = draw(st.sampled_from(DST_ZONES))
    zone = ZoneInfo(name)
    change = _first_instant_after_change(draw(st.sampled_from(_dst_noons(name))), zone)
    wall = change.astimezone(zone).replace(tzinfo=None)
    # Times of day from 70 minutes before to 70 minutes after the wall clock right after
    # the change: this covers the skipped or repeated hour (30 minutes on Lord Howe).
    near = st.integers(-14, 14).map(lambda k: (wall + k * STEP).time())
    recipient = draw(st.sampled_from([name, name, *ZONES]))
    moment = change + draw(st.timedeltas(timedelta(hours=-30), timedelta(hours=3)))
    return Situation(
        moment=_on_grid(moment) if draw(st.booleans()) else moment,
        recipient=recipient,
        schedule=CampaignSchedule.model_construct(  # unchecked, as in `schedules`
            timezone=name,
            batch_slots=draw(st.lists(near, min_size=1, max_size=3, unique=True)),
            window_end=draw(st.one_of(near, st.just(time.max))),
            weekdays=draw(st.sampled_from([EVERY_DAY, frozenset(range(6))])),
            daily_quota=draw(st.integers(1, 200)),
        ),
        profile=JurisdictionProfile(
            name="around-dst",
            window_start=draw(st.one_of(near, st.just(time(0)))),
            window_end=draw(st.one_of(near, st.just(time.max))),
            weekdays=EVERY_DAY,
            max_attempts_per_7_days=draw(st.none() | st.integers(1, 8)),
            quiet_days_after_conversation=draw(st.none() | st.integers(0, 8)),
            source="hypothesis",
        ),
    )


PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(case=situations())
def test_in_window_agrees_with_the_oracle(case: Situation) -> None:
    moment, recipient, sched, profile = case
    assert in_window(moment, recipient, sched, profile) is _open(moment, recipient, sched, profile)


@PROPERTY
@given(
    case=situations(),
    probes=st.lists(st.floats(0, 1, exclude_max=True), min_size=30, max_size=30),
)
def test_next_allowed_moment_is_the_first_open_moment(case: Situation, probes: list[float]) -> None:
    moment, recipient, sched, profile = case
    try:
        result = next_allowed_moment(moment, recipient, sched, profile)
    except ValueError:
        if _empty(min(sched.batch_slots), sched.window_end) or _empty(
            profile.window_start, profile.window_end
        ):
            return  # a window with no hours at all: nothing to look for
        # Every boundary (times of day, zone offsets, DST changes) lies on the 5-minute
        # UTC grid, so a window that opened within two weeks would show on it.
        grid = moment + (datetime.min.replace(tzinfo=UTC) - moment) % STEP
        assert not any(_open(grid + k * STEP, recipient, sched, profile) for k in range(14 * 288))
        return
    # (1) in the window, not before `earliest`, and a fixed point.
    assert result >= moment
    assert _open(result, recipient, sched, profile)
    assert next_allowed_moment(result, recipient, sched, profile) == result
    # (2) nothing open before it: its last microsecond and minute, and 30 random moments.
    if result > moment:
        span = result - moment
        before = [result - timedelta(microseconds=1), max(moment, result - timedelta(minutes=1))]
        before += [moment + span * p for p in probes]
        assert not any(_open(m, recipient, sched, profile) for m in before if m < result)


@PROPERTY
@given(case=situations())
def test_next_slot_is_the_next_slot_start_on_an_allowed_day(case: Situation) -> None:
    now, sched = case.moment, case.schedule
    result = next_slot(now, sched)
    zone = ZoneInfo(sched.timezone)
    local = result.astimezone(zone)
    assert result > now
    assert next_slot(result, sched) > result  # strictly after, even exactly at a slot
    assert local.weekday() in sched.weekdays
    if sched.holiday_country is not None:
        assert local.date() not in _holidays(sched.holiday_country, local.year)
    if local.time() not in sched.batch_slots:
        # Only a slot swallowed by a DST gap may start elsewhere: when the gap ends.
        just_before = (result - timedelta(seconds=1)).astimezone(zone)
        assert just_before.utcoffset() != local.utcoffset()
        walls = [datetime.combine(local.date(), slot) for slot in sched.batch_slots]
        assert any(
            just_before.replace(tzinfo=None) < wall < local.replace(tzinfo=None) for wall in walls
        )
    # No slot that exists on the wall clock starts strictly between now and the result.
    day = now.astimezone(zone).date() - timedelta(days=1)
    while day <= local.date():
        for slot in sched.batch_slots:
            start = datetime.combine(day, slot, tzinfo=zone)
            exists = start.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == (
                start.replace(tzinfo=None)
            )
            allowed = _open_in(
                start, sched.timezone, time(0), time.max, sched.weekdays, sched.holiday_country
            )
            if exists and allowed:
                assert not now < start.astimezone(UTC) < result
        day += timedelta(days=1)


@PROPERTY
@given(
    case=situations(),
    admitted=st.integers(0, 250),
    offsets=st.lists(st.integers(0, 24 * 3600 - 1), min_size=2, max_size=24),
)
def test_new_contacts_allowed_is_bounded_and_monotone_over_a_day(
    case: Situation, admitted: int, offsets: list[int]
) -> None:
    moment, sched = case.moment, case.schedule
    zone = ZoneInfo(sched.timezone)
    day = moment.astimezone(zone).date()
    instants = [moment + timedelta(seconds=s) for s in sorted(offsets)]
    same_day = [i for i in instants if i.astimezone(zone).date() == day]
    allowed = [new_contacts_allowed(i, sched, admitted) for i in same_day]
    assert all(0 <= a <= max(0, sched.daily_quota - admitted) for a in allowed)
    assert allowed == sorted(allowed)
    after_last_slot = max(datetime.combine(day, s, tzinfo=zone) for s in sched.batch_slots)
    if admitted == 0 and same_day and same_day[-1] >= after_last_slot.astimezone(UTC) + STEP:
        day_ok = _open_in(
            same_day[-1], sched.timezone, time(0), time.max, sched.weekdays, sched.holiday_country
        )
        assert allowed[-1] == (sched.daily_quota if day_ok else 0)


OUTCOMES = list(CallOutcome)
UNANSWERED = {CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL}
NO_CONVERSATION = UNANSWERED | {CallOutcome.FAILED}


@PROPERTY
@given(
    case=situations(),
    past=st.lists(st.tuples(st.integers(0, 14 * 24 * 60), st.sampled_from(OUTCOMES)), max_size=12),
    caps=st.builds(
        ContactCaps,
        calls_per_day=st.integers(1, 4),
        no_answer_days_to_exclude=st.integers(1, 5),
        max_attempts=st.integers(1, 20),
    ),
)
def test_check_caps_never_allows_over_a_cap_and_waits_just_long_enough(
    case: Situation, past: list[tuple[int, CallOutcome]], caps: ContactCaps
) -> None:
    now, recipient, profile = case.moment, case.recipient, case.profile
    history = tries(*((now - timedelta(minutes=m), outcome) for m, outcome in past))
    decision = check_caps(history, now, recipient, caps, profile)
    zone = ZoneInfo(recipient)
    today = now.astimezone(zone).date()
    calls_today = sum(1 for a in history if a.started_at.astimezone(zone).date() == today)
    week = [a for a in history if now - timedelta(days=7) < a.started_at <= now]
    talks = [a.started_at for a in history if a.outcome not in NO_CONVERSATION]
    silent_days = {a.started_at.astimezone(zone).date() for a in history if a.outcome in UNANSWERED}
    if decision.verdict is CapVerdict.EXCLUDE:
        assert len(history) >= caps.max_attempts or (
            len(silent_days) >= caps.no_answer_days_to_exclude and not talks
        )
        return
    assert len(history) < caps.max_attempts
    if calls_today >= caps.calls_per_day:
        assert decision.verdict is CapVerdict.WAIT
    if profile.max_attempts_per_7_days and len(week) >= profile.max_attempts_per_7_days:
        assert decision.verdict is CapVerdict.WAIT
    quiet = profile.quiet_days_after_conversation
    if quiet and talks and max(talks) + timedelta(days=quiet) > now:
        assert decision.verdict is CapVerdict.WAIT
    if decision.verdict is CapVerdict.WAIT:
        assert decision.not_before is not None
        assert decision.not_before > now
        # Waiting until not_before is enough: every cap lets the call through then.
        later = check_caps(history, decision.not_before, recipient, caps, profile)
        assert later.verdict is CapVerdict.ALLOWED, later.reason
        # ... and not a microsecond too long.
        sooner = decision.not_before - timedelta(microseconds=1)
        if sooner > now:
            assert check_caps(history, sooner, recipient, caps, profile).verdict is CapVerdict.WAIT
    else:
        assert decision.not_before is None


@PROPERTY
@given(case=situations(), gaps=st.lists(st.integers(30, 600), min_size=1, max_size=8))
def test_a_greedy_dialler_never_calls_outside_the_window(case: Situation, gaps: list[int]) -> None:
    start, recipient, sched, profile = case
    calls: list[datetime] = []
    moment, end = start, start + timedelta(weeks=3)
    while len(calls) < 200:
        try:
            moment = next_allowed_moment(moment, recipient, sched, profile)
        except ValueError:
            break
        if moment > end:
            break
        calls.append(moment)
        moment += timedelta(minutes=gaps[len(calls) % len(gaps)])
    assert calls == sorted(set(calls))
    outside = [c for c in calls if not _open(c, recipient, sched, profile)]
    assert outside == []


def test_an_end_of_midnight_means_open_to_the_end_of_the_day() -> None:
    profile = PROFILES["unrestricted"]
    schedule = CampaignSchedule(batch_slots=[time(0)], window_end=time(0), weekdays=EVERY_DAY)
    late = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    assert in_window(late, "UTC", schedule, profile)
    assert next_allowed_moment(late, "UTC", schedule, profile) == late
    closing = schedule.model_copy(update={"window_end": time(23, 0)})
    assert not in_window(late, "UTC", closing, profile)
