"""Sentences cut out of streamed tokens, as soon as each is complete."""

from __future__ import annotations

import pytest

from realtime.agents.llm.sentences import SentenceBuffer

pytestmark = pytest.mark.unit


def feed_all(deltas: list[str]) -> tuple[list[list[str]], str | None]:
    buffer = SentenceBuffer()
    return [buffer.feed(d) for d in deltas], buffer.flush()


def test_a_sentence_comes_out_when_the_next_one_starts() -> None:
    steps, rest = feed_all(["Hola, ", "María.", " ¿Cómo", " está?", " Bien"])
    assert steps == [[], [], ["Hola, María."], [], ["¿Cómo está?"]]
    assert rest == "Bien"


def test_thousands_separators_and_decimals_do_not_end_a_sentence() -> None:
    steps, rest = feed_all(["Su deuda es de 200.", "000 pesos y 3.5 UF. ", "Gracias"])
    assert [s for step in steps for s in step] == ["Su deuda es de 200.000 pesos y 3.5 UF."]
    assert rest == "Gracias"


def test_abbreviations_do_not_end_a_sentence() -> None:
    steps, _ = feed_all(["Le habla el Sr. Pérez. ", "Hola."])
    assert [s for step in steps for s in step] == ["Le habla el Sr. Pérez."]


def test_exclamations_questions_and_ellipses_end_sentences() -> None:
    steps, rest = feed_all(["¡Perfecto! ¿Le parece bien? Bueno… ", "listo"])
    assert steps[0] == ["¡Perfecto!", "¿Le parece bien?", "Bueno…"]
    assert rest == "listo"


def test_nothing_left_is_none() -> None:
    buffer = SentenceBuffer()
    assert buffer.feed("Adiós. ") == ["Adiós."]
    assert buffer.flush() is None
