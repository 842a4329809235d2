"""National identity numbers said on a call: Chilean RUT, Spanish DNI and NIE.

Callers say them written-style ("12.345.678-5"), as a number ("doce millones
trescientos... guion cinco") or digit by digit ("uno dos tres... guion ka"). All three
end up as digits after `to_digits`, with single digits joined back together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from centralita.understanding.numbers import to_digits
from centralita.understanding.text import fold_keep_numbers

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
# Spanish names of letters, as a caller spells the last character of a DNI or RUT.
_LETTER_NAMES: dict[str, str] = {
    "ka": "k", "ca": "k", "equis": "x", "i griega": "y", "ye": "y", "zeta": "z",
    "seta": "z", "jota": "j", "hache": "h", "efe": "f", "ele": "l", "eme": "m",
    "ene": "n", "erre": "r", "ese": "s", "uve": "v", "ve": "v", "be": "b", "ce": "c",
    "de": "d", "ge": "g", "pe": "p", "cu": "q", "te": "t",
}  # fmt: skip
_LETTER_ALT = "|".join(sorted(map(re.escape, _LETTER_NAMES), key=len, reverse=True))
_SPOKEN_LETTER = re.compile(rf"(?<=\d )(?:(?:guion|raya|-|letra) )?(?:letra )?({_LETTER_ALT})\b")
_SINGLE_DIGITS = re.compile(r"\b\d(?: \d\b)+")
_RUT = re.compile(
    r"\b(\d{1,2}\.\d{3}\.\d{3}|\d{7,8})\s?(?:-|guion|raya)\s?([\dk])\b"
    r"|\b(\d{1,2}\.\d{3}\.\d{3})([\dk])\b"
)
_DNI = re.compile(r"\b(\d{8})\s?(?:-|guion|letra)?\s?([a-z])\b")
_NIE = re.compile(r"\b([xyz])\s?-?\s?(\d{7})\s?(?:-|guion|letra)?\s?([a-z])\b")


@dataclass(frozen=True, slots=True)
class NationalId:
    """An identity number heard in a turn.

    Attributes:
        kind: "RUT", "DNI" or "NIE".
        value: Canonical form: "12345678-5", "12345678Z", "X1234567L".
        valid: Whether its check character is right (a wrong one is often a mis-hearing).
    """

    kind: str
    value: str
    valid: bool


def rut_check_digit(body: str) -> str:
    """The RUT check digit ("dígito verificador") of its digits, by modulo 11.

    Args:
        body: The RUT digits without the check digit.

    Returns:
        "0"-"9" or "K".
    """
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(body)))
    rest = 11 - total % 11
    return {11: "0", 10: "K"}.get(rest, str(rest))


def _normalise(text: str) -> str:
    digits = to_digits(fold_keep_numbers(text), "es")
    digits = _SINGLE_DIGITS.sub(lambda m: m.group(0).replace(" ", ""), digits)
    return _SPOKEN_LETTER.sub(lambda m: _LETTER_NAMES[m.group(1)], digits)


def find_national_id(text: str) -> NationalId | None:
    """The first RUT, DNI or NIE said in a turn.

    Args:
        text: The transcript of one turn.

    Returns:
        The identity number, or None.
    """
    norm = _normalise(text)
    rut = _RUT.search(norm)
    if rut:
        body = (rut[1] or rut[3]).replace(".", "")
        dv = (rut[2] or rut[4]).upper()
        return NationalId("RUT", f"{body}-{dv}", rut_check_digit(body) == dv)
    nie = _NIE.search(norm)
    if nie:
        number = str("XYZ".index(nie[1].upper())) + nie[2]
        letter = nie[3].upper()
        valid = _DNI_LETTERS[int(number) % 23] == letter
        return NationalId("NIE", f"{nie[1].upper()}{nie[2]}{letter}", valid)
    dni = _DNI.search(norm)
    if dni:
        letter = dni[2].upper()
        return NationalId("DNI", f"{dni[1]}{letter}", _DNI_LETTERS[int(dni[1]) % 23] == letter)
    return None


def national_id_matches(heard: str, expected: str) -> bool:
    """Whether the digits a person said end their ID, with or without its check digit.

    "5678" and "5678-5" both match RUT 12.345.678-5; fewer than four characters never
    match, so "5" cannot verify anybody.
    """

    def norm(value: str) -> str:
        return "".join(ch for ch in value.upper() if ch.isalnum())

    said, known = norm(heard), norm(expected)
    if len(said) < 4 or not known:
        return False
    return known.endswith(said) or known[:-1].endswith(said)
