"""The API key format: how a key is made, read and checked. Pure; no I/O.

A key reads ``ctk_<prefix>_<secret>``:

- ``ctk_`` says what it is (a Centralita tenant key), so secret scanners and people
  recognise a leaked one;
- ``<prefix>``, 12 lowercase hex digits, is public: it names the key in lists and finds
  its row without scanning;
- ``<secret>`` is 32 random bytes in base64url (43 characters).

Only SHA-256 of the whole key is stored. A key is random enough (256 bits) that a fast
hash suffices; slow password hashes exist for guessable secrets. Hashes are compared
in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_KIND = "ctk"
PREFIX_HEX_DIGITS = 12
SECRET_BYTES = 32
_KEY = re.compile(rf"^{KEY_KIND}_([0-9a-f]{{{PREFIX_HEX_DIGITS}}})_([A-Za-z0-9_-]{{43}})$")


class MalformedKeyError(ValueError):
    """The text is not a key of this format."""


@dataclass(frozen=True)
class IssuedKey:
    """A new key: the plaintext (shown once) and what is stored of it."""

    plaintext: str
    prefix: str
    digest: bytes


@dataclass(frozen=True)
class PresentedKey:
    """A key as a request presented it, split for lookup and check."""

    prefix: str
    digest: bytes


def key_digest(key: str) -> bytes:
    """SHA-256 of the whole key text."""
    return hashlib.sha256(key.encode("ascii")).digest()


def issue_key() -> IssuedKey:
    """A fresh random key."""
    prefix = secrets.token_hex(PREFIX_HEX_DIGITS // 2)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    plaintext = f"{KEY_KIND}_{prefix}_{secret}"
    return IssuedKey(plaintext=plaintext, prefix=prefix, digest=key_digest(plaintext))


def parse_key(text: str) -> PresentedKey:
    """Split a presented key.

    Raises:
        MalformedKeyError: not ``ctk_<12 hex>_<43 base64url>``.
    """
    match = _KEY.fullmatch(text)
    if match is None:
        raise MalformedKeyError("not a Centralita API key (ctk_<prefix>_<secret>)")
    return PresentedKey(prefix=match.group(1), digest=key_digest(text))


def digest_matches(stored: bytes, presented: bytes) -> bool:
    """Whether two key hashes are equal, in time that does not depend on where they differ."""
    return hmac.compare_digest(stored, presented)


def secret_matches(configured: str, presented: str) -> bool:
    """Constant-time comparison of a configured secret (the admin key) with a presented one.

    Both are hashed first so that neither their lengths nor their contents show in the
    time taken.
    """
    return hmac.compare_digest(key_digest_any(configured), key_digest_any(presented))


def key_digest_any(text: str) -> bytes:
    """SHA-256 of any text (UTF-8), for comparing secrets not in the key format."""
    return hashlib.sha256(text.encode("utf-8")).digest()
