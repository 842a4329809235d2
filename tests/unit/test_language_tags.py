"""Which rule set a language tag gets: one function for understanding and the flows."""

from __future__ import annotations

from datetime import date

import pytest

from centralita.understanding.text import base_language
from realtime.agents.flows.templates import format_date, format_money

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("es", "es"),
        ("es-CL", "es"),
        ("es_ES", "es"),
        ("ES-cl", "es"),
        ("en", "en"),
        ("en-US", "en"),
        ("EN_gb", "en"),
        ("fr-FR", "es"),  # no rules of its own: Spanish, the first users' language
        ("", "es"),
    ],
)
def test_a_tag_reads_as_its_rule_set(tag: str, expected: str) -> None:
    assert base_language(tag) == expected


@pytest.mark.parametrize(("tag", "expected"), [("es-CL", "es"), ("en-US", "en"), ("pt-BR", "en")])
def test_the_fallback_is_the_callers(tag: str, expected: str) -> None:
    assert base_language(tag, default="en") == expected


def test_a_flow_in_a_language_without_words_of_its_own_speaks_english() -> None:
    friday = date(2026, 3, 13)
    assert format_date(friday, "pt-BR", today=friday) == "Friday, March 13"
    assert format_money(1250, "USD", "pt-BR") == format_money(1250, "USD", "en-US")
    assert format_date(friday, "es-CL", today=friday) == "el viernes 13 de marzo"
