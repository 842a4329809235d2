"""Answers from knowledge hits: the sentences that answer, spoken clean and short, or none.

The hits are built as the search returns them (heading path, chunk text as the readers
give it, cosine similarity), in Spanish and English.
"""

from __future__ import annotations

import pytest

from centralita.knowledge.answers import (
    MAX_CHARS,
    answer_from_hits,
    content_stems,
    not_found_line,
    strip_markdown,
)
from centralita.knowledge.search_store import KnowledgeHit

pytestmark = pytest.mark.unit

PAYMENT_PLACES = """Tiene cinco formas de pagar:

- Portal web: en pagos.cobranzasandes.example, con Webpay (tarjeta de débito, crédito o
prepago), a cualquier hora.
- Servipag: en cualquier sucursal, en efectivo o con tarjeta de débito.
- Caja Vecina de BancoEstado: en el almacén de su barrio, indicando el código de
convenio 4417 y su RUT.

Cada medio tarda un tiempo distinto en reflejar el pago."""

OFFICE = """Nuestra oficina está en Av. Providencia 1550, oficina 804, comuna de Providencia, a dos
cuadras del metro. Atendemos de **lunes a viernes** de 9:00 a 17:30, sin necesidad de hora.
Los sábados la oficina está cerrada, pero el [portal web](https://pagos.example) funciona."""

PLAN_EN = """Yes. We offer a payment plan of up to **18 monthly instalments**, with a minimum
down payment of 15% of the debt. If two monthly payments are missed, the plan is cancelled
and the whole remaining balance is due again. Our office is in Madrid."""


def hit(
    text: str, heading: str, *, similarity: float = 0.88, chunk_id: int = 1, title: str = "FAQ"
) -> KnowledgeHit:
    return KnowledgeHit(
        chunk_id=chunk_id,
        document_id=f"doc-{chunk_id}",
        title=title,
        heading=heading,
        text=text,
        ordinal=chunk_id,
        score=0.03,
        vector_rank=1,
        text_rank=1,
        similarity=similarity,
    )


def test_a_list_introduction_is_spoken_with_its_items_labels() -> None:
    answer = answer_from_hits(
        "¿dónde puedo pagar?",
        [hit(PAYMENT_PLACES, "Preguntas frecuentes > Pagos > ¿Dónde puedo pagar?")],
        language="es-CL",
    )
    assert answer.found
    assert answer.text == (
        "Tiene cinco formas de pagar: Portal web, Servipag, Caja Vecina de BancoEstado."
    )
    assert answer.sources[0].heading == "Preguntas frecuentes > Pagos > ¿Dónde puedo pagar?"
    assert (answer.sources[0].chunk_id, answer.sources[0].document_id) == (1, "doc-1")


def test_the_list_item_that_names_what_was_asked_is_spoken_whole() -> None:
    answer = answer_from_hits(
        "puedo pagar en la caja vecina del almacen? que codigo tengo que dar",
        [hit(PAYMENT_PLACES, "Pagos > ¿Dónde puedo pagar?")],
        language="es-CL",
    )
    assert answer.found
    assert "código de convenio 4417" in answer.text
    assert "\n" not in answer.text  # the hard-wrapped item is one spoken sentence


def test_the_sentences_sharing_the_questions_words_are_picked_and_markdown_stripped() -> None:
    answer = answer_from_hits(
        "¿Atienden los sábados? ¿Hasta qué hora?",
        [hit(OFFICE, "Pagos > ¿Dónde queda la oficina y en qué horario atienden?")],
        language="es-CL",
    )
    assert answer.found
    # The section's opening sentence (its heading is the question) and the hours.
    assert answer.text == (
        "Nuestra oficina está en Av. Providencia 1550, oficina 804, comuna de Providencia, "
        "a dos cuadras del metro. Atendemos de lunes a viernes de 9:00 a 17:30, sin "
        "necesidad de hora."
    )


def test_links_and_emphasis_are_spoken_as_words() -> None:
    answer = answer_from_hits(
        "¿Funciona el portal web los sábados?",
        [hit(OFFICE, "Pagos > Oficina")],
        language="es",
    )
    assert answer.found
    assert "Los sábados la oficina está cerrada, pero el portal web funciona." in answer.text
    assert "**" not in answer.text
    assert "](" not in answer.text
    assert "https" not in answer.text


def test_english_answer_from_the_best_of_several_hits() -> None:
    unrelated = hit("Our office is in Madrid, Calle Mayor 1.", "About us > Office", chunk_id=2)
    answer = answer_from_hits(
        "What happens if I miss one of the monthly payments?",
        [unrelated, hit(PLAN_EN, "Payment plans > Can I pay in instalments?", chunk_id=7)],
        language="en-GB",
    )
    assert answer.found
    assert "If two monthly payments are missed, the plan is cancelled" in answer.text
    assert "Madrid" not in answer.text
    assert answer.sources[0].chunk_id == 7


def test_an_answer_fits_a_phone_turn() -> None:
    long_sentence = (
        "Puede pagar en cualquier sucursal de Servipag, "
        + ", ".join(f"en la caja número {n} de la tienda del centro comercial" for n in range(30))
        + "."
    )
    answer = answer_from_hits(
        "¿Dónde puedo pagar en Servipag?",
        [hit(long_sentence + " " + long_sentence, "Pagos > Servipag")],
        language="es",
    )
    assert answer.found
    assert 100 < len(answer.text) <= MAX_CHARS + 1  # +1: the closing full stop
    assert answer.text.startswith("Puede pagar en cualquier sucursal de Servipag")
    assert answer.text.endswith(".")


def test_a_weak_best_hit_is_not_an_answer() -> None:
    answer = answer_from_hits(
        "¿Dónde puedo pagar?",
        [hit(PAYMENT_PLACES, "Pagos > ¿Dónde puedo pagar?", similarity=0.78)],
        language="es",
    )
    assert (answer.found, answer.text, answer.sources) == (False, "", ())


def test_a_question_whose_words_the_hits_do_not_have_is_not_answered() -> None:
    # Near the payment section in meaning, but nothing there says bitcoin.
    answer = answer_from_hits(
        "¿Puedo pagar con bitcoin o alguna criptomoneda?",
        [hit(PAYMENT_PLACES, "Pagos > ¿Dónde puedo pagar?", similarity=0.86)],
        language="es-CL",
    )
    assert not answer.found
    assert answer.text == ""
    english = answer_from_hits(
        "Can my solicitor in England deal with this for me?",
        [hit(PLAN_EN, "Payment plans > Can I pay in instalments?", similarity=0.84)],
        language="en",
    )
    assert not english.found


def test_no_hits_or_only_full_text_hits_are_not_an_answer() -> None:
    assert not answer_from_hits("¿Dónde puedo pagar?", [], language="es").found
    text_only = hit(PAYMENT_PLACES, "Pagos", similarity=0.9)
    text_only = KnowledgeHit(**{**text_only.__dict__, "similarity": None})
    assert not answer_from_hits("¿Dónde puedo pagar?", [text_only], language="es").found


def test_not_found_line_offers_a_callback_or_a_person() -> None:
    assert not_found_line("es-CL") == (
        "No tengo esa información ahora mismo. "
        "¿Quiere que le llame un ejecutivo o que le transfiera con una persona?"
    )
    assert not_found_line("es") == not_found_line("es-ES")
    english = not_found_line("en-GB")
    assert "call you back" in english
    assert "person" in english


def test_content_words_fold_accents_and_meet_across_word_forms() -> None:
    assert content_stems("¿Dónde puedo pagar?") == content_stems("donde puedo PAGO")
    assert "servipag" in content_stems("En el Servipag se puede?")
    assert content_stems("¿Qué es lo que hay?") == frozenset()


def test_strip_markdown_keeps_the_words() -> None:
    assert strip_markdown("## Pagos\n**Online** at [our site](https://x.example) `now`") == (
        "Pagos\nOnline at our site now"
    )


JOBLESS = """Podemos postergar la primera cuota del convenio hasta 60 días, bajar el pie al
mínimo y elegir el día del mes en que le acomoda pagar. Lo que no podemos hacer es borrar
la deuda."""


def test_the_section_whose_question_the_caller_asked_wins_over_a_rarer_shared_word() -> None:
    # Heard on a call: the search put the jobless section first (it says "cuota"), the
    # FAQ's own "¿Dónde puedo pagar?" second.
    answer = answer_from_hits(
        "Oiga, donde puedo pagar la cuota.",
        [
            hit(JOBLESS, "FAQ > Convenios > Estoy sin trabajo, ¿qué opciones tengo?", chunk_id=1),
            hit(PAYMENT_PLACES, "FAQ > Pagos > ¿Dónde puedo pagar?", chunk_id=2),
        ],
        language="es-CL",
    )
    assert answer.found
    assert "Servipag" in answer.text
    assert answer.sources[0].chunk_id == 2


def test_a_heading_question_word_must_be_asked_too() -> None:
    # "¿Cuándo puedo pagar?" is not "¿Dónde puedo pagar?": no bonus, the search order holds.
    answer = answer_from_hits(
        "¿cuándo puedo pagar la cuota?",
        [
            hit(JOBLESS, "FAQ > Convenios > ¿Puedo elegir el día de la cuota?", chunk_id=1),
            hit(PAYMENT_PLACES, "FAQ > Pagos > ¿Dónde puedo pagar?", chunk_id=2),
        ],
        language="es-CL",
    )
    assert answer.sources[0].chunk_id == 1
