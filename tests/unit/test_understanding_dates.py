"""Pay dates and callback times relative to the moment of the call."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralita.understanding.dates import (
    find_when,
    parse_callback_day,
    parse_callback_time,
    parse_pay_date,
)

pytestmark = pytest.mark.unit

SANTIAGO = ZoneInfo("America/Santiago")
MADRID = ZoneInfo("Europe/Madrid")
# Wednesday 12 March 2025, 11:00 in Santiago.
WEDNESDAY = datetime(2025, 3, 12, 11, 0, tzinfo=SANTIAGO)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("el viernes", date(2025, 3, 14)),
        ("le pago el viernes", date(2025, 3, 14)),
        ("el viernes que viene", date(2025, 3, 14)),
        ("el lunes", date(2025, 3, 17)),
        # Today's weekday means next week's: "el miércoles" said on a Wednesday.
        ("el miércoles", date(2025, 3, 19)),
        ("el miercoles", date(2025, 3, 19)),
        ("este miércoles", date(2025, 3, 12)),
        ("el otro viernes", date(2025, 3, 21)),
        ("el viernes de la próxima semana", date(2025, 3, 21)),
        ("mañana", date(2025, 3, 13)),
        ("manana", date(2025, 3, 13)),
        ("pasado mañana", date(2025, 3, 14)),
        ("hoy", date(2025, 3, 12)),
        ("a fin de mes", date(2025, 3, 31)),
        ("a fines de mes", date(2025, 3, 31)),
        ("voy a pagar a fin de mes", date(2025, 3, 31)),
        ("a principios de mes", date(2025, 4, 5)),
        ("el 15", date(2025, 3, 15)),
        ("el día 15", date(2025, 3, 15)),
        ("el 12", date(2025, 3, 12)),
        ("el 5", date(2025, 4, 5)),
        ("el 31", date(2025, 3, 31)),
        ("el quince", date(2025, 3, 15)),
        ("el quince de diciembre", date(2025, 12, 15)),
        ("15 de diciembre", date(2025, 12, 15)),
        ("el 20 de marzo", date(2025, 3, 20)),
        ("el 10 de marzo", date(2026, 3, 10)),
        ("el primero de abril", date(2025, 4, 1)),
        ("el 15 de abril de 2026", date(2026, 4, 15)),
        ("la próxima semana", date(2025, 3, 17)),
        ("la semana que viene", date(2025, 3, 17)),
        ("el próximo mes", date(2025, 4, 1)),
        ("en dos días", date(2025, 3, 14)),
        ("en 2 dias", date(2025, 3, 14)),
        ("dentro de tres días", date(2025, 3, 15)),
        ("en una semana", date(2025, 3, 19)),
        ("en dos semanas", date(2025, 3, 26)),
        ("15/04", date(2025, 4, 15)),
    ],
)
def test_spanish_days(text: str, expected: date) -> None:
    assert parse_pay_date(text, "es", WEDNESDAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on Friday", date(2025, 3, 14)),
        ("friday", date(2025, 3, 14)),
        ("this wednesday", date(2025, 3, 12)),
        ("friday next week", date(2025, 3, 21)),
        ("tomorrow", date(2025, 3, 13)),
        ("the day after tomorrow", date(2025, 3, 14)),
        ("end of the month", date(2025, 3, 31)),
        ("next week", date(2025, 3, 17)),
        ("next month", date(2025, 4, 1)),
        ("December 15", date(2025, 12, 15)),
        ("the 3rd of april", date(2025, 4, 3)),
        ("on the 15th", date(2025, 3, 15)),
        ("in two days", date(2025, 3, 14)),
        ("in a week", date(2025, 3, 19)),
        ("4/15", date(2025, 4, 15)),
    ],
)
def test_english_days(text: str, expected: date) -> None:
    assert parse_pay_date(text, "en", WEDNESDAY) == expected


@pytest.mark.parametrize(
    ("text", "language", "day"),
    [("llámeme el lunes", "es", date(2025, 3, 17)), ("call me tomorrow", "en", date(2025, 3, 13))],
)
def test_a_callback_day_without_an_hour_is_not_a_moment_yet(
    text: str, language: str, day: date
) -> None:
    # The agent asks for the hour rather than pick the one the caller answered at.
    assert parse_callback_time(text, language, WEDNESDAY) is None
    assert parse_callback_day(text, language, WEDNESDAY) == day


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("llámeme mañana a las cuatro", "es", datetime(2025, 3, 13, 16, 0)),
        # The recogniser often drops the "a" and adds commas (faster-whisper on espeak).
        (
            "ahora no puedo, llámeme, mañana, las cuatro por favor",
            "es",
            datetime(2025, 3, 13, 16, 0),
        ),
        ("llámeme, mañana, alas, cuatro", "es", datetime(2025, 3, 13, 16, 0)),
        ("llameme manana a las 4", "es", datetime(2025, 3, 13, 16, 0)),
        ("mañana a las 10 de la mañana", "es", datetime(2025, 3, 13, 10, 0)),
        ("a las 10 de la mañana", "es", datetime(2025, 3, 13, 10, 0)),
        ("a las cuatro y media", "es", datetime(2025, 3, 12, 16, 30)),
        ("a las cinco y cuarto", "es", datetime(2025, 3, 12, 17, 15)),
        ("a las 8 de la noche", "es", datetime(2025, 3, 12, 20, 0)),
        ("a las 3 de la tarde", "es", datetime(2025, 3, 12, 15, 0)),
        ("a la una", "es", datetime(2025, 3, 12, 13, 0)),
        ("a las 16:30", "es", datetime(2025, 3, 12, 16, 30)),
        ("tipo cuatro", "es", datetime(2025, 3, 12, 16, 0)),
        ("mañana en la tarde", "es", datetime(2025, 3, 13, 16, 0)),
        ("hoy en la tarde", "es", datetime(2025, 3, 12, 16, 0)),
        ("el viernes en la mañana", "es", datetime(2025, 3, 14, 10, 0)),
        ("en una hora", "es", datetime(2025, 3, 12, 12, 0)),
        ("en media hora", "es", datetime(2025, 3, 12, 11, 30)),
        ("en veinte minutos", "es", datetime(2025, 3, 12, 11, 20)),
        ("tomorrow at 4 pm", "en", datetime(2025, 3, 13, 16, 0)),
        ("call me tomorrow at four", "en", datetime(2025, 3, 13, 16, 0)),
        ("at 10 am", "en", datetime(2025, 3, 13, 10, 0)),
        ("at noon", "en", datetime(2025, 3, 12, 12, 0)),
        ("in an hour", "en", datetime(2025, 3, 12, 12, 0)),
        ("friday at 4:30", "en", datetime(2025, 3, 14, 16, 30)),
    ],
)
def test_callback_times(text: str, language: str, expected: datetime) -> None:
    moment = parse_callback_time(text, language, WEDNESDAY)
    assert moment == expected.replace(tzinfo=SANTIAGO)
    assert moment is not None
    assert moment.tzinfo is SANTIAGO


@pytest.mark.parametrize(
    "text", ["llámeme más tarde", "ahora no puedo", "hola", "no tengo plata", "hoy"]
)
def test_no_callback_time(text: str) -> None:
    assert parse_callback_time(text, "es", WEDNESDAY) is None


@pytest.mark.parametrize("text", ["no sé", "no tengo plata", "puedo pagar doscientos mil"])
def test_no_pay_date(text: str) -> None:
    assert parse_pay_date(text, "es", WEDNESDAY) is None


def test_de_la_manana_is_not_tomorrow() -> None:
    when = find_when("a las nueve de la mañana", "es", WEDNESDAY)
    assert when.day is None
    assert when.at == time(9, 0)


def test_callback_keeps_the_zone_across_a_dst_change() -> None:
    # Santiago leaves summer time on 6 April 2025: the offset changes, the clock does not.
    moment = parse_callback_time("el 7 de abril a las 4", "es", WEDNESDAY)
    assert moment == datetime(2025, 4, 7, 16, 0, tzinfo=SANTIAGO)
    assert moment is not None
    assert moment.utcoffset() == timedelta(hours=-4)


def test_madrid_caller() -> None:
    now = datetime(2025, 3, 12, 18, 30, tzinfo=MADRID)
    moment = parse_callback_time("a las 10", "es", now)
    assert moment == datetime(2025, 3, 13, 10, 0, tzinfo=MADRID)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("le pago el martes 20 de mayo", "es", date(2025, 5, 20)),
        ("le pago el 20.05.2025", "es", date(2025, 5, 20)),
        # Our rules have no "month day" order in Spanish: `dateparser` reads it.
        ("mayo 20", "es", date(2025, 5, 20)),
        ("may 20th 2026", "en", date(2026, 5, 20)),
    ],
)
def test_explicit_dates(text: str, language: str, expected: date) -> None:
    assert parse_pay_date(text, language, WEDNESDAY) == expected


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)))
def test_weekdays_are_always_in_the_coming_week(naive: datetime) -> None:
    now = naive.replace(tzinfo=SANTIAGO)
    for name in ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"):
        day = parse_pay_date(f"el {name}", "es", now)
        assert day is not None
        assert 1 <= (day - now.date()).days <= 7


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)))
def test_day_of_month_is_never_past(naive: datetime) -> None:
    now = naive.replace(tzinfo=SANTIAGO)
    for dom in (1, 15, 28, 30, 31):
        day = parse_pay_date(f"el {dom}", "es", now)
        assert day is not None
        assert now.date() <= day <= now.date() + timedelta(days=62)
