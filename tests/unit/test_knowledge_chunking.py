"""Sections cut into chunks: never across a section, never mid-word, overlap inside only."""

from __future__ import annotations

import itertools
import re

import pytest

from centralita.knowledge.chunking import Chunk, chunk_document
from centralita.knowledge.documents import Document, Section, read_document

pytestmark = pytest.mark.unit

FAQ = """\
# Preguntas frecuentes

## ¿Dónde puedo pagar?

Puede pagar en Servipag, en Caja Vecina o en línea en pagos.cobranzas-ejemplo.cl.

## ¿Cuánto es con intereses?

Los intereses por mora son del 1,5% mensual sobre el saldo vencido.

## Sin respuesta todavía

## Condiciones de repactación

{long}
"""

REPACTACION = [
    "La repactación permite pagar la deuda vencida en cuotas mensuales iguales. "
    "El Sr. Pérez de la Av. Providencia puede firmar el convenio en cualquier sucursal. "
    "El primer pago se realiza al firmar el convenio y los siguientes el mismo día de cada mes.",
    "Si se atrasa más de 30 días en una cuota, el convenio queda sin efecto y la deuda "
    "completa vuelve a cobrarse con los intereses acumulados desde la fecha original. "
    "Podrá solicitar una nueva repactación solo después de seis meses.",
    "Para repactar necesita su cédula de identidad, un comprobante de domicilio reciente "
    "y el último estado de cuenta. Si actúa en nombre de otra persona, traiga además un "
    "poder notarial simple firmado por el titular de la deuda.",
]


def faq() -> Document:
    # Numbered, so no stretch of the long section appears twice in it.
    long = "\n\n".join(f"Punto {n}. {p}" for n, p in enumerate(REPACTACION * 3, 1))
    text = FAQ.format(long=long)
    return read_document(text.encode(), filename="faq.md", media_type="text/markdown")


def words(text: str) -> list[str]:
    return re.findall(r"\S+", text)


def test_short_sections_are_one_chunk_each_with_their_heading() -> None:
    chunks = chunk_document(faq(), max_chars=1200, overlap_chars=150)
    first, second = chunks[0], chunks[1]
    assert first == Chunk(
        ordinal=0,
        heading="Preguntas frecuentes > ¿Dónde puedo pagar?",
        text="Puede pagar en Servipag, en Caja Vecina o en línea en pagos.cobranzas-ejemplo.cl.",
    )
    assert second.heading == "Preguntas frecuentes > ¿Cuánto es con intereses?"
    assert second.embedding_text == (
        "Preguntas frecuentes > ¿Cuánto es con intereses?\n"
        "Los intereses por mora son del 1,5% mensual sobre el saldo vencido."
    )
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert not any("Sin respuesta" in c.heading for c in chunks)  # empty section: no chunk


@pytest.mark.parametrize(("max_chars", "overlap_chars"), [(1200, 150), (400, 80), (160, 0)])
def test_a_long_section_is_cut_within_bounds_at_word_ends(
    max_chars: int, overlap_chars: int
) -> None:
    doc = faq()
    section = doc.sections[-1].text
    chunks = [c for c in chunk_document(doc, max_chars=max_chars, overlap_chars=overlap_chars)]
    long = [c for c in chunks if c.heading.endswith("Condiciones de repactación")]
    assert len(long) > 1
    section_words = set(words(section))
    for chunk in long:
        assert 0 < len(chunk.text) <= max_chars
        assert chunk.text == chunk.text.strip()
        assert chunk.text in section  # a contiguous stretch of the section, never rewritten
        assert set(words(chunk.text)) <= section_words  # so no word was cut in two
    # Nothing is lost: each chunk starts at or before the end of the one before (only
    # whitespace between), moves forward, and the last one ends the section.
    start, end = -1, 0
    for chunk in long:
        found = section.find(chunk.text, start + 1)
        assert start < found <= end + 2
        assert not section[end:found].strip()
        start, end = found, found + len(chunk.text)
    assert end == len(section)


def test_overlap_repeats_the_end_of_the_previous_chunk_from_a_sentence_or_word_start() -> None:
    doc = faq()
    long = [
        c for c in chunk_document(doc, max_chars=400, overlap_chars=120) if "repact" in c.heading
    ]
    repeated = 0
    for before, after in itertools.pairwise(long):
        shared = max((n for n in range(1, 121) if before.text.endswith(after.text[:n])), default=0)
        if shared:
            repeated += 1
            assert shared <= 120
            start = len(before.text) - shared
            assert before.text[start - 1] in " \n"  # the repeat begins at a word start
    assert repeated >= len(long) // 2


def test_paragraphs_are_kept_whole_when_they_fit() -> None:
    doc = faq()
    long = [c for c in chunk_document(doc, max_chars=600, overlap_chars=0) if "repact" in c.heading]
    for chunk in long:
        for paragraph in chunk.text.split("\n\n"):
            # each paragraph (< 600 chars) is never split
            assert re.sub(r"^Punto \d+\. ", "", paragraph) in REPACTACION


def test_abbreviations_do_not_end_sentences() -> None:
    text = "El Sr. Pérez vive en la Av. Providencia 1234. " * 4 + "Pague antes del día cinco."
    doc = Document(title="t", kind="text", sections=[Section(("Datos",), text)])
    chunks = chunk_document(doc, max_chars=100, overlap_chars=0)
    for chunk in chunks:
        assert not chunk.text.endswith(("Sr.", "Av."))
        assert not chunk.text.startswith(("Pérez", "Providencia"))


def test_chunks_never_cross_sections_and_overlap_stays_inside() -> None:
    sections = [
        Section(("Pagos",), "Pague en Servipag. " * 30),
        Section(("Intereses",), "El interés es de 1,5% mensual. " * 30),
    ]
    chunks = chunk_document(Document("t", "text", sections), max_chars=200, overlap_chars=60)
    for chunk in chunks:
        if chunk.heading == "Pagos":
            assert "interés" not in chunk.text
        else:
            assert "Servipag" not in chunk.text
    assert {c.heading for c in chunks} == {"Pagos", "Intereses"}


def test_a_run_longer_than_a_chunk_is_the_only_thing_ever_cut() -> None:
    token = "x" * 250
    doc = Document("t", "text", [Section((), f"Su código es {token} y vence hoy.")])
    chunks = chunk_document(doc, max_chars=100, overlap_chars=0)
    assert all(len(c.text) <= 100 for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks) == f"Sucódigoes{token}yvencehoy."
    assert chunks[0].heading == ""
    assert chunks[0].embedding_text == chunks[0].text


def test_the_same_document_gives_the_same_chunks() -> None:
    assert chunk_document(faq(), max_chars=300) == chunk_document(faq(), max_chars=300)


@pytest.mark.parametrize(("max_chars", "overlap_chars"), [(0, 0), (100, 60), (100, -1)])
def test_impossible_sizes_are_refused(max_chars: int, overlap_chars: int) -> None:
    with pytest.raises(ValueError, match="max_chars"):
        chunk_document(faq(), max_chars=max_chars, overlap_chars=overlap_chars)
