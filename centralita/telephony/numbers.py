"""Phone numbers a tenant routes: read in E.164, the one form they are stored and looked
up in. Pure; no I/O."""

from __future__ import annotations

import phonenumbers


class InvalidNumberError(ValueError):
    """Not a valid phone number in international form."""


def to_e164(raw: str) -> str:
    """The number in E.164 (``+56229990000``).

    Args:
        raw: an international number: ``+`` and the country code first; spaces,
            dashes, dots and brackets between digits are allowed.

    Raises:
        InvalidNumberError: no ``+country code``, not a number, or not a valid number
            of its country.
    """
    text = raw.strip()
    if not text.startswith("+"):
        raise InvalidNumberError(
            f"{raw!r} is not in international form: write it with + and the country "
            "code (E.164, e.g. +56229990000)"
        )
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumberError(f"{raw!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumberError(f"{raw!r} is not a valid number of its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
