"""The whole turn: intent plus slots, and identity numbers."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from realtime.understanding.ids import find_national_id, rut_check_digit
from realtime.understanding.model import Intent
from realtime.understanding.nlu import understand

pytestmark = pytest.mark.unit

SANTIAGO = ZoneInfo("America/Santiago")
MADRID = ZoneInfo("Europe/Madrid")
WEDNESDAY = datetime(2025, 3, 12, 11, 0, tzinfo=SANTIAGO)


def test_promise_with_amount_currency_and_day() -> None:
    result = understand("sí, le pago doscientos mil pesos el viernes", language="es", now=WEDNESDAY)
    assert result.intent is Intent.PROMISE_TO_PAY
    assert Intent.AFFIRM in result.also
    assert result.slots.amount == 200_000
    assert result.slots.currency == "CLP"
    assert result.slots.pay_date == date(2025, 3, 14)
    assert result.slots.callback_at is None


def test_callback_tomorrow_at_four_in_the_callers_zone() -> None:
    result = understand("llámeme mañana a las cuatro", language="es", now=WEDNESDAY)
    assert result.intent is Intent.CALLBACK_REQUEST
    assert result.slots.callback_at == datetime(2025, 3, 13, 16, 0, tzinfo=SANTIAGO)
    assert result.slots.pay_date is None


@pytest.mark.parametrize(
    ("text", "language", "currency", "intent", "amount", "pay_date"),
    [
        ("puedo pagar doscientos mil", "es", "CLP", Intent.PROMISE_TO_PAY, 200_000, None),
        ("voy a pagar a fin de mes", "es", "CLP", Intent.PROMISE_TO_PAY, None, date(2025, 3, 31)),
        ("le puedo abonar veinte lucas el 15", "es", "CLP", Intent.PROMISE_TO_PAY, 20_000,
         date(2025, 3, 15)),
        ("le pago loscientos mil el biernes", "es", "CLP", Intent.PROMISE_TO_PAY, 200_000,
         None),
        ("el viernes, doscientos mil", "es", "CLP", Intent.PROMISE_TO_PAY, 200_000,
         date(2025, 3, 14)),
        ("le pago mil quinientos euros la próxima semana", "es", "EUR",
         Intent.PROMISE_TO_PAY, 1_500, date(2025, 3, 17)),
        ("I can pay two hundred dollars tomorrow", "en", "USD", Intent.PROMISE_TO_PAY, 200,
         date(2025, 3, 13)),
        ("no puedo pagar doscientos mil", "es", "CLP", Intent.CANNOT_PAY, 200_000, None),
        ("ya pagué los cien mil", "es", "CLP", Intent.DISPUTE, 100_000, None),
        ("no me llamen más", "es", "CLP", Intent.OPT_OUT, None, None),
    ],
)  # fmt: skip
def test_turns(
    text: str,
    language: str,
    currency: str | None,
    intent: Intent,
    amount: int | None,
    pay_date: date | None,
) -> None:
    result = understand(text, language=language, now=WEDNESDAY, default_currency=currency)
    assert result.intent is intent
    assert result.slots.amount == amount
    assert result.slots.pay_date == pay_date
    assert result.slots.currency == (currency if amount else None)


def test_madrid_callback_in_english() -> None:
    now = datetime(2025, 3, 12, 18, 0, tzinfo=MADRID)
    result = understand("I'm busy, call me tomorrow at 10 am", language="en-GB", now=now)
    assert result.intent is Intent.CALLBACK_REQUEST
    assert result.language == "en"
    assert result.slots.callback_at == datetime(2025, 3, 13, 10, 0, tzinfo=MADRID)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        understand("hola", language="es", now=datetime(2025, 3, 12, 11, 0))


def test_unknown_turn_has_empty_slots() -> None:
    result = understand("el perro ladra", language="es", now=WEDNESDAY, default_currency="CLP")
    assert result.intent is Intent.UNKNOWN
    assert result.confidence == 0.0
    assert result.slots.model_dump() == {
        "amount": None, "currency": None, "pay_date": None, "callback_at": None,
        "callback_day": None, "national_id": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "kind", "value", "valid"),
    [
        ("mi rut es 12.345.678-5", "RUT", "12345678-5", True),
        ("12345678-5", "RUT", "12345678-5", True),
        ("mi rut es 12.345.678-k", "RUT", "12345678-K", False),
        ("11.111.111-1", "RUT", "11111111-1", True),
        ("doce millones trescientos cuarenta y cinco mil seiscientos setenta y ocho guion cinco",
         "RUT", "12345678-5", True),
        ("uno dos tres cuatro cinco seis siete ocho guion cinco", "RUT", "12345678-5", True),
        ("mi dni es 12345678Z", "DNI", "12345678Z", True),
        ("12345678 letra zeta", "DNI", "12345678Z", True),
        ("nie X1234567L", "NIE", "X1234567L", True),
    ],
)  # fmt: skip
def test_national_ids(text: str, kind: str, value: str, valid: bool) -> None:
    found = find_national_id(text)
    assert found is not None
    assert (found.kind, found.value, found.valid) == (kind, value, valid)


@pytest.mark.parametrize("text", ["le pago doscientos mil", "el 15 de diciembre", "hola", ""])
def test_no_national_id(text: str) -> None:
    assert find_national_id(text) is None


@pytest.mark.parametrize(
    ("body", "digit"), [("12345678", "5"), ("11111111", "1"), ("7654321", "6")]
)
def test_rut_check_digit(body: str, digit: str) -> None:
    assert rut_check_digit(body) == digit


def test_rut_goes_to_the_slot_not_the_amount() -> None:
    result = understand("mi rut es 12.345.678-5", language="es", now=WEDNESDAY)
    assert result.slots.national_id == "12345678-5"
    assert result.slots.amount is None
