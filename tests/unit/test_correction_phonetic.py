"""The Spanish phonetic key, folding and the n-gram vectors built on them."""

from __future__ import annotations

import numpy as np
import pytest

from centralita.correction.phonetic import compact, english_key, phonetic_key, spanish_key
from centralita.correction.vectors import DIMENSIONS, ngram_vector, spelling_only_vector

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("word", "key"),
    [
        ("zapato", "sapato"),  # seseo: z -> s
        ("cero", "sero"),  # c + e -> s
        ("cinco", "sinko"),  # c + i -> s, c + o -> k
        ("vaca", "baka"),  # b = v
        ("llama", "yama"),  # yeísmo
        ("hola", "ola"),  # silent h
        ("queso", "keso"),  # qu + e -> k
        ("kilo", "kilo"),
        ("casa", "kasa"),
        ("cuna", "kuna"),
        ("gente", "jente"),  # g + e -> j
        ("jirafa", "jirafa"),
        ("guerra", "gera"),  # gu + e -> hard g, rr collapsed
        ("guiso", "giso"),
        ("gato", "gato"),
        ("Ibáñez", "ibanyes"),  # ñ -> ny, accent folded
        ("taxi", "taksi"),  # x -> ks
        ("perro", "pero"),  # doubles collapsed
        ("Chávez", "cabes"),  # ch kept as its own sound
        ("rey", "rei"),  # a final y is a vowel
    ],
)
def test_spanish_key_table(word: str, key: str) -> None:
    assert spanish_key(word) == key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Velázquez", "Belásques"),
        ("Hernández", "Ernandes"),
        ("Yáñez", "Llanyes"),
        ("Zúñiga", "Súñiga"),
        ("Vásquez", "Basques"),
        ("Quiroga", "Kiroga"),
        ("di com", "Dicom"),
    ],
)
def test_misheard_spellings_share_a_key(a: str, b: str) -> None:
    assert spanish_key(a) == spanish_key(b)


@pytest.mark.parametrize(("a", "b"), [("Pérez", "Peña"), ("casa", "gasa"), ("Paz", "Pascal")])
def test_different_sounds_keep_different_keys(a: str, b: str) -> None:
    assert spanish_key(a) != spanish_key(b)


def test_english_words_get_metaphone_not_spanish_rules() -> None:
    assert phonetic_key("Thompson", "en-US") == english_key("Thompson")
    assert phonetic_key("Thompson", "es") == spanish_key("Thompson")
    assert english_key("Smith") == english_key("Smyth")


def test_compact_removes_case_accents_spaces_and_punctuation() -> None:
    assert compact("Banco  Estado.") == "bancoestado"
    assert compact("Ñuñoa") == "nyunyoa"


def test_vectors_are_unit_length_and_deterministic() -> None:
    v = ngram_vector("Pérez")
    assert v.shape == (DIMENSIONS,)
    assert v.dtype == np.float32
    assert float(np.linalg.norm(v)) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(v, ngram_vector("Pérez"))
    assert not ngram_vector("¿?").any()


def test_split_and_joined_words_have_the_same_vector() -> None:
    assert np.allclose(ngram_vector("di com"), ngram_vector("Dicom"))


def test_a_misheard_name_is_nearest_to_the_right_one() -> None:
    names = ["Pérez", "Peña", "Paz", "Parra", "Velázquez", "Vásquez", "Cáceres"]
    matrix = np.stack([ngram_vector(n) for n in names])
    for heard, right in [("Peres", "Pérez"), ("Belasques", "Velázquez"), ("Basques", "Vásquez")]:
        assert names[int(np.argmax(matrix @ ngram_vector(heard)))] == right


def test_the_sound_grams_bring_b_v_confusions_closer_than_spelling_alone() -> None:
    with_sound = float(ngram_vector("Belasques") @ ngram_vector("Velázquez"))
    spelling = float(spelling_only_vector("Belasques") @ spelling_only_vector("Velázquez"))
    assert with_sound > spelling + 0.1
