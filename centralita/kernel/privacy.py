"""Masking of personal data before it reaches logs, terminals, memos and traces.

`mask_phone` masks a number known to be one. `mask_personal` finds the written forms of
phone numbers and national ids (Chilean RUT, Spanish DNI and NIE) anywhere in a text,
and masks each where it stands: telemetry (span attributes, log lines) runs it over
whatever text it carries, so it must also leave alone what only looks numeric there:
timestamps, IP addresses, UUIDs and hex ids, decimals, short counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final


def mask_phone(number: str) -> str:
    """Keep the country prefix and the last 4 digits: `+56961234567` -> `+56*****4567`."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


# Written phone numbers: international (a '+', or '%2B' where a URL encoded it, then 7 to
# 15 digits that spaces, dashes or brackets may group), or local (9 to 15 digits, maybe
# grouped by single spaces or dashes). The local form may not touch a word, a dot, a
# colon, a slash or a dash (UUID segments, decimals, times, paths) so that ids and
# timestamps stay readable; dates are at most 8 digits.
_INTL_PHONE: Final = r"(?<![\w%])(?:\+|%2[Bb])[ (]{0,2}\d(?:[ ()-]{0,2}\d){6,14}(?!\d)"
_LOCAL_PHONE: Final = r"(?<![\w.+%/:-])\d(?:[ -]?\d){8,14}(?![\w:/-]|\.\d)"
# Chilean RUT (12.345.678-5, 12345678-K, and the dotted body alone), Spanish DNI
# (12345678Z, 12345678-Z) and NIE (X1234567L).
_RUT: Final = (
    r"(?<![\w.])\d{1,2}\.\d{3}\.\d{3}(?:-[\dkK](?!\w)|(?![\w-]|\.\d))"
    r"|(?<![\w.-])\d{7,8}-[\dkK](?![\w-])"
)
_DNI: Final = r"(?<![\w-])\d{8}-?[A-HJ-NP-TV-Za-hj-np-tv-z](?![\w-])"
_NIE: Final = r"(?<![\w-])[XYZxyz]-?\d{7}-?[A-Za-z](?![\w-])"
_PERSONAL: Final = re.compile(
    rf"(?P<id>{_RUT}|{_DNI}|{_NIE})|(?P<intl>{_INTL_PHONE})|(?P<local>{_LOCAL_PHONE})"
)
_DIGIT: Final = re.compile(r"\d")


def mask_personal(text: str) -> str:
    """`text` with every written phone number and national id in it masked in place.

    Phones keep what `mask_phone` keeps (the '+', two digits after it, the last 4
    digits; a local number only its last 4); ids keep their last two characters, as
    exports show them. Separators stay, so the masked text reads like the original:
    `llame al +56 9 6123 4567` -> `llame al +56 * **** 4567`,
    `RUT 12.345.678-5` -> `RUT **.***.**8-5`.
    """
    if not _DIGIT.search(text):
        return text  # the common case in telemetry: nothing that could be a number
    return _PERSONAL.sub(_masked_match, text)


def mask_national_id(value: str) -> str:
    """Letters and digits starred but the last two, separators kept:
    `12.345.678-5` -> `**.***.**8-5`."""
    return _star(value, keep_head=0, keep_tail=2, counted=str.isalnum)


def _masked_match(match: re.Match[str]) -> str:
    text = match.group()
    if match.lastgroup == "id":
        return mask_national_id(text)
    if match.lastgroup == "intl":
        prefix = "+" if text.startswith("+") else text[:3]  # '%2B' stays as written
        return prefix + _star(text[len(prefix) :], keep_head=2, keep_tail=4)
    return _star(text, keep_head=0, keep_tail=4)


def _star(
    value: str, *, keep_head: int, keep_tail: int, counted: Callable[[str], bool] = str.isdigit
) -> str:
    """`value` with the counted characters starred but the first and last few."""
    total = sum(1 for ch in value if counted(ch))
    out: list[str] = []
    seen = 0
    for ch in value:
        if counted(ch):
            shown = seen < keep_head or seen >= total - keep_tail
            out.append(ch if shown else "*")
            seen += 1
        else:
            out.append(ch)
    return "".join(out)
