"""Dates and times relative to the moment of the call: pay dates and callback times.

Our own rules run first because `dateparser` gets the most common phrasing of a
collection call wrong or not at all (tested with 1.5: "el viernes", "pasado mañana",
"a fin de mes", "el 15", "en dos días", "mañana a las cuatro" all return None, and
absolute dates come back in UTC instead of the caller's zone). `dateparser` is kept as
a fallback for the long tail of explicit dates, and only the day it finds is used.

Two calling-context conventions, both because people are called in office hours:
a bare hour from 1 to 7 ("a las cuatro") means the afternoon, and a weekday that is
today ("el viernes", said on a Friday) means the one next week.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

# dateparser ships no type information and its stubs are not a project dependency.
import dateparser  # type: ignore[import-untyped]
from dateparser.search import search_dates  # type: ignore[import-untyped]

from centralita.understanding.numbers import SMALL_NUMBERS, to_digits
from centralita.understanding.text import base_language, fold_keep_numbers, turns_down

_WEEKDAYS: dict[str, dict[str, int]] = {
    "es": {"lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5,
           "domingo": 6},
    "en": {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
           "saturday": 5, "sunday": 6},
}  # fmt: skip
_MONTHS: dict[str, dict[str, int]] = {
    "es": {"enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6,
           "julio": 7, "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10,
           "noviembre": 11, "diciembre": 12},
    "en": {"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6,
           "july": 7, "august": 8, "september": 9, "october": 10, "november": 11,
           "december": 12, "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7,
           "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12},
}  # fmt: skip
# Default hours for a part of the day said without an hour ("mañana en la tarde").
_PART_OF_DAY_HOUR = {"morning": 10, "afternoon": 16, "evening": 19, "noon": 12}
# Before this hour a bare "a las cuatro" is the afternoon (16:00), not 04:00.
_AFTERNOON_BELOW = 8
# "a principios de mes": the first days of a month. We take the 5th so that a broken
# promise is not chased before the caller's salary (paid at month end) has arrived.
_EARLY_MONTH_DAY = 5
_SMALL_BY_LANG = {lang: dict(table) for lang, table in SMALL_NUMBERS.items()}
_SMALL_BY_LANG["es"].update({"primero": 1, "media": 1})
_SMALL_BY_LANG["en"].update({"first": 1, "second": 2, "third": 3})
# English "a" and "an" are numbers only before a unit ("in a week"), never as an hour.
for _article in ("a", "an"):
    del _SMALL_BY_LANG["en"][_article]


def _alt(words: Any) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_N = {lang: rf"(?:\d{{1,2}}|{_alt(table)})" for lang, table in _SMALL_BY_LANG.items()}
_ORD = r"(?:st|nd|rd|th)?"


@dataclass(frozen=True, slots=True)
class When:
    """What a turn says about time.

    Attributes:
        day: The day named or implied, or None.
        at: The time of day named, or None.
        delta: A span from now ("en una hora"), or None.
    """

    day: date | None = None
    at: time | None = None
    delta: timedelta | None = None


def _num(token: str, lang: str) -> int:
    """Value of a number token matched by the `_N` pattern."""
    return int(token) if token.isdigit() else _SMALL_BY_LANG[lang][token]


def _next_weekday(today: date, weekday: int, *, allow_today: bool = False) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and not allow_today:
        ahead = 7
    return today + timedelta(days=ahead)


def _next_monday(today: date) -> date:
    return _next_weekday(today, 0)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: date, months: int, *, day_of_month: int | None = None) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day_of_month or day.day, last))


def _day_of_month(today: date, dom: int) -> date | None:
    """The next date with that day of the month (today counts): "el 15"."""
    if not 1 <= dom <= 31:
        return None
    if dom >= today.day and dom <= calendar.monthrange(today.year, today.month)[1]:
        return today.replace(day=dom)
    return _add_months(today.replace(day=1), 1, day_of_month=dom)


def _day_month(today: date, dom: int, month: int, year: int | None) -> date | None:
    """A named date; without a year, the next one that is not past."""
    if not 1 <= month <= 12 or not 1 <= dom <= calendar.monthrange(year or 2000, month)[1]:
        return None
    if year is not None:
        return date(year, month, dom)
    candidate = date(today.year, month, min(dom, calendar.monthrange(today.year, month)[1]))
    return candidate if candidate >= today else date(today.year + 1, month, dom)


# ---------------------------------------------------------------- day rules

_DayRule = Callable[[re.Match[str], date, str], date | None]


def _es_day_rules() -> list[tuple[re.Pattern[str], _DayRule]]:
    n = _N["es"]
    wd = _alt(_WEEKDAYS["es"])
    mo = _alt(_MONTHS["es"])
    return [
        # Dotted dates need their year: "1.5 millones" is not the 1st of May.
        (re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b"),
         lambda m, t, lg: _day_month(t, int(m[1]), int(m[2]), int(m[3]))),
        (re.compile(rf"\b({n}) de ({mo})(?: (?:de |del )?(\d{{4}}))?\b"),
         lambda m, t, lg: _day_month(t, _num(m[1], lg), _MONTHS[lg][m[2]],
                                     int(m[3]) if m[3] else None)),
        (re.compile(rf"\b(?:el|este) ({wd}) de la (?:proxima|siguiente) semana\b|"
                    rf"\b(?:el|este) ({wd}) de la semana que viene\b"),
         lambda m, t, lg: _next_monday(t) + timedelta(days=_WEEKDAYS[lg][m[1] or m[2]])),
        (re.compile(rf"\bel otro ({wd})\b"),
         lambda m, t, lg: _next_weekday(t, _WEEKDAYS[lg][m[1]]) + timedelta(days=7)),
        (re.compile(rf"\beste ({wd})\b"),
         lambda m, t, lg: _next_weekday(t, _WEEKDAYS[lg][m[1]], allow_today=True)),
        (re.compile(rf"\b({wd})\b"),
         lambda m, t, lg: _next_weekday(t, _WEEKDAYS[lg][m[1]])),
        (re.compile(r"\bpasado manana\b"), lambda m, t, lg: t + timedelta(days=2)),
        # "mañana" is tomorrow except in "de/en/por la mañana" and "esta mañana".
        (re.compile(r"(?<!la )(?<!esta )\bmanana\b"), lambda m, t, lg: t + timedelta(days=1)),
        (re.compile(r"\bhoy\b"), lambda m, t, lg: t),
        (re.compile(r"\b(?:a |para )?(?:fin|fines|final|finales) de(?:l)? mes\b"),
         lambda m, t, lg: _month_end(t)),
        (re.compile(r"\b(?:principio|principios|comienzo|comienzos|inicio|inicios) "
                    r"de(?:l)? (?:proximo |otro )?mes\b"),
         lambda m, t, lg: t.replace(day=_EARLY_MONTH_DAY) if t.day < _EARLY_MONTH_DAY
         else _add_months(t, 1, day_of_month=_EARLY_MONTH_DAY)),
        (re.compile(r"\b(?:(?:la )?(?:proxima|siguiente) semana|la semana que viene)\b"),
         lambda m, t, lg: _next_monday(t)),
        (re.compile(r"\b(?:(?:el )?(?:proximo|siguiente) mes|el mes que viene)\b"),
         lambda m, t, lg: _add_months(t, 1, day_of_month=1)),
        (re.compile(rf"\b(?:en|dentro de) ({n}) (dias?|semanas?|mes|meses)\b"),
         lambda m, t, lg: _in_units(t, _num(m[1], lg), m[2])),
        (re.compile(rf"\b(?:el|para el|el dia|dia) ({n})\b(?! de la)(?! (?:mil|lucas?)\b)"),
         lambda m, t, lg: _day_of_month(t, _num(m[1], lg))),
        (re.compile(r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{4}))?\b"),
         lambda m, t, lg: _day_month(t, int(m[1]), int(m[2]), int(m[3]) if m[3] else None)),
    ]  # fmt: skip


def _en_day_rules() -> list[tuple[re.Pattern[str], _DayRule]]:
    n = _N["en"]
    wd = _alt(_WEEKDAYS["en"])
    mo = _alt(_MONTHS["en"])
    return [
        (re.compile(rf"\b({mo}) ({n}){_ORD}(?:,? (\d{{4}}))?\b"),
         lambda m, t, lg: _day_month(t, _num(m[2], lg), _MONTHS[lg][m[1]],
                                     int(m[3]) if m[3] else None)),
        (re.compile(rf"\b(?:the )?({n}){_ORD} of ({mo})(?:,? (\d{{4}}))?\b"),
         lambda m, t, lg: _day_month(t, _num(m[1], lg), _MONTHS[lg][m[2]],
                                     int(m[3]) if m[3] else None)),
        (re.compile(rf"\b({wd}) (?:of )?next week\b"),
         lambda m, t, lg: _next_monday(t) + timedelta(days=_WEEKDAYS[lg][m[1]])),
        (re.compile(rf"\bthis ({wd})\b"),
         lambda m, t, lg: _next_weekday(t, _WEEKDAYS[lg][m[1]], allow_today=True)),
        (re.compile(rf"\b({wd})\b"), lambda m, t, lg: _next_weekday(t, _WEEKDAYS[lg][m[1]])),
        (re.compile(r"\bday after tomorrow\b"), lambda m, t, lg: t + timedelta(days=2)),
        (re.compile(r"\btomorrow\b"), lambda m, t, lg: t + timedelta(days=1)),
        (re.compile(r"\b(?:today|tonight)\b"), lambda m, t, lg: t),
        (re.compile(r"\bend of (?:the |this )?month\b"), lambda m, t, lg: _month_end(t)),
        (re.compile(r"\b(?:beginning|start) of (?:the |next )?month\b"),
         lambda m, t, lg: t.replace(day=_EARLY_MONTH_DAY) if t.day < _EARLY_MONTH_DAY
         else _add_months(t, 1, day_of_month=_EARLY_MONTH_DAY)),
        (re.compile(r"\bnext week\b"), lambda m, t, lg: _next_monday(t)),
        (re.compile(r"\bnext month\b"), lambda m, t, lg: _add_months(t, 1, day_of_month=1)),
        (re.compile(rf"\bin ({n}|a) (days?|weeks?|months?)\b"),
         lambda m, t, lg: _in_units(t, 1 if m[1] == "a" else _num(m[1], lg), m[2])),
        (re.compile(rf"\bon the ({n}){_ORD}\b|\bthe ({n})(?:st|nd|rd|th)\b"),
         lambda m, t, lg: _day_of_month(t, _num(m[1] or m[2], lg))),
        (re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}))?\b"),
         lambda m, t, lg: _day_month(t, int(m[2]), int(m[1]), int(m[3]) if m[3] else None)),
    ]  # fmt: skip


def _in_units(today: date, count: int, unit: str) -> date:
    if unit.startswith(("dia", "day")):
        return today + timedelta(days=count)
    if unit.startswith(("semana", "week")):
        return today + timedelta(weeks=count)
    return _add_months(today, count)


_DAY_RULES = {"es": _es_day_rules(), "en": _en_day_rules()}

# ---------------------------------------------------------------- time rules

_ES_TIME = re.compile(
    # "mañana, las cuatro": the recogniser often swallows the "a" before "las".
    # "alas cuatro": "a las" run together.
    rf"\b(?:(?:a|de|para|tipo|como a|desde|despues de|antes de|manana|hoy),? las?|alas),? "
    rf"({_N['es']})"
    r"(?::(\d{2})| y (media|\d{1,2})| (\d{2})\b)?"
    r"(?: (?:horas|hrs))?"
    r"(?: (de la manana|de la tarde|de la noche|en la manana|en la tarde|en la noche|am|pm))?"
    r"|\btipo (\d{1,2})\b"
)
_EN_TIME = re.compile(
    rf"\b(?:at|around|by|after|before) ({_N['en']})"
    r"(?::(\d{2})| (thirty|fifteen|\d{2})\b)?(?: ?(am|pm|a m|p m|oclock|in the morning|"
    r"in the afternoon|in the evening|at night))?\b"
    r"|\b(\d{1,2})(?::(\d{2}))? ?(am|pm)\b"
)
_HHMM = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_PARTS = {
    "es": [
        (re.compile(r"\b(?:al |a |el )?medio ?dia\b"), "noon"),
        (re.compile(r"\b(?:en|por|a) la manana\b|\bmanana temprano\b|\besta manana\b"),
         "morning"),
        (re.compile(r"\b(?:en|por|a) la tarde\b|\besta tarde\b|\bdespues de almuerzo\b"),
         "afternoon"),
        (re.compile(r"\b(?:en|por|a) la noche\b|\besta noche\b"), "evening"),
    ],
    "en": [
        (re.compile(r"\b(?:at )?noon\b|\bmidday\b|\blunchtime\b"), "noon"),
        (re.compile(r"\bin the morning\b|\bthis morning\b"), "morning"),
        (re.compile(r"\bin the afternoon\b|\bthis afternoon\b|\bafter lunch\b"), "afternoon"),
        (re.compile(r"\bin the evening\b|\bthis evening\b|\btonight\b"), "evening"),
    ],
}  # fmt: skip
_DELTA = {
    "es": re.compile(
        rf"\b(?:en|dentro de) (?:(media) hora|({_N['es']}) (horas?|minutos?)|(un rato|un ratito))\b"
    ),
    "en": re.compile(
        rf"\bin (?:(half an) hour|({_N['en']}|an?) (hours?|minutes?)|(a (?:little )?while|a bit))\b"
    ),
}
_MONTH_OR_NUMERIC_DATE = {
    lang: re.compile(rf"\b(?:{_alt(months)})\b|\b\d{{1,2}}[/.-]\d{{1,2}}\b")
    for lang, months in _MONTHS.items()
}
_DATEPARSER_LANG = {"es": ["es"], "en": ["en"]}


def _hour24(hour: int, minute: int, marker: str | None) -> time | None:
    """Apply the calling-context convention to a spoken hour."""
    marker = (marker or "").replace(" ", "")
    if hour > 23 or minute > 59:
        return None
    if (
        marker
        in {
            "pm",
            "delatarde",
            "delanoche",
            "enlatarde",
            "enlanoche",
            "intheafternoon",
            "intheevening",
            "atnight",
        }
        and hour < 12
    ):
        hour += 12
    elif marker in {"am", "delamanana", "enlamanana", "inthemorning"}:
        hour = 0 if hour == 12 else hour
    elif 1 <= hour < _AFTERNOON_BELOW:
        hour += 12
    return time(hour, minute)


def _minutes(token: str | None, lang: str) -> int:
    if not token:
        return 0
    if token in {"media", "thirty"}:
        return 30
    if token in {"cuarto", "fifteen"}:
        return 15
    return int(token) if token.isdigit() else _SMALL_BY_LANG[lang].get(token, 0)


def _find_time(text: str, lang: str) -> time | None:
    if lang == "es":
        m = _ES_TIME.search(text)
        if m:
            if m[6]:
                return _hour24(int(m[6]), 0, None)
            minute = int(m[2]) if m[2] else _minutes(m[3], lang) or _minutes(m[4], lang)
            return _hour24(_num(m[1], lang), minute, m[5])
    else:
        m = _EN_TIME.search(text)
        if m:
            if m[5]:
                return _hour24(int(m[5]), int(m[6] or 0), m[7])
            minute = int(m[2]) if m[2] else _minutes(m[3], lang)
            return _hour24(_num(m[1], lang), minute, m[4])
    hhmm = _HHMM.search(text)
    if hhmm:
        return time(int(hhmm[1]), int(hhmm[2]))
    for pattern, part in _PARTS[lang]:
        if pattern.search(text):
            return time(_PART_OF_DAY_HOUR[part], 0)
    return None


def _find_delta(text: str, lang: str) -> timedelta | None:
    m = _DELTA[lang].search(text)
    if not m:
        return None
    if m[1]:
        return timedelta(minutes=30)
    if m[4]:
        # "en un rato": soon, but not so soon that the caller is still busy.
        return timedelta(hours=1)
    count = 1 if m[2] in {"a", "an"} else _num(m[2], lang)
    unit = m[3]
    return timedelta(hours=count) if unit.startswith(("hora", "hour")) else timedelta(minutes=count)


def _fallback_day(text: str, lang: str, now: datetime) -> date | None:
    """Ask `dateparser` for an explicit date our rules did not read."""
    if not _MONTH_OR_NUMERIC_DATE[lang].search(text):
        return None
    settings: Any = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": now.replace(tzinfo=None)}
    found: list[tuple[str, datetime]] | None = search_dates(
        text, languages=_DATEPARSER_LANG[lang], settings=settings
    )
    if not found:
        return None
    return found[0][1].date()


def _normalise(text: str, lang: str) -> str:
    folded = fold_keep_numbers(text)
    if lang == "es":
        # `alpha2digit` reads "cuarto" as the ordinal 4th; "y cuarto" is a quarter past.
        folded = re.sub(r"\by cuarto\b", "y 15", folded)
    return to_digits(folded, lang)


def find_when(text: str, language: str, now: datetime) -> When:
    """What a turn says about time, relative to `now`.

    Args:
        text: The transcript of one turn.
        language: "es" or "en".
        now: The moment of the call, aware, in the caller's zone.

    Returns:
        The day, time of day and span from now that were heard (each may be None).
    """
    lang = base_language(language)
    norm = _normalise(text, lang)
    return _when(norm, lang, now)


def _when(norm: str, lang: str, now: datetime) -> When:
    found = _find_day(norm, lang, now.date())
    day = found[0] if found else _fallback_day(norm, lang, now)
    return When(day=day, at=_find_time(norm, lang), delta=_find_delta(norm, lang))


def _find_day(norm: str, lang: str, today: date) -> tuple[date, int, int] | None:
    """The day our rules read in normalised text, with where its words are."""
    for pattern, rule in _DAY_RULES[lang]:
        m = pattern.search(norm)
        if m:
            day = rule(m, today, lang)
            if day is not None:
                return day, m.start(), m.end()
    return None


def parse_pay_date(text: str, language: str, now: datetime) -> date | None:
    """The day a caller says they will pay ("el viernes", "a fin de mes").

    Args:
        text: The transcript of one turn.
        language: "es" or "en".
        now: The moment of the call, aware, in the caller's zone.

    Returns:
        The date, or None when no day was said.
    """
    when = find_when(text, language, now)
    if when.day is None and when.delta is not None:
        return (now + when.delta).date()
    return when.day


def parse_callback_time(text: str, language: str, now: datetime) -> datetime | None:
    """When a caller asks to be called back ("mañana a las cuatro", "en una hora").

    A time without a day is today, or tomorrow once past. A day without a time is not a
    moment yet (None): the agent asks for the hour (`parse_callback_day` keeps the day).

    Args:
        text: The transcript of one turn.
        language: "es" or "en".
        now: The moment of the call, aware, in the caller's zone.

    Returns:
        An aware datetime in `now`'s zone, or None when no time was said.
    """
    when = find_when(text, language, now)
    if when.delta is not None and when.day is None:
        return now + when.delta
    if when.at is None:
        return None
    moment = datetime.combine(when.day or now.date(), when.at, tzinfo=now.tzinfo)
    if when.day is None and moment <= now:
        moment += timedelta(days=1)
    return moment


def parse_callback_day(text: str, language: str, now: datetime) -> date | None:
    """The day a caller names for a callback, with or without a time ("el lunes")."""
    when = find_when(text, language, now)
    if when.day is None and when.delta is not None:
        return (now + when.delta).date()
    return when.day


def says_time_of_day(text: str, language: str, now: datetime) -> bool:
    """Whether the turn names an hour ("a las cuatro", "at 10 am")."""
    return find_when(text, language, now).at is not None


# -------------------------------------------- answers: clauses, negation, today

# Clauses of a turn: "no puedo el viernes, pero el lunes sí" names two days, and only
# the second is offered. A separator inside a number ("1,5", "200.000") is not one.
_CLAUSE = re.compile(r"\s*(?:[,;](?!\d)|\.(?!\d))\s*|\s+(?:pero|sino|but)\s+")
# Words that turn a day down when they come just before or after it ("el viernes no
# puedo", "not on Friday", "Friday doesn't work"; see `turns_down`).
_NEGATION_WINDOW = 3
# "Hoy" turns up in many sentences that are not about paying ("hoy estoy ocupado"): a
# day that is today is a pay date only beside a payment verb, or as a bare answer.
_PAY_VERBS = {
    "es": re.compile(r"\b(?:pag\w*|abon\w*|deposit\w*|transfier\w*|transfer\w*|cancel\w*)\b"),
    "en": re.compile(r"\b(?:pay\w*|paid|deposit\w*|transfer\w*|send|sending|wire)\b"),
}
# What may surround a day in an answer that says nothing else ("sí, hoy mismo", "today
# in the afternoon"); numbers and money words are the amount answered with it.
_ANSWER_WORDS = {
    "es": frozenset(
        {"si", "claro", "ya", "bueno", "ok", "okey", "vale", "dale", "po", "pues", "eh",
         "entonces", "mismo", "misma", "el", "la", "para", "en", "de", "a", "dia", "tarde",
         "manana", "noche", "mil", "lucas", "luca", "pesos", "euros", "dolares", "y"}
    ),
    "en": frozenset(
        {"yes", "yeah", "yep", "ok", "okay", "sure", "then", "the", "on", "by", "for", "in",
         "this", "later", "afternoon", "evening", "morning", "tonight", "dollars", "bucks",
         "thousand", "and", "right", "away"}
    ),
}  # fmt: skip


def _clauses(norm: str) -> list[str]:
    return [c for c in _CLAUSE.split(norm) if c and c.strip()]


def _turned_down(clause: str, start: int, end: int) -> bool:
    return turns_down(clause[:start].split(), clause[end:].split(), window=_NEGATION_WINDOW)


def _today_is_meant(clause: str, start: int, end: int, lang: str) -> bool:
    if _PAY_VERBS[lang].search(clause):
        return True
    rest = (clause[:start] + " " + clause[end:]).split()
    return all(word in _ANSWER_WORDS[lang] or word[0].isdigit() for word in rest)


def parse_answered_pay_date(text: str, language: str, now: datetime) -> date | None:
    """The day a caller offers to pay on, read clause by clause.

    The first clause that names a day not turned down by a negation beside it: "no
    puedo el viernes, pero le pago el lunes" is Monday, "el viernes no puedo" is no day.
    A day that is today counts only beside a payment verb ("hoy le pago") or as a bare
    answer ("hoy", "sí, hoy mismo"): "hoy estoy sin plata" names no pay date.

    Args:
        text: The transcript of one turn.
        language: "es" or "en".
        now: The moment of the call, aware, in the caller's zone.

    Returns:
        The date, or None when no day was offered.
    """
    lang = base_language(language)
    today = now.date()
    for clause in _clauses(_normalise(text, lang)):
        found = _find_day(clause, lang, today)
        if found is not None:
            day, start, end = found
        else:
            # An explicit date only dateparser reads, or a span ("en dos horas").
            when = _when(clause, lang, now)
            spoken = when.day or ((now + when.delta).date() if when.delta else None)
            if spoken is None:
                continue
            day, start, end = spoken, 0, len(clause)
        if _turned_down(clause, start, end):
            continue
        if day == today and not _today_is_meant(clause, start, end, lang):
            continue
        return day
    return None


def parse_answered_callback(
    text: str, language: str, now: datetime
) -> tuple[datetime | None, date | None]:
    """When a caller asks to be called back (the moment, and the day named), leaving out
    the clauses that turn a day or an hour down ("el lunes no, el martes a las cuatro").

    Args:
        text: The transcript of one turn.
        language: "es" or "en".
        now: The moment of the call, aware, in the caller's zone.

    Returns:
        `parse_callback_time` and `parse_callback_day` of what is left.
    """
    lang = base_language(language)
    kept: list[str] = []
    for clause in _clauses(_normalise(text, lang)):
        found = _find_day(clause, lang, now.date())
        if found is not None:
            if _turned_down(clause, found[1], found[2]):
                continue
        else:
            when = _when(clause, lang, now)
            named = when.day or when.at or when.delta
            if named and turns_down(clause.split(), [], window=0):
                continue
        kept.append(clause)
    rest = " ".join(kept)
    return parse_callback_time(rest, lang, now), parse_callback_day(rest, lang, now)


def on_day(moment: datetime, day: date) -> datetime:
    """`moment`'s time of day on `day` (an hour said after the day, in another turn)."""
    return datetime.combine(day, moment.timetz())


def _warm_up() -> None:
    """Load `dateparser`'s lazy language data now rather than inside a live call."""
    for lang in _DATEPARSER_LANG:
        dateparser.parse("1 " + next(iter(_MONTHS[lang])), languages=_DATEPARSER_LANG[lang])


_warm_up()
