"""The example knowledge base and its question set agree: every answer is where it says.

`centralita/knowledge/examples/` ships a fictional collections company's documents
(Chile and Spain, Spanish and English) and the questions debtors ask about them; the
retrieval bench scores hit@3 against each question's heading and the agent's answers
against its fact. A question whose heading is not in its document, or whose fact is not
in that section (or is in many, so finding it proves nothing), would score the search
wrongly; a "not found" question whose words are in the documents would score a right
answer as a hallucination. These tests keep the two files honest as either is edited.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import cache
from importlib.resources import files
from typing import Any

import pytest
import yaml

from centralita.knowledge.documents import Document, read_document

pytestmark = pytest.mark.unit

EXAMPLES = files("centralita.knowledge.examples")
DOCUMENTS = (
    "preguntas_frecuentes_cl.md",
    "condiciones_de_pago_cl.html",
    "preguntas_frecuentes_es.md",
    "faq_en.md",
)


def fold(text: str) -> str:
    """Lower case, no accents, one space: how a fact is compared with a section."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", bare)


@cache
def document(name: str) -> Document:
    return read_document(EXAMPLES.joinpath(name).read_bytes(), filename=name, media_type=None)


@cache
def questions() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(EXAMPLES.joinpath("questions.yaml").read_text(encoding="utf-8"))
    return list(loaded["questions"])


def answerable() -> list[dict[str, Any]]:
    return [q for q in questions() if q["document"] is not None]


def all_section_texts() -> list[str]:
    return [fold(s.text) for name in DOCUMENTS for s in document(name).sections]


def section_text(name: str, heading: str) -> str:
    matches = [s.text for s in document(name).sections if s.heading_path[-1:] == (heading,)]
    assert len(matches) == 1, f"{name}: {len(matches)} sections under {heading!r}"
    return matches[0]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_each_document_reads_into_titled_sections_of_a_real_length(name: str) -> None:
    doc = document(name)
    headed = [s for s in doc.sections if s.heading_path]
    words = sum(len(s.text.split()) for s in doc.sections)
    assert doc.kind == ("html" if name.endswith(".html") else "markdown")
    assert len(headed) >= 10
    assert 1_400 <= words <= 4_000, f"{name}: {words} words"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_headings_are_unique_within_a_document(name: str) -> None:
    last = Counter(s.heading_path[-1] for s in document(name).sections if s.heading_path)
    assert [h for h, n in last.items() if n > 1] == []


def test_ids_are_unique_and_both_languages_and_both_countries_are_asked() -> None:
    ids = [q["id"] for q in questions()]
    languages = Counter(q["language"] for q in questions())
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60
    assert set(languages) == {"es-CL", "es-ES", "en-GB"}
    assert min(languages.values()) >= 15


def test_every_document_is_asked_about_and_every_question_names_a_known_one() -> None:
    asked = {q["document"] for q in answerable()}
    assert asked == set(DOCUMENTS)


@pytest.mark.parametrize("question", answerable(), ids=lambda q: q["id"])
def test_the_fact_is_in_the_named_section_and_in_at_most_two_sections(
    question: dict[str, Any],
) -> None:
    fact = fold(question["fact"])
    assert fact in fold(section_text(question["document"], question["heading"]))
    holding = sum(fact in text for text in all_section_texts())
    assert holding <= 2, f"{question['fact']!r} is in {holding} sections"


@pytest.mark.parametrize(
    "question", [q for q in questions() if q["document"] is None], ids=lambda q: q["id"]
)
def test_a_not_found_question_has_no_answer_and_its_words_are_in_no_document(
    question: dict[str, Any],
) -> None:
    assert question["heading"] is None
    assert question["fact"] is None
    assert question["absent"], "a not-found question lists the words the documents lack"
    for word in question["absent"]:
        # A word start, so a stem ("prescri") catches its forms but not another word's middle.
        pattern = re.compile(r"\b" + re.escape(fold(word)))
        assert not any(pattern.search(text) for text in all_section_texts()), word


def test_there_are_enough_not_found_questions_in_each_language() -> None:
    missing = Counter(q["language"][:2] for q in questions() if q["document"] is None)
    assert len([q for q in questions() if q["document"] is None]) >= 8
    assert missing["es"] >= 4
    assert missing["en"] >= 2


def test_the_fold_ignores_case_accents_and_spacing() -> None:
    assert fold("Ya pagué, ¿cuándo  salgo de DICOM?") == "ya pague, ¿cuando salgo de dicom?"
    assert fold("1,5 %") in fold("un interés por mora del 1,5 % mensual")
    assert fold("Cosméticos Aurora") == fold("COSMETICOS\nAURORA")
