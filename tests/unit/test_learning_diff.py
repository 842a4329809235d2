"""The learning loop's pure parts: the word diff of a human edit, what counts as a
lookup that found nothing, and whole-word containment for the metrics."""

from __future__ import annotations

from typing import Any

import pytest

from centralita.learning.diff import MAX_PHRASE_WORDS, WordPair, word_pairs
from centralita.learning.metrics import contains
from centralita.learning.sources import tool_miss_term

pytestmark = pytest.mark.unit


def test_replaced_words_become_pairs_with_their_positions() -> None:
    pairs = word_pairs("tengo un salgo de loscientos mil", "tengo un saldo de doscientos mil")
    assert pairs == [WordPair("salgo", "saldo", 2, 3), WordPair("loscientos", "doscientos", 4, 5)]


def test_case_and_edge_punctuation_alone_teach_nothing() -> None:
    assert word_pairs("¿hablo con peres? sí.", "¿Hablo con Peres?, Sí") == []


def test_accents_are_a_real_change_and_punctuation_is_stripped_from_the_pair() -> None:
    assert word_pairs("señor Perez, buenas", "señor Pérez, buenas") == [
        WordPair("Perez", "Pérez", 1, 2)
    ]


def test_a_split_word_becomes_one_phrase_pair() -> None:
    assert word_pairs("estoy en di com desde marzo", "estoy en Dicom desde marzo") == [
        WordPair("di com", "Dicom", 2, 4)
    ]


def test_a_replaced_word_next_to_an_added_one_is_paired_with_its_look_alike() -> None:
    assert word_pairs("pagó a Caren", "pagó a Karen hoy") == [WordPair("Caren", "Karen", 2, 3)]
    assert word_pairs("eh bueno salgo", "saldo") == [WordPair("salgo", "saldo", 2, 3)]


def test_equal_length_runs_are_split_word_by_word() -> None:
    pairs = word_pairs("hablo con maria gonsales hoy", "hablo con María González hoy")
    assert [(p.wrong, p.right) for p in pairs] == [("maria", "María"), ("gonsales", "González")]


def test_insertions_deletions_and_long_rewrites_are_not_pairs() -> None:
    assert word_pairs("quiero pagar", "quiero pagar mañana") == []
    assert word_pairs("eh quiero pagar", "quiero pagar") == []
    long_before = " ".join(f"a{i}" for i in range(MAX_PHRASE_WORDS + 1))
    assert word_pairs(f"hola {long_before} chao", "hola b chao") == []
    # at the limit it is still a pair
    limit_before = " ".join(f"a{i}" for i in range(MAX_PHRASE_WORDS))
    assert word_pairs(f"hola {limit_before} chao", "hola b chao") == [
        WordPair(limit_before, "b", 1, 1 + MAX_PHRASE_WORDS)
    ]


def test_a_frequent_word_still_anchors_a_long_segment() -> None:
    base = " ".join(["de"] * 150)
    assert word_pairs(f"{base} salgo {base}", f"{base} saldo {base}") == [
        WordPair("salgo", "saldo", 150, 151)
    ]


def _tool(
    name: str, arguments: dict[str, Any], result: Any, success: bool = True
) -> dict[str, Any]:
    return {"name": name, "arguments": arguments, "result": result, "success": success}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            _tool("lookup_customer", {"name": "Belasques"}, {"verified": False}),
            ("Belasques", "person"),
        ),
        (
            _tool("search_products", {"query": "cuenta  rut"}, {"results": []}),
            ("cuenta rut", "product"),
        ),
        (_tool("buscar_producto", {"producto": "tarjeta"}, None), ("tarjeta", "product")),
        (
            _tool("find_branch", {"q": "Ñuñoa"}, {"error": "not_found"}, False),
            ("Ñuñoa", "domain_term"),
        ),
        # found something: no proposal
        (_tool("lookup_customer", {"name": "Pérez"}, {"verified": True, "name": "Pérez"}), None),
        (_tool("search_products", {"query": "cuenta"}, {"results": [{"id": 1}]}), None),
        # malformed calls say nothing about the term
        (_tool("lookup_customer", {"nme": "x"}, {"error": "invalid_arguments"}, False), None),
        # not a lookup
        (_tool("register_promise", {"name": "x"}, {}, False), None),
        # digits of an id are not a lexicon term
        (_tool("lookup_customer", {"national_id_digits": "1234"}, {"verified": False}), None),
    ],
)
def test_tool_miss_term(payload: dict[str, Any], expected: tuple[str, str] | None) -> None:
    assert tool_miss_term(payload) == expected


def test_contains_matches_whole_words_only() -> None:
    assert contains("Tengo un Salgo, pendiente", "salgo")
    assert contains("estoy en di com ya", "di com")
    assert not contains("salgoso es otra palabra", "salgo")
    assert not contains("di y com separados", "di com")
