"""Money amounts from speech: Spanish, English, Chilean slang and recogniser errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralita.understanding.amounts import find_amounts, parse_amount

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "language", "default", "value", "currency"),
    [
        ("doscientos mil pesos", "es", None, 200_000, "CLP"),
        ("200 mil", "es", "CLP", 200_000, "CLP"),
        ("$200.000", "es", None, 200_000, "CLP"),
        ("le pago $200.000.", "es", None, 200_000, "CLP"),
        ("ciento cincuenta mil", "es", "CLP", 150_000, "CLP"),
        ("un millón y medio", "es", "CLP", 1_500_000, "CLP"),
        ("un millon y medio", "es", "CLP", 1_500_000, "CLP"),
        ("dos millones y medio de pesos", "es", None, 2_500_000, None),
        ("medio millón", "es", "CLP", 500_000, "CLP"),
        ("mil quinientos euros", "es", None, 1_500, "EUR"),
        ("puedo pagar 300 euros", "es", None, 300, "EUR"),
        ("500€", "es", None, 500, "EUR"),
        ("€500", "es", None, 500, "EUR"),
        ("veinte lucas", "es", None, 20_000, "CLP"),
        ("una luca", "es", None, 1_000, "CLP"),
        ("dos lucas", "es", None, 2_000, "CLP"),
        ("cincuenta lucas", "es", "CLP", 50_000, "CLP"),
        ("un palo", "es", None, 1_000_000, "CLP"),
        ("1,5 millones", "es", "CLP", 1_500_000, "CLP"),
        ("1.500.000", "es", "CLP", 1_500_000, "CLP"),
        ("veintitres mil", "es", "CLP", 23_000, "CLP"),
        ("treinta y cinco mil pesos", "es", None, 35_000, "CLP"),
        ("quinientos dólares", "es", None, 500, "USD"),
        ("quinientos dolares", "es", None, 500, "USD"),
        ("en tres cuotas de cien mil", "es", "CLP", 100_000, "CLP"),
        ("puedo pagar 300", "es", "EUR", 300, "EUR"),
        ("sí, le pago doscientos mil pesos el viernes", "es", None, 200_000, "CLP"),
        # Recogniser errors: a wrong first letter, a missing "s", no accents.
        ("loscientos mil pesos", "es", None, 200_000, "CLP"),
        ("docientos cincuenta mil", "es", "CLP", 250_000, "CLP"),
        ("dosientos mil", "es", "CLP", 200_000, "CLP"),
        ("trecientos mil", "es", "CLP", 300_000, "CLP"),
        # "pesos" are the campaign's pesos when it runs in another peso country.
        ("doscientos mil pesos", "es", "MXN", 200_000, "MXN"),
        ("$200.000", "es", "EUR", 200_000, "CLP"),
        ("two hundred thousand", "en", "USD", 200_000, "USD"),
        ("I can pay 200,000 pesos.", "en", None, 200_000, "CLP"),
        ("a hundred dollars", "en", None, 100, "USD"),
        ("200k", "en", "USD", 200_000, "USD"),
        ("two grand", "en", None, 2_000, "USD"),
        ("US$ 500", "en", None, 500, "USD"),
        ("$350", "en", None, 350, "USD"),
        ("one hundred and fifty thousand", "en", "USD", 150_000, "USD"),
        ("fifteen hundred euros", "en", None, 1_500, "EUR"),
        ("1.5 million", "en", "USD", 1_500_000, "USD"),
        # With how it will be paid: a large number before "por" or "del" is still money.
        ("doscientos mil por transferencia", "es", "CLP", 200_000, "CLP"),
        ("le pago 200.000 por transferencia", "es", "CLP", 200_000, "CLP"),
        ("abono cincuenta mil por caja vecina", "es", "CLP", 50_000, "CLP"),
        ("ciento veinte mil del banco", "es", "CLP", 120_000, "CLP"),
        ("con transferencia, 200 mil", "es", "CLP", 200_000, "CLP"),
        ("150.000 por Bizum", "es", "EUR", 150_000, "EUR"),
    ],
)
def test_amounts(
    text: str, language: str, default: str | None, value: int, currency: str | None
) -> None:
    amount = parse_amount(text, language, default)
    assert amount is not None
    assert (amount.value, amount.currency) == (value, currency)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hola buenas tardes", "es"),
        ("le pago el 15", "es"),
        ("llámeme a las 4", "es"),
        ("mañana a las cuatro", "es"),
        ("en dos días", "es"),
        ("en 3 cuotas", "es"),
        ("mi rut es 12.345.678-5", "es"),
        (
            "doce millones trescientos cuarenta y cinco mil seiscientos setenta y ocho guion cinco",
            "es",
        ),
        ("el quince de diciembre de dos mil veinticinco", "es"),
        ("cientos de veces les he dicho", "es"),
        ("no tengo nada", "es"),
        ("tengo 3 hijos", "es"),
        ("cien por ciento", "es"),
        ("le pago 15 del mes", "es"),
        ("call me at 4", "en"),
        ("on the 15th", "en"),
        ("", "es"),
    ],
)
def test_no_amount(text: str, language: str) -> None:
    assert parse_amount(text, language, "CLP") is None


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [("cincuenta", "es", 50), ("yes, 200", "en", 200), ("200 by transfer", "en", 200)],
)
def test_a_small_bare_number_answers_how_much(text: str, language: str, value: int) -> None:
    assert parse_amount(text, language, "USD") is None  # unasked, it could be anything
    amount = parse_amount(text, language, "USD", expected=True)
    assert amount is not None
    assert amount.value == value


@pytest.mark.parametrize("text", ["el 15", "a las 4", "en 3 cuotas", "tengo 3 hijos"])
def test_an_asked_amount_is_still_not_a_day_an_hour_or_a_count(text: str) -> None:
    assert parse_amount(text, "es", "CLP", expected=True) is None


def test_the_offer_wins_over_the_negated_amount() -> None:
    text = "no puedo pagar quinientos mil pero sí doscientos mil"
    amounts = find_amounts(text, "es", "CLP")
    assert [(a.value, a.negated) for a in amounts] == [(500_000, True), (200_000, False)]
    offer = parse_amount(text, "es", "CLP")
    assert offer is not None
    assert offer.value == 200_000


def test_currency_unknown_without_default() -> None:
    amount = parse_amount("doscientos mil", "es")
    assert amount is not None
    assert amount.currency is None


@given(st.integers(min_value=1, max_value=999_999_999))
def test_chilean_dotted_digits_round_trip(value: int) -> None:
    written = f"${value:,}".replace(",", ".")
    amount = parse_amount(f"le pago {written}", "es", "CLP")
    assert amount is not None
    assert amount.value == value


@given(st.integers(min_value=1_000, max_value=999_999_999))
def test_english_grouped_digits_round_trip(value: int) -> None:
    amount = parse_amount(f"I can pay {value:,} dollars", "en")
    assert amount is not None
    assert (amount.value, amount.currency) == (value, "USD")


@given(st.integers(min_value=1, max_value=999))
def test_digits_and_mil_round_trip(value: int) -> None:
    amount = parse_amount(f"puedo pagar {value} mil pesos", "es")
    assert amount is not None
    assert amount.value == value * 1_000
