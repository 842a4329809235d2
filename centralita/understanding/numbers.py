"""Number words: the vocabulary, spelling repair for speech-recognition errors, digits.

`text_to_num.alpha2digit` turns spelled-out numbers into digits, but only when they are
spelled the way a dictionary spells them: it misses "veintitres" (no accent) and of
course "loscientos" (the recogniser's "doscientos"). `repair_number_words` puts such
words back into their dictionary spelling first, so that `alpha2digit` can do the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rapidfuzz import fuzz, process
from text_to_num import alpha2digit  # type: ignore[import-untyped]  # ships no types

from centralita.understanding.text import strip_accents

# Values of the small number words, for phrases that `alpha2digit` leaves alone on
# purpose ("dos lucas", "en dos días": it does not convert a lone small number).
SMALL_NUMBERS: Mapping[str, Mapping[str, int]] = {
    "es": {
        "cero": 0, "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4,
        "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10,
        "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15,
        "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19,
        "veinte": 20, "veintiuno": 21, "veintiun": 21, "veintiuna": 21,
        "veintidos": 22, "veintitres": 23, "veinticuatro": 24, "veinticinco": 25,
        "veintiseis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29,
        "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60,
        "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100,
    },
    "en": {
        "zero": 0, "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4,
        "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
        "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
        "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
        "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
        "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    },
}  # fmt: skip

# Dictionary spellings, accents included, as `alpha2digit` wants them.
_CANONICAL: Mapping[str, tuple[str, ...]] = {
    "es": (
        "cero", "uno", "una", "dos", "tres", "cuatro", "cinco", "seis", "siete",
        "ocho", "nueve", "diez", "once", "doce", "trece", "catorce", "quince",
        "dieciséis", "diecisiete", "dieciocho", "diecinueve", "veinte", "veintiuno",
        "veintiún", "veintiuna", "veintidós", "veintitrés", "veinticuatro",
        "veinticinco", "veintiséis", "veintisiete", "veintiocho", "veintinueve",
        "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta",
        "noventa", "cien", "ciento", "doscientos", "doscientas", "trescientos",
        "trescientas", "cuatrocientos", "cuatrocientas", "quinientos", "quinientas",
        "seiscientos", "seiscientas", "setecientos", "setecientas", "ochocientos",
        "ochocientas", "novecientos", "novecientas", "mil", "millón", "millones",
    ),
    "en": (
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
        "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
        "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty",
        "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand",
        "million", "millions",
    ),
}  # fmt: skip

# Folded spelling -> dictionary spelling ("veintitres" -> "veintitrés").
_BY_FOLDED: dict[str, dict[str, str]] = {
    lang: {strip_accents(word): word for word in vocab} for lang, vocab in _CANONICAL.items()
}
# Only long words are repaired by similarity: short ones ("seis", "once") sit too close
# to ordinary words ("sé", "ese") to guess safely.
_REPAIRABLE: dict[str, list[str]] = {
    lang: [w for w in folded if len(w) >= 5] for lang, folded in _BY_FOLDED.items()
}
# Real words one letter away from a number word; never "repair" them.
_NOT_NUMBERS: frozenset[str] = frozenset(
    {"nueva", "nuevo", "cuarto", "cuarta", "cientos", "cuento", "cuenta", "siente",
     "viente", "millas", "trenta", "sienta", "mismo", "misma", "quinta", "quinto",
     "thousands", "hundreds", "tree", "free", "fiver"}
)  # fmt: skip
_REPAIR_CUTOFF = 85.0
# Words next to which a near-number word is taken for a number: "loscientos mil",
# "loscientos pesos". Without such a neighbour we leave the word alone.
_NUMERIC_NEIGHBOURS: frozenset[str] = frozenset(
    {"mil", "millon", "millones", "pesos", "peso", "euros", "euro", "dolares", "dolar",
     "lucas", "luca", "palos", "y", "thousand", "million", "hundred", "and", "dollars",
     "bucks"}
)  # fmt: skip
_WORD = re.compile(r"[a-zñ]+|\S+")


def _is_numeric_word(word: str, lang: str) -> bool:
    return word.isdigit() or word in _BY_FOLDED[lang] or word in _NUMERIC_NEIGHBOURS


def repair_number_words(folded: str, lang: str) -> str:
    """Restore dictionary spellings of number words in folded text.

    Exact folded matches get their accents back ("veintitres" -> "veintitrés"); long
    words a letter or two away from a number word become that number word when a
    neighbour is numeric ("loscientos mil" -> "doscientos mil").

    Args:
        folded: Text from `fold_keep_numbers`.
        lang: "es" or "en".

    Returns:
        The text with number words spelled as `alpha2digit` expects.
    """
    by_folded = _BY_FOLDED[lang]
    tokens = folded.split(" ")
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if tok in by_folded:
            out.append(by_folded[tok])
            continue
        if len(tok) >= 5 and tok.isalpha() and tok not in _NOT_NUMBERS:
            prev = tokens[i - 1] if i > 0 else ""
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if _is_numeric_word(prev, lang) or _is_numeric_word(nxt, lang):
                match = process.extractOne(
                    tok, _REPAIRABLE[lang], scorer=fuzz.ratio, score_cutoff=_REPAIR_CUTOFF
                )
                if match is not None:
                    out.append(by_folded[match[0]])
                    continue
        out.append(tok)
    return " ".join(out)


def to_digits(folded: str, lang: str) -> str:
    """Turn spelled-out numbers in folded text into digits.

    Args:
        folded: Text from `fold_keep_numbers`.
        lang: "es" or "en".

    Returns:
        The text with numbers as digits, folded again (accents that the repair step
        restored are removed).
    """
    digits: str = alpha2digit(repair_number_words(folded, lang), lang)
    return strip_accents(digits)


def small_number(word: str, lang: str) -> int | None:
    """The value of a small number word or of digits ("dos" -> 2, "15" -> 15).

    Args:
        word: One folded word.
        lang: "es" or "en".

    Returns:
        The value, or None when the word is not a small number.
    """
    if word.isdigit():
        return int(word)
    return SMALL_NUMBERS[lang].get(word)
