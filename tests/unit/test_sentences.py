"""One sentence splitter for everything the agent says: whole texts and token streams.

The table gathers what the three former splitters handled (the session's, the flows'
and the LLM stream's): abbreviations and initials, numbers with thousands separators
and decimal commas or points, Spanish opening marks, ellipses, quotes, line breaks,
Spanish and English. A stream fed in any pieces gives the same sentences.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.providers.sentences import SentenceBuffer, split_sentences

pytestmark = pytest.mark.unit

TABLE = [
    # Abbreviations and initials do not end a sentence.
    (
        "Hola, Sr. Pérez. Le llamo por su deuda de $200.000 pesos. ¿Puede pagar el "
        "viernes? ¡Excelente!",
        [
            "Hola, Sr. Pérez.",
            "Le llamo por su deuda de $200.000 pesos.",
            "¿Puede pagar el viernes?",
            "¡Excelente!",
        ],
    ),
    ("Le habla el Sr. Pérez. Hola.", ["Le habla el Sr. Pérez.", "Hola."]),
    ("La Dra. Soto y el Lic. Ruiz llamarán.", ["La Dra. Soto y el Lic. Ruiz llamarán."]),
    ("Me llamo J. Pérez. Hola", ["Me llamo J. Pérez.", "Hola"]),
    ("Vive en EE.UU. y paga en dólares.", ["Vive en EE.UU. y paga en dólares."]),
    ("Compró pan, leche, etc. Mañana paga.", ["Compró pan, leche, etc.", "Mañana paga."]),
    ("Pan, leche, etc. y luego nada.", ["Pan, leche, etc. y luego nada."]),
    # Numbers: thousands separators, decimal points and commas; a number starts one.
    (
        "Su deuda es de 200.000 pesos y 3.5 UF. Gracias",
        ["Su deuda es de 200.000 pesos y 3.5 UF.", "Gracias"],
    ),
    ("Debe 3.5 UF. Gracias.", ["Debe 3.5 UF.", "Gracias."]),
    ("Son 1,5 UF al mes. ¿Le parece?", ["Son 1,5 UF al mes.", "¿Le parece?"]),
    (
        "Gracias, Ana. ¿Podría pagar? Sí. 200.000 pesos.",
        ["Gracias, Ana.", "¿Podría pagar?", "Sí.", "200.000 pesos."],
    ),
    (
        "Tiene hasta el día 5. Después hay interés.",
        ["Tiene hasta el día 5.", "Después hay interés."],
    ),
    # Spanish questions and exclamations, with or without a space between them.
    ("¿Habla con la Sra. González?¿Sí?", ["¿Habla con la Sra. González?", "¿Sí?"]),
    ("¡Perfecto! ¿Le parece bien?", ["¡Perfecto!", "¿Le parece bien?"]),
    ("¿De verdad? sí, claro.", ["¿De verdad?", "sí, claro."]),
    # Ellipses: a capital after one starts a sentence, a small letter goes on.
    ("Bueno... vale, entonces sí.", ["Bueno... vale, entonces sí."]),
    ("Bueno… Entonces el lunes.", ["Bueno…", "Entonces el lunes."]),
    ("Bueno… listo", ["Bueno… listo"]),
    # Quotes, line breaks, a small letter after a period.
    ("«Pagaré mañana.» Eso dijo.", ["«Pagaré mañana.»", "Eso dijo."]),
    ("Primera línea\nsegunda línea", ["Primera línea", "segunda línea"]),
    ("Uno.\n\nDos.", ["Uno.", "Dos."]),
    ("Le dije que no. Mañana pago.", ["Le dije que no.", "Mañana pago."]),
    ("Le dije que no. mañana pago.", ["Le dije que no. mañana pago."]),
    # English.
    (
        "I owe $1,200.50. Can I pay on Friday? Mr. Smith said yes! OK.",
        ["I owe $1,200.50.", "Can I pay on Friday?", "Mr. Smith said yes!", "OK."],
    ),
    (
        "The meeting is at 10 a.m. and lasts an hour.",
        ["The meeting is at 10 a.m. and lasts an hour."],
    ),
    ("Call Dr. Brown. He knows.", ["Call Dr. Brown.", "He knows."]),
    # Nothing to say, or no end mark.
    ("  ", []),
    ("Sin puntuación final", ["Sin puntuación final"]),
    # Punctuation on its own is not a sentence: it goes with the next one.
    ("Hola. . Adiós.", ["Hola. .", "Adiós."]),
    (". Adiós.", [". Adiós."]),
    ("¡Hola! ! Adiós.", ["¡Hola!", "! Adiós."]),
    ("Adiós. ...", ["Adiós. ..."]),
]


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_a_whole_text(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_a_stream_fed_a_character_at_a_time(text: str, expected: list[str]) -> None:
    assert _streamed(list(text)) == expected


def test_every_character_is_kept() -> None:
    text = "Buenos días, Sr. Muñoz. Su saldo es de $1.250.000. ¿Cuándo podría pagar? ¡Gracias!"
    assert " ".join(split_sentences(text)) == text


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_stream_gives_what_the_whole_text_gives(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from([t for t, _ in TABLE]))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(len(text) - 1, 1)), max_size=8)))
    deltas = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert _streamed(deltas) == split_sentences(text)


# -- the stream, as the LLM path sees it -------------------------------------------


def _feed_all(deltas: list[str]) -> tuple[list[list[str]], str | None]:
    buffer = SentenceBuffer()
    return [buffer.feed(d) for d in deltas], buffer.flush()


def _streamed(deltas: list[str]) -> list[str]:
    steps, rest = _feed_all(deltas)
    return [s for step in steps for s in step] + ([rest] if rest else [])


def test_a_sentence_comes_out_when_the_next_one_starts() -> None:
    steps, rest = _feed_all(["Hola, ", "María.", " ¿Cómo", " está?", " Bien"])
    assert steps == [[], [], ["Hola, María."], [], ["¿Cómo está?"]]
    assert rest == "Bien"


def test_a_question_or_an_exclamation_comes_out_at_the_space_after_it() -> None:
    steps, rest = _feed_all(["¡Perfecto! ", "¿Le parece bien? ", "Bueno… ", "Listo"])
    assert steps == [["¡Perfecto!"], ["¿Le parece bien?"], [], ["Bueno…"]]
    assert rest == "Listo"


def test_after_a_period_the_next_word_decides() -> None:
    buffer = SentenceBuffer()
    assert buffer.feed("Pan, leche, etc. ") == []  # "etc. y luego" would go on
    assert buffer.feed("Mañana pago. ") == ["Pan, leche, etc."]
    assert buffer.flush() == "Mañana pago."


def test_thousands_separators_and_decimals_split_across_deltas() -> None:
    steps, rest = _feed_all(["Su deuda es de 200.", "000 pesos y 3.5 UF. ", "Gracias"])
    assert [s for step in steps for s in step] == ["Su deuda es de 200.000 pesos y 3.5 UF."]
    assert rest == "Gracias"


def test_a_line_break_ends_a_sentence() -> None:
    assert SentenceBuffer().feed("Primera línea\nsegunda") == ["Primera línea"]


def test_nothing_left_is_none() -> None:
    buffer = SentenceBuffer()
    assert buffer.feed("Adiós. ¿Algo más? ") == ["Adiós.", "¿Algo más?"]
    assert buffer.flush() is None
    assert buffer.feed(" .") == []
    assert buffer.flush() is None
