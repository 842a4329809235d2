"""Which turns are questions to look up in the knowledge base, and which are not."""

from __future__ import annotations

import pytest

from centralita.understanding.questions import asks_to_look_up, is_question

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("¿Dónde puedo pagar?", "es"),
        ("donde puedo pagar", "es"),  # the transcriber lost the question mark
        ("Oiga, y cuánto es con intereses", "es"),
        ("Por qué me llaman ustedes si la deuda era con Natura", "es"),
        ("Una pregunta, ¿qué pasa si no pago?", "es"),
        ("¿Aceptan transferencia?", "es"),
        ("Where can I pay", "en"),
        ("Sorry, why are you calling me?", "en"),
        ("Can I pay by card?", "en"),
    ],
)
def test_questions_to_look_up(text: str, language: str) -> None:
    assert asks_to_look_up(text, language)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Puedo pagar el viernes.", "es"),  # a promise, not a question
        ("Por favor, llámeme mañana.", "es"),
        ("Sí, con ella habla.", "es"),
        ("Doscientos mil pesos, el viernes.", "es"),
        ("Me llamo María.", "es"),
        ("I can pay on Friday.", "en"),
        ("Do it tomorrow.", "en"),  # "do" opens statements too: a question needs its mark
    ],
)
def test_statements_are_not_questions(text: str, language: str) -> None:
    assert not is_question(text, language)


@pytest.mark.parametrize("text", ["¿Cómo?", "¿Qué?", "¿Aló?", "¿Sí?", "What?"])
def test_a_lone_question_word_asks_to_hear_it_again_not_to_look_up(text: str) -> None:
    assert is_question(text, "es")
    assert not asks_to_look_up(text, "es")
