"""Templates: money and dates as a voice says them, variables bound by kind, fallbacks."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from realtime.agents.flows import VariableError
from realtime.agents.flows.templates import (
    Renderer,
    TemplateError,
    format_date,
    format_datetime,
    format_money,
    placeholders,
)
from realtime.agents.loader import load_agent

pytestmark = pytest.mark.unit

TODAY = date(2025, 3, 10)


@pytest.mark.parametrize(
    ("amount", "currency", "language", "spoken"),
    [
        (200000, "CLP", "es-CL", "200.000 pesos"),
        (1, "CLP", "es-CL", "1 peso"),
        (Decimal("1250.50"), "EUR", "es-ES", "1.250 euros con 50 céntimos"),
        (1999, "EUR", "es-ES", "1.999 euros"),
        (Decimal("45.05"), "USD", "en-US", "45 dollars and 5 cents"),
        (1200000, "USD", "en-US", "1,200,000 dollars"),
        (350000, "CLP", "en-US", "350,000 Chilean pesos"),
        (10, "XYZ", "es", "10 XYZ"),
    ],
)
def test_money(amount: Decimal | int, currency: str, language: str, spoken: str) -> None:
    assert format_money(amount, currency, language) == spoken


def test_dates_and_times() -> None:
    friday = date(2025, 3, 14)
    assert format_date(friday, "es-CL", today=TODAY) == "el viernes 14 de marzo"
    assert format_date(friday, "en-US", today=TODAY) == "Friday, March 14"
    assert format_date(date(2026, 1, 2), "es", today=TODAY) == "el viernes 2 de enero de 2026"
    assert format_date(date(2026, 1, 2), "en", today=TODAY) == "Friday, January 2, 2026"
    at = datetime(2025, 3, 11, 16, 30, tzinfo=ZoneInfo("America/Santiago"))
    assert format_datetime(at, "es", today=TODAY) == "el martes 11 de marzo a las 16:30"
    assert format_datetime(at, "en", today=TODAY) == "Tuesday, March 11 at 4:30 PM"
    one = at.replace(hour=13, minute=0)
    assert format_datetime(one, "en", today=TODAY).endswith("at 1 PM")
    assert format_datetime(one.replace(hour=1), "es", today=TODAY).endswith("a la 1:00")


def test_placeholders_parse_chains_and_refuse_stray_braces() -> None:
    assert placeholders("Hola {nombre}, debe {slots.amount|monto_total}.") == [
        ("nombre",),
        ("slots.amount", "monto_total"),
    ]
    assert placeholders("{{literal}}") == []
    for bad in ("{nombre", "nombre}", "{}", "{a b}", "{a|}"):
        with pytest.raises(TemplateError):
            placeholders(bad)


def renderer(**variables: Any) -> Renderer:
    base = {"nombre": "Ana", "monto_total": "200.000", "fecha_limite": "2025-03-05"}
    return Renderer(load_agent("cobranza-temprana"), {**base, **variables}, today=lambda: TODAY)


def test_render_reads_variables_by_kind() -> None:
    r = renderer()
    assert r.render("Debe {monto_total}, vence {fecha_limite}.") == (
        "Debe 200.000 pesos, vence el miércoles 5 de marzo."
    )
    assert r.render("{{ {nombre} }}") == "{ Ana }"


def test_render_chains_and_slots() -> None:
    r = renderer()
    template = "Pagará {slots.amount|monto_total} {slots.pay_date}."
    assert r.render(template, {"pay_date": date(2025, 3, 14)}) == (
        "Pagará 200.000 pesos el viernes 14 de marzo."
    )
    assert r.render(template, {"amount": 50000, "currency": "EUR"}) == (
        "Pagará 50.000 euros la fecha indicada."
    )


def test_missing_optional_variable_gets_its_fallback() -> None:
    assert renderer().render("De {empresa}.") == "De su institución financiera."
    assert renderer(empresa="Banco Andino").render("De {empresa}.") == "De Banco Andino."


def test_aliases_are_accepted() -> None:
    r = Renderer(
        load_agent("cobranza-temprana"),
        {"name": "Ana", "monto": 1000, "fecha_vencimiento": "2025-03-05T00:00:00"},
        today=lambda: TODAY,
    )
    assert r.render("{nombre}: {monto_total}, {fecha_limite}") == (
        "Ana: 1.000 pesos, el miércoles 5 de marzo"
    )


def test_values_for_tool_arguments_are_typed() -> None:
    r = renderer()
    assert r.value("{slots.amount|monto_total}") == 200000
    assert r.value("{slots.pay_date}", {"pay_date": date(2025, 3, 14)}) == "2025-03-14"
    assert r.value("{slots.pay_date}") is None
    assert r.value("{currency}") == "CLP"
    assert r.value("sms") == "sms"
    assert r.value(3) == 3


def test_bad_or_missing_variables_are_all_reported() -> None:
    with pytest.raises(VariableError) as info:
        Renderer(load_agent("cobranza-temprana"), {"fecha_limite": "ayer"}, today=lambda: TODAY)
    message = str(info.value)
    assert "required variables missing from the contact: nombre, monto_total" in message
    assert "fecha_limite" in message
