"""Masking of the personal fields an export carries, unless the caller asks otherwise.

Phones use `centralita.kernel.privacy.mask_phone` (country prefix and last 4 digits), like
logs and the stored call's `phone_masked`. Names keep each word's initial, emails their
first character and domain, national ids their last two characters: enough to tell
rows apart on a screen, not enough to call or identify anyone.

Free text (a call's summary, quoted from the transcript) is masked by what is known to
be personal in it (the contact's name, the values the post-call analysis found: ids,
phones, emails, exactly as transcribed) and by the written forms of ids, emails and
phone numbers, each replaced by its kind in brackets, as the LLM summary's prompt does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from centralita.kernel.privacy import mask_national_id, mask_phone

__all__ = [
    "mask_email",
    "mask_identifier",
    "mask_name",
    "mask_national_id",
    "mask_phone",
    "mask_text",
]

_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Written RUT (12.345.678-5, 12345678-K), DNI (12345678Z) and NIE (X1234567L).
_NATIONAL_ID: Final = re.compile(
    r"\b(?:\d{1,2}\.\d{3}\.\d{3}-?[\dkK]|\d{7,8}-[\dkK]|\d{8}-?[A-Za-z]|[XYZxyz]-?\d{7}-?[A-Za-z])\b"
)
# Eight or more digits, maybe grouped by spaces, dots or dashes, maybe with a '+'.
_PHONE: Final = re.compile(r"(?<![\w+])\+?\d(?:[ .-]?\d){7,}(?!\w)")
# Words of a name shorter than this are left alone in free text ("de", "la").
_MIN_NAME_WORD: Final = 3


def mask_name(name: str) -> str:
    """Each word's initial, the rest starred: `María González` -> `M**** G*******`."""
    return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())


def mask_email(address: str) -> str:
    """First character and domain: `juan.perez@gmail.com` -> `j***@gmail.com`."""
    local, at, domain = address.partition("@")
    if not at:
        return "*" * len(address)
    return f"{local[:1]}***@{domain}"


def mask_identifier(value: str) -> str:
    """A record's own id (a CRM key), masked only when it is a national id or an email.

    Plain customer numbers stay readable: they are how a CRM matches the rows back.
    """
    if _NATIONAL_ID.fullmatch(value.strip()):
        return mask_national_id(value)
    if _EMAIL.fullmatch(value.strip()):
        return mask_email(value)
    return value


def mask_text(text: str, known: Iterable[tuple[str, str]] = ()) -> str:
    """`text` with personal values replaced by `[kind]`.

    Args:
        text: free text, such as a call summary.
        known: (kind, value) pairs known to be personal here (a contact's name, values
            the analysis found); names are also masked word by word.
    """
    # Emails first: a name is often part of one ("ana@..."), and must not split it.
    text = _EMAIL.sub("[email]", text)
    for kind, value in sorted(known, key=lambda kv: -len(kv[1])):
        value = value.strip()
        if not value:
            continue
        text = _replace(text, value, kind)
        if kind == "name":
            for word in value.split():
                if len(word) >= _MIN_NAME_WORD:
                    text = _replace(text, word, kind)
    text = _NATIONAL_ID.sub("[id]", text)
    return _PHONE.sub("[phone]", text)


def _replace(text: str, value: str, kind: str) -> str:
    # Whole words only, any case: "Ana" must not mask "banana".
    pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)
    return pattern.sub(f"[{kind}]", text)
