"""`turn_ending`: what a transcript at a pause says about the end of the turn."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from centralita.understanding.turn_end import Ending, turn_ending

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
WHEN = ("pay_date",)
HOW_MUCH = ("amount",)
BOTH = ("amount", "pay_date")


def _ending(text: str, language: str = "es", expecting: tuple[str, ...] = ()) -> Ending:
    return turn_ending(text, language=language, now=NOW, expecting=expecting)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Mi número es el", "es"),
        ("Mi número es él", "es"),  # Whisper's accent on a dangling "el"
        ("La verdad es que", "es"),
        ("Mi RUT es", "es"),
        ("Le puedo abonar la mitad y", "es"),
        ("Eh, el próximo, este", "es"),
        ("My number is", "en"),
        ("The thing is that", "en"),
        ("I could send half of it to", "en"),
        ("I think, um", "en"),
    ],
)
def test_a_sentence_left_hanging_waits(text: str, language: str) -> None:
    assert _ending(text, language) is Ending.HANGING


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Sí.", "es"),
        ("Si", "es"),  # recognisers drop the accent: "si" ends as the "sí" it was
        ("Sí, con ella habla.", "es"),
        ("De acuerdo.", "es"),
        ("No, gracias, adiós.", "es"),
        ("Yes, it is.", "en"),
        ("Okay.", "en"),
        ("¿Quién me habla?", "es"),
        ("Who is this?", "en"),
    ],
)
def test_a_closed_answer_or_a_question_ends_the_turn(text: str, language: str) -> None:
    assert _ending(text, language) is Ending.FINISHED


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
    assert _ending(text, language, expecting) is Ending.HANGING


@pytest.mark.parametrize(
    ("text", "language", "expecting"),
    [
        ("Puedo pagar el viernes.", "es", WHEN),
        ("El viernes.", "es", WHEN),
        ("Mañana", "es", WHEN),
        ("Cincuenta mil pesos.", "es", HOW_MUCH),
        ("Doscientos mil pesos, el viernes.", "es", BOTH),
        ("Puedo pagar el viernes.", "es", BOTH),  # the amount defaults to the debt
        ("I can pay on Friday.", "en", BOTH),
        ("No puedo.", "es", WHEN),
        ("Este mes no puedo.", "es", WHEN),
        ("Yo no debo nada.", "es", WHEN),
        ("No me llamen más.", "es", WHEN),
        ("Sí, correcto.", "es", BOTH),  # a read-back confirmed
        ("On Friday.", "en", WHEN),
        ("I can't.", "en", WHEN),
        ("Yes.", "en", WHEN),
    ],
)
def test_everything_asked_for_or_a_closed_answer_ends_the_turn(
    text: str, language: str, expecting: tuple[str, ...]
) -> None:
    assert _ending(text, language, expecting) is Ending.FINISHED


@pytest.mark.parametrize(
    ("text", "expecting"),
    [
        # Part of what was asked: the day may follow the amount after a comma.
        ("Doscientos mil pesos", BOTH),
        # Words the rules do not know: maybe over, maybe not.
        ("Mire, señorita, la cosa está difícil", WHEN),
        ("Mire, señorita, la cosa está difícil", ()),
        ("Eso es.", ()),  # "that's it": a copula after a pronoun does not hang
        # Whisper heard the voice trail off ("..."), after complete answers too.
        ("No puedo...", WHEN),
        # A lone dangling word after a full stop: mostly Whisper hearing the breath.
        ("Sí, correcto. Y", BOTH),
        ("No gracias. y y", ()),
        # Nothing heard.
        ("", ()),
        (" ", WHEN),
    ],
)
def test_anything_else_ends_after_the_usual_silence(text: str, expecting: tuple[str, ...]) -> None:
    assert _ending(text, "es", expecting) is Ending.OPEN


def test_a_promise_is_not_held_open_when_nothing_was_asked() -> None:
    assert _ending("Puedo pagar", "es") is not Ending.HANGING
    assert _ending("I can pay", "en") is not Ending.HANGING
