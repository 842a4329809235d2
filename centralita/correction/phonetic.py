"""Folding and phonetic keys: how a word sounds, not how the recogniser spelt it.

A phone recogniser mishears a name into another spelling of the same sounds far more
often than into another word: "Velásquez" for "Velázquez", "Yáñez" for "Lláñez", "Ernández"
for "Hernández". The Spanish key below writes a word as its Latin-American pronunciation
(seseo, yeísmo, silent h, b = v), so all of those spellings share one key, and a
btree lookup on the key finds the lexicon entries that sound the same.

English words get jellyfish's metaphone: the Spanish rules would mangle "Thompson" or
"Walmart".
"""

from __future__ import annotations

import re
from typing import Final

import jellyfish

from centralita.correction.online import normalise

# Letters and digits only: what a key or a fold keeps of a word.
_NOT_ALNUM: Final = re.compile(r"[^a-z0-9]+")

# Ordered rewrite rules on a folded, lower-case word (one pass each, left to right).
# Upper-case letters are placeholders for sounds with no single-letter spelling,
# kept apart from the letters the later rules rewrite.
_SPANISH_RULES: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"ch", "C"),  # /tʃ/: before the c and h rules see it
        (r"sh", "C"),  # loanwords and Chilean speech merge it with ch
        (r"qu(?=[ei])", "k"),  # queso, quiero
        (r"gu(?=[ei])", "G"),  # guerra, guiso: the u is silent, the g stays hard
        (r"g(?=[ei])", "j"),  # gente = jente
        (r"c(?=[ei])", "s"),  # seseo: cero = sero
        (r"[cqk]", "k"),  # casa, kilo, the q left over (Iraq)
        (r"ll", "y"),  # yeísmo: llama = yama
        (r"z", "s"),  # seseo: zapato = sapato
        (r"x", "ks"),  # taxi
        (r"v", "b"),  # b and v are one sound
        (r"w", "u"),  # Walter = Ualter, close enough for names
        (r"h", ""),  # silent (ch and sh were taken first)
        (r"y$", "i"),  # a final y is a vowel: rey = rei
        (r"(.)\1+", r"\1"),  # doubles collapse: rr, ll (after ll -> y), cc, nn
    )
)

# Single-letter collapse after rules, since e.g. "cc" became "ks" + "s" -> "kss".
_DOUBLES: Final = re.compile(r"(.)\1+")


def fold(text: str) -> str:
    """Lower-case, accent-free text ("Ñuñoa" -> "nunoa"); spacing and punctuation kept.

    The level-1 dictionary's own folding: every level compares words the same way.
    """
    return normalise(text)


def compact(text: str) -> str:
    """The folded letters and digits of ``text``, spaces removed ("Di Com" -> "dicom").

    Split and joined words ("banco estado", "bancoestado") compare equal in this form,
    which is the form every vector and key is built from.
    """
    return _NOT_ALNUM.sub("", fold(_spanish_letters(text)))


def spanish_key(text: str) -> str:
    """The Spanish phonetic key of a word or phrase (spaces ignored).

    Seseo (c/z/s -> s), b/v -> b, ll/y -> y, silent h, qu/k/c+a/o/u -> k, g+e/i and j
    -> j, gu+e/i -> g, ñ -> ny, x -> ks, doubled letters collapsed, accents folded.
    ``ch`` (and ``sh``) is kept as its own sound, written "c".

    Examples:
        >>> spanish_key("Velázquez") == spanish_key("Belásques")
        True
        >>> spanish_key("Hernández")
        'ernandes'
    """
    key = compact(text)
    for pattern, replacement in _SPANISH_RULES:
        key = pattern.sub(replacement, key)
    # Placeholders back to letters: no c or g is left that they could be confused with.
    return _DOUBLES.sub(r"\1", key).lower()


def english_key(text: str) -> str:
    """A simpler key for English words: metaphone of the compacted text."""
    return jellyfish.metaphone(compact(text)).lower()


def phonetic_key(text: str, language: str) -> str:
    """The key for ``language`` ("es", "es-CL", "en-US", ...); Spanish unless English."""
    if language.split("-")[0].lower() == "en":
        return english_key(text)
    return spanish_key(text)


def _spanish_letters(text: str) -> str:
    # ñ must become "ny" before accent folding turns it into a plain n.
    return text.replace("ñ", "ny").replace("Ñ", "NY")
