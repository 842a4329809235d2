"""Values said in a call, with where they were said: amounts, dates, national ids, phones, emails.

Amounts, dates and national ids come from the live readers in `centralita.understanding`
(the same rules the agent acted on during the call); phones from `phonenumbers`;
emails from a pattern that also reads the spoken form ("juan punto pérez arroba gmail
punto com"). Kinds are read in an order that lets the precise ones claim their words
first: an id or a phone number is also a run of digits that the amount reader would
take for money ("+56 9 6123 4567" holds 6123 and 4567), so an amount or date that
overlaps an id, a phone or an email is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from datetime import date, datetime, timedelta

import phonenumbers

from centralita.analysis.model import Entity, EntityKind, Span, Turn
from centralita.analysis.spans import locate, min_confidence, overlaps, trim
from centralita.understanding.amounts import find_amounts
from centralita.understanding.dates import find_when
from centralita.understanding.ids import find_national_id
from centralita.understanding.numbers import small_number
from centralita.understanding.text import base_language, fold

_ID_KINDS = {"RUT": EntityKind.RUT, "DNI": EntityKind.DNI, "NIE": EntityKind.NIE}
# Where a number said without a country code belongs, by the campaign's currency.
_REGION_BY_CURRENCY = {"CLP": "CL", "EUR": "ES", "USD": "US", "MXN": "MX", "COP": "CO"}
_REGION_BY_LANGUAGE = {"es": "CL", "en": "US"}
# Other "now"s a date span must agree under (see `spans`): about six weeks and about
# half a year later, so that a day of the month or a month name is needed to match.
_DATE_SHIFTS = (timedelta(0), timedelta(days=45), timedelta(days=190))
_WRITTEN_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_TLDS = "com|net|org|cl|es|io|co|mx|edu|gob|gov|info|us|ar|pe"
_SPOKEN_EMAIL = re.compile(
    rf"\b(\w+(?:\s(?:punto|dot|guion bajo|underscore)\s\w+)*)\s(?:arroba|at)\s"
    rf"(\w+(?:\s(?:punto|dot)\s\w+)*\s(?:punto|dot)\s(?:{_TLDS}))\b",
    re.IGNORECASE,
)
_SPOKEN_SYMBOLS = (
    (re.compile(r"\s(?:punto|dot)\s", re.I), "."),
    (re.compile(r"\s(?:guion bajo|underscore)\s", re.I), "_"),
)
# Clauses a date is looked for in: find_when gives one day per text, and a turn such as
# "el viernes no puedo, pero el lunes sí" names two.
_CLAUSE_BREAK = re.compile(r"[.;!?]+(?:\s|$)|,?\s(?:pero|sino|but|o|or)\s", re.IGNORECASE)


def region_for(language: str, currency: str | None) -> str:
    """The phone region numbers without a country code are read in.

    Args:
        language: "es" or "en".
        currency: The campaign's ISO 4217 currency, if any.

    Returns:
        An ISO 3166 region code: CL for CLP, ES for EUR, US for USD, else by language.
    """
    if currency in _REGION_BY_CURRENCY:
        return _REGION_BY_CURRENCY[currency]
    return _REGION_BY_LANGUAGE.get(language, "CL")


def _spoken_email(match: re.Match[str]) -> str:
    address = f"{match[1]}@{match[2]}"
    for pattern, symbol in _SPOKEN_SYMBOLS:
        address = pattern.sub(symbol, address)
    return address.replace(" ", "").lower()


def _emails(text: str) -> list[tuple[tuple[int, int], str]]:
    found = [((m.start(), m.end()), m[0].lower()) for m in _WRITTEN_EMAIL.finditer(text)]
    found += [((m.start(), m.end()), _spoken_email(m)) for m in _SPOKEN_EMAIL.finditer(text)]
    return [(trim(text, *span), value) for span, value in found]


def _phones(text: str, region: str) -> list[tuple[tuple[int, int], str]]:
    found = []
    for match in phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.VALID):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        found.append(((match.start, match.end), e164))
    return found


def _national_ids(text: str) -> list[tuple[tuple[int, int], EntityKind, str, bool]]:
    """Every RUT/DNI/NIE in a turn (the reader returns the first; scan past each)."""
    found = []
    position = 0
    while position < len(text):
        first = find_national_id(text[position:])
        if first is None:
            break
        key = (first.kind, first.value)

        def ids(piece: str) -> list[Hashable]:
            heard = find_national_id(piece)
            return [(heard.kind, heard.value)] if heard else []

        span = locate(text, key, 0, ids, lo=position)
        if span is None:
            break
        found.append((span, _ID_KINDS[first.kind], first.value, first.valid))
        position = span[1]
    return found


def _amounts(
    text: str, language: str, currency: str | None
) -> list[tuple[tuple[int, int], int, str | None, bool]]:
    def keys(piece: str) -> list[Hashable]:
        # With no default currency as well: the span must include a currency word.
        main = find_amounts(piece, language, currency)
        bare = find_amounts(piece, language, None)
        if len(bare) != len(main):
            return [(a.value, a.currency) for a in main]
        return [(a.value, a.currency, b.currency) for a, b in zip(main, bare, strict=True)]

    amounts = find_amounts(text, language, currency)
    all_keys = keys(text)
    found = []
    for index, (amount, key) in enumerate(zip(amounts, all_keys, strict=True)):
        span = locate(text, key, all_keys[:index].count(key), keys)
        if span is not None:
            span = (_with_leading_one(text, span[0], language), span[1])
            found.append((span, amount.value, amount.currency, amount.negated))
    return found


def _with_leading_one(text: str, start: int, language: str) -> int:
    """Take in an "un"/"a" before the span: "un millón" and "millón" are the same value to
    the reader, so the shortest span would drop a word the caller said."""
    before = text[:start].rstrip()
    word = before.split()[-1] if before.split() else ""
    if word and small_number(fold(word), base_language(language)) == 1:
        return len(before) - len(word)
    return start


def _clauses(text: str) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for brk in _CLAUSE_BREAK.finditer(text):
        bounds.append((start, brk.start()))
        start = brk.end()
    bounds.append((start, len(text)))
    return [(lo, hi) for lo, hi in bounds if text[lo:hi].strip()]


def _dates(text: str, language: str, now: datetime) -> list[tuple[tuple[int, int], date]]:
    nows = [now + shift for shift in _DATE_SHIFTS]

    def keys(piece: str) -> list[Hashable]:
        days = tuple(find_when(piece, language, n).day for n in nows)
        return [days] if days[0] is not None else []

    found = []
    for lo, hi in _clauses(text):
        whole = keys(text[lo:hi])
        if not whole:
            continue
        span = locate(text, whole[0], 0, keys, lo=lo, hi=hi)
        day = find_when(text[lo:hi], language, now).day
        if span is not None and day is not None:
            found.append((span, day))
    return found


def turn_entities(
    turn: Turn,
    index: int,
    *,
    language: str,
    now: datetime,
    currency: str | None,
) -> list[Entity]:
    """Every value said in one turn, in the order said.

    Args:
        turn: The turn.
        index: Its index in the call.
        language: "es" or "en".
        now: The call's start, aware, in the caller's zone (relative dates count from it).
        currency: The campaign's ISO 4217 currency for amounts said bare.

    Returns:
        The entities with their character spans in `turn.text`.
    """
    text = turn.text
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []

    def add(
        kind: EntityKind,
        span: tuple[int, int],
        value: str,
        *,
        currency: str | None = None,
        valid: bool | None = None,
        negated: bool = False,
    ) -> None:
        taken.append(span)
        found.append(
            Entity(
                kind=kind,
                speaker=turn.speaker,
                span=Span(turn=index, start=span[0], end=span[1]),
                text=text[span[0] : span[1]],
                value=value,
                currency=currency,
                valid=valid,
                negated=negated,
                confidence=min_confidence(text, span, turn.word_confidences),
            )
        )

    for span, email in _emails(text):
        add(EntityKind.EMAIL, span, email)
    for span, kind, value, valid in _national_ids(text):
        if not any(overlaps(span, t) for t in taken):
            add(kind, span, value, valid=valid)
    for span, e164 in _phones(text, region_for(language, currency)):
        if not any(overlaps(span, t) for t in taken):
            add(EntityKind.PHONE, span, e164)
    for span, units, cur, negated in _amounts(text, language, currency):
        if not any(overlaps(span, t) for t in taken):
            add(EntityKind.AMOUNT, span, str(units), currency=cur, negated=negated)
    for span, day in _dates(text, language, now):
        if not any(overlaps(span, t) for t in taken):
            add(EntityKind.DATE, span, day.isoformat())
    return sorted(found, key=lambda e: e.span.start)


def call_entities(
    turns: Sequence[Turn], *, language: str, now: datetime, currency: str | None
) -> list[Entity]:
    """Every value said in a call, turn by turn.

    Args:
        turns: The transcript.
        language: "es" or "en".
        now: The call's start, aware, in the caller's zone.
        currency: The campaign's ISO 4217 currency.

    Returns:
        The entities in the order said.
    """
    return [
        entity
        for index, turn in enumerate(turns)
        for entity in turn_entities(turn, index, language=language, now=now, currency=currency)
    ]
