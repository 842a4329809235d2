"""Entities of a call with their spans: amounts, dates, RUT/DNI/NIE, phones, emails."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.analysis.entities import region_for, turn_entities
from centralita.analysis.model import Entity, EntityKind, Turn

pytestmark = pytest.mark.unit

# Monday 23 November 2026, mid-morning in Santiago.
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=ZoneInfo("America/Santiago"))

A, D, P, E = EntityKind.AMOUNT, EntityKind.DATE, EntityKind.PHONE, EntityKind.EMAIL
RUT, DNI, NIE = EntityKind.RUT, EntityKind.DNI, EntityKind.NIE


def _entities(text: str, language: str = "es", currency: str | None = "CLP") -> list[Entity]:
    return turn_entities(
        Turn(speaker="user", text=text), 0, language=language, now=NOW, currency=currency
    )


def _reference_rut_dv(body: str) -> str:
    """The RUT check digit as the Servicio de Registro Civil defines it, written again here.

    Digits from the right times 2, 3, 4, 5, 6, 7, 2, 3…; 11 minus the sum modulo 11,
    where 11 is written 0 and 10 is written K.
    """
    weights = [2, 3, 4, 5, 6, 7] * 3
    total = sum(int(d) * w for d, w in zip(reversed(body), weights, strict=False))
    rest = 11 - total % 11
    return "0" if rest == 11 else "K" if rest == 10 else str(rest)


def _reference_dni_letter(number: int) -> str:
    """The DNI/NIE control letter: the number modulo 23 indexes this table (BOE)."""
    return "TRWAGMYFPDXBNJZSQVHLCKE"[number % 23]


# (text, language, currency, kind, value, currency or validity, words in the span)
TABLE: list[tuple[str, str, str | None, EntityKind, str, str | bool | None, str]] = [
    ("Le pago doscientos mil pesos.", "es", "CLP", A, "200000", "CLP", "doscientos mil pesos"),
    ("le pago $200.000 mañana", "es", "CLP", A, "200000", "CLP", "$200.000"),
    ("tengo veinte lucas no más", "es", "CLP", A, "20000", "CLP", "veinte lucas"),
    ("puedo pagar 150 euros", "es", "EUR", A, "150", "EUR", "150 euros"),
    ("mil quinientos euros", "es", None, A, "1500", "EUR", "mil quinientos euros"),
    ("un millón y medio", "es", "CLP", A, "1500000", "CLP", "un millón y medio"),
    ("I can pay two hundred dollars", "en", "USD", A, "200", "USD", "two hundred dollars"),
    ("maybe 50 bucks on Friday", "en", "USD", A, "50", "USD", "50 bucks"),
    ("I could send a thousand dollars", "en", "USD", A, "1000", "USD", "a thousand dollars"),
    ("se lo pago el viernes", "es", "CLP", D, "2026-11-27", None, "viernes"),
    ("pasado mañana sin falta", "es", "CLP", D, "2026-11-25", None, "pasado mañana"),
    ("el 15 de diciembre le deposito", "es", "CLP", D, "2026-12-15", None, "15 de diciembre"),
    ("a fin de mes", "es", "CLP", D, "2026-11-30", None, "fin de mes"),
    ("el viernes de la próxima semana", "es", "CLP", D, "2026-12-04", None,
     "el viernes de la próxima semana"),
    ("I will pay next Friday", "en", "USD", D, "2026-11-27", None, "Friday"),
    ("tomorrow, I promise", "en", "USD", D, "2026-11-24", None, "tomorrow"),
    ("on December 15th", "en", "USD", D, "2026-12-15", None, "December 15th"),
    ("mi rut es 12.345.678-5", "es", "CLP", RUT, "12345678-5", True, "12.345.678-5"),
    ("mi rut es 12.345.678-4", "es", "CLP", RUT, "12345678-4", False, "12.345.678-4"),
    ("rut 15.000.005-K", "es", "CLP", RUT, "15000005-K", True, "15.000.005-K"),
    ("es el 7654321-6", "es", "CLP", RUT, "7654321-6", True, "7654321-6"),
    ("DNI 12345678Z", "es", "EUR", DNI, "12345678Z", True, "12345678Z"),
    ("mi dni es 12345678A", "es", "EUR", DNI, "12345678A", False, "12345678A"),
    ("mi NIE es X1234567L", "es", "EUR", NIE, "X1234567L", True, "X1234567L"),
    ("NIE X1234567A", "es", "EUR", NIE, "X1234567A", False, "X1234567A"),
    ("llámeme al +56 9 6123 4567", "es", "CLP", P, "+56961234567", None, "+56 9 6123 4567"),
    ("mi número es 612 345 678", "es", "EUR", P, "+34612345678", None, "612 345 678"),
    ("my number is 202 456 1111", "en", "USD", P, "+12024561111", None, "202 456 1111"),
    ("escríbame a Juan.Perez@gmail.com.", "es", "CLP", E, "juan.perez@gmail.com", None,
     "Juan.Perez@gmail.com"),
    ("es juan punto perez arroba gmail punto com", "es", "CLP", E, "juan.perez@gmail.com",
     None, "juan punto perez arroba gmail punto com"),
    ("it is ana at example dot org", "en", "USD", E, "ana@example.org", None,
     "ana at example dot org"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "lang", "currency", "kind", "value", "extra", "said"), TABLE)
def test_entity_table(
    text: str,
    lang: str,
    currency: str | None,
    kind: EntityKind,
    value: str,
    extra: str | bool | None,
    said: str,
) -> None:
    found = [e for e in _entities(text, lang, currency) if e.kind is kind]
    assert len(found) == 1, found
    entity = found[0]
    assert entity.value == value
    # The span points at exactly the words that carry the value.
    assert text[entity.span.start : entity.span.end] == said == entity.text
    if kind is A:
        assert entity.currency == extra
    if kind in {RUT, DNI, NIE}:
        assert entity.valid is extra


def test_table_covers_every_kind_in_both_languages() -> None:
    assert len(TABLE) >= 25
    assert {row[3] for row in TABLE} == set(EntityKind)
    assert {row[1] for row in TABLE} == {"es", "en"}


@pytest.mark.parametrize(
    "text",
    [row[0] for row in TABLE if row[3] in {RUT, DNI, NIE}],
)
def test_checksum_verdicts_agree_with_an_independent_implementation(text: str) -> None:
    (entity,) = [e for e in _entities(text, "es", "EUR") if e.kind in {RUT, DNI, NIE}]
    if entity.kind is RUT:
        body, dv = entity.value.split("-")
        expected = _reference_rut_dv(body) == dv
    elif entity.kind is DNI:
        expected = _reference_dni_letter(int(entity.value[:8])) == entity.value[8]
    else:
        number = int(str("XYZ".index(entity.value[0])) + entity.value[1:8])
        expected = _reference_dni_letter(number) == entity.value[8]
    assert entity.valid is expected


def test_reference_checksums_on_known_documents() -> None:
    # Worked by hand: 8·2+7·3+6·4+5·5+4·6+3·7+2·2+1·3 = 138, 138 mod 11 = 6, 11-6 = 5.
    assert _reference_rut_dv("12345678") == "5"
    assert _reference_rut_dv("15000005") == "K"
    # 12345678 = 23·536768 + 14 and the 15th letter is Z; X1234567 -> 1234567 mod 23 = 19.
    assert _reference_dni_letter(12345678) == "Z"
    assert _reference_dni_letter(1234567) == "L"


def test_digits_of_ids_and_phones_are_not_money() -> None:
    kinds = [e.kind for e in _entities("DNI 12345678Z, teléfono +56 9 6123 4567", "es", "EUR")]
    assert kinds == [DNI, P]


def test_two_amounts_in_one_turn_keep_their_own_spans_and_negation() -> None:
    text = "no puedo pagar quinientos mil, pero sí doscientos mil"
    amounts = [e for e in _entities(text) if e.kind is A]
    assert [(a.value, a.text, a.negated) for a in amounts] == [
        ("500000", "quinientos mil", True),
        ("200000", "doscientos mil", False),
    ]


def test_the_same_amount_said_twice_gets_two_spans() -> None:
    text = "cien mil hoy y cien mil el lunes"
    spans = [(e.span.start, e.span.end) for e in _entities(text) if e.kind is A]
    assert spans == [(0, 8), (15, 23)]


def test_each_clause_can_name_its_own_day() -> None:
    dates = [e for e in _entities("el viernes no puedo, pero el lunes sí") if e.kind is D]
    assert [(d.text, d.value) for d in dates] == [
        ("viernes", "2026-11-27"),
        ("lunes", "2026-11-30"),
    ]


def test_relative_dates_use_the_callers_calendar_day() -> None:
    # 23:30 on Sunday in Santiago is already Monday in UTC: "mañana" is still Monday.
    late = datetime(2026, 11, 22, 23, 30, tzinfo=ZoneInfo("America/Santiago"))
    (entity,) = turn_entities(
        Turn(speaker="user", text="le pago mañana"), 0, language="es", now=late, currency="CLP"
    )
    assert entity.value == "2026-11-23"


def test_entity_confidence_is_the_lowest_of_its_words() -> None:
    turn = Turn(
        speaker="user",
        text="le pago doscientos mil pesos",
        word_confidences=[0.9, 0.95, 0.41, 0.88, 0.97],
    )
    (amount,) = turn_entities(turn, 3, language="es", now=NOW, currency="CLP")
    assert amount.span.turn == 3
    assert amount.confidence == pytest.approx(0.41)


def test_confidences_that_do_not_match_the_words_are_ignored() -> None:
    turn = Turn(speaker="user", text="le pago doscientos mil", word_confidences=[0.5])
    (amount,) = turn_entities(turn, 0, language="es", now=NOW, currency="CLP")
    assert amount.confidence is None


@pytest.mark.parametrize(
    ("language", "currency", "region"),
    [("es", "CLP", "CL"), ("es", "EUR", "ES"), ("en", "USD", "US"), ("en", None, "US"),
     ("es", None, "CL")],
)  # fmt: skip
def test_phone_region_follows_currency_then_language(
    language: str, currency: str | None, region: str
) -> None:
    assert region_for(language, currency) == region
