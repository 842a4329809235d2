"""`sounds_finished`: whether a transcript at a pause reads like the end of the turn."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from centralita.understanding.turn_end import sounds_finished

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
WHEN = ("pay_date",)
HOW_MUCH = ("amount",)


def _finished(text: str, language: str = "es", expecting: tuple[str, ...] = ()) -> bool:
    return sounds_finished(text, language=language, now=NOW, expecting=expecting)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Mi número es el", "es"),
        ("La verdad es que", "es"),
        ("Mi RUT es", "es"),
        ("Le puedo abonar la mitad y", "es"),
        ("Eh, el próximo, este", "es"),
        ("Puedo pagar...", "es"),
        ("Puedo pagar…", "es"),
        ("My number is", "en"),
        ("The thing is that", "en"),
        ("I could send half of it to", "en"),
        ("I think, um", "en"),
        ("", "es"),
        ("  ", "en"),
    ],
)
def test_a_sentence_left_hanging_is_not_finished(text: str, language: str) -> None:
    assert not _finished(text, language)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Sí.", "es"),
        ("Si", "es"),  # recognisers drop the accent: "si" ends as the "sí" it was
        ("Eso es.", "es"),
        ("De acuerdo.", "es"),
        ("Yes, it is.", "en"),
        ("Okay.", "en"),
        ("¿Quién me habla?", "es"),
        ("Who is this?", "en"),
    ],
)
def test_a_finished_sentence_ends_the_turn(text: str, language: str) -> None:
    assert _finished(text, language)


@pytest.mark.parametrize(
    ("text", "language", "expecting"),
    [
        ("Puedo pagar", "es", WHEN),
        ("Sí, puedo pagar", "es", WHEN),
        ("Le puedo abonar", "es", HOW_MUCH),
        ("Llámeme", "es", ("callback_at",)),
        ("I can pay", "en", WHEN),
        ("I could send", "en", HOW_MUCH),
    ],
)
def test_a_promise_without_what_was_asked_waits_for_it(
    text: str, language: str, expecting: tuple[str, ...]
) -> None:
    assert not _finished(text, language, expecting)


@pytest.mark.parametrize(
    ("text", "language", "expecting"),
    [
        ("Puedo pagar el viernes.", "es", WHEN),
        ("El viernes.", "es", WHEN),
        ("Mañana", "es", WHEN),
        ("Cincuenta mil pesos.", "es", HOW_MUCH),
        ("No puedo.", "es", WHEN),
        ("Este mes no puedo.", "es", WHEN),
        ("Yo no debo nada.", "es", WHEN),
        ("No me llamen más.", "es", WHEN),
        ("On Friday.", "en", WHEN),
        ("I can't.", "en", WHEN),
        ("Yes.", "en", WHEN),
    ],
)
def test_the_answer_asked_for_or_a_closed_one_ends_the_turn(
    text: str, language: str, expecting: tuple[str, ...]
) -> None:
    assert _finished(text, language, expecting)


def test_words_the_rules_do_not_know_wait_when_an_answer_was_asked_for() -> None:
    # Without a question pending they end the turn; after "¿qué día puede pagar?" a
    # sentence with neither a day nor a closed answer may be the start of one.
    assert _finished("Mire, señorita, la cosa está difícil", "es")
    assert not _finished("Mire, señorita, la cosa está difícil", "es", WHEN)


def test_a_promise_is_finished_when_nothing_was_asked() -> None:
    assert _finished("Puedo pagar", "es")
    assert _finished("I can pay", "en")
