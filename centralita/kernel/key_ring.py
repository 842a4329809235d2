"""The key ring: AES-256-GCM keys that encrypt personal data and secrets at rest.

One ring serves Temporal's payloads (`payload_codec`) and the secrets tenants store in
Postgres (carrier credentials, webhook secrets, provider keys). The ring is read from
`CENTRALITA_ENCRYPTION_KEYS`: comma-separated `key_id:base64` pairs, 32 bytes each. The
first key encrypts; every key decrypts. Rotation is adding a new key in front and
keeping the old ones until everything written with them is re-encrypted (`centralita
keys rotate`) or has expired from Temporal's retention.

Without the setting, a development ring is created once under the embedded stack's
home (`.centralita/keys`, mode 0600) and reused by every process sharing that home: the
demo and the tests encrypt exactly as production does, with a key nobody typed.

Every ciphertext carries its key id, so a reader knows which key to use and a missing
key is a clear error naming it, not a garbled value.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
# Text form of an encrypted value: `enc:v1:<key id>:<base64url(nonce + ciphertext)>`.
TEXT_PREFIX = "enc:v1:"


class KeyRingError(ValueError):
    """The ring cannot be read, or a value cannot be decrypted with it."""


class UnknownKeyError(KeyRingError):
    """A value was encrypted with a key this ring does not hold."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"encrypted with key {key_id!r}, which CENTRALITA_ENCRYPTION_KEYS does not hold"
        )
        self.key_id = key_id


@dataclass(frozen=True)
class Sealed:
    """An encrypted value and the id of the key that sealed it."""

    key_id: str
    data: bytes  # nonce + ciphertext + tag


def new_key_text(key_id: str) -> str:
    """A fresh `key_id:base64` entry for `CENTRALITA_ENCRYPTION_KEYS`."""
    _check_key_id(key_id)
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def _check_key_id(key_id: str) -> None:
    if not _KEY_ID.match(key_id):
        raise KeyRingError(f"key id {key_id!r} must be 1-32 letters, digits, '.', '_' or '-'")


class KeyRing:
    """Keys by id; the first one given encrypts."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise KeyRingError("the key ring needs at least one key")
        self._keys: dict[str, AESGCM] = {}
        for key_id, key in keys:
            _check_key_id(key_id)
            if len(key) != KEY_BYTES:
                raise KeyRingError(f"key {key_id!r} must be {KEY_BYTES} bytes, not {len(key)}")
            if key_id in self._keys:
                raise KeyRingError(f"key id {key_id!r} appears twice")
            self._keys[key_id] = AESGCM(key)
        self.active_id = keys[0][0]

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Read `key_id:base64,key_id:base64` (the setting's form).

        Raises:
            KeyRingError: an entry is malformed; the message never echoes key material.
        """
        keys: list[tuple[str, bytes]] = []
        for number, entry in enumerate((e.strip() for e in text.split(",") if e.strip()), 1):
            key_id, colon, encoded = entry.partition(":")
            if not colon:
                raise KeyRingError(f"entry {number} is not key_id:base64")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise KeyRingError(f"key {key_id.strip()!r} is not valid base64") from exc
            keys.append((key_id.strip(), key))
        return cls(keys)

    @classmethod
    def development(cls, home: Path) -> KeyRing:
        """The embedded stack's ring: created once under `home`, then read back."""
        path = home / "keys"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(new_key_text("dev-1") + "\n")
        return cls.parse(path.read_text().strip())

    @property
    def key_ids(self) -> list[str]:
        """Every key id, the active one first."""
        return list(self._keys)

    def seal(self, plaintext: bytes, *, context: bytes = b"") -> Sealed:
        """Encrypt with the active key; `context` is authenticated, not stored."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        data = self._keys[self.active_id].encrypt(nonce, plaintext, context or None)
        return Sealed(self.active_id, nonce + data)

    def open(self, sealed: Sealed, *, context: bytes = b"") -> bytes:
        """Decrypt a sealed value.

        Raises:
            UnknownKeyError: its key is not in the ring.
            KeyRingError: it was altered, or sealed with another context.
        """
        cipher = self._keys.get(sealed.key_id)
        if cipher is None:
            raise UnknownKeyError(sealed.key_id)
        nonce, data = sealed.data[:NONCE_BYTES], sealed.data[NONCE_BYTES:]
        try:
            return cipher.decrypt(nonce, data, context or None)
        except InvalidTag as exc:
            raise KeyRingError(
                f"a value sealed with key {sealed.key_id!r} failed authentication"
            ) from exc

    def seal_text(self, plaintext: str, *, context: str = "") -> str:
        """A string column's form: `enc:v1:<key id>:<base64url>`."""
        sealed = self.seal(plaintext.encode(), context=context.encode())
        encoded = base64.urlsafe_b64encode(sealed.data).decode()
        return f"{TEXT_PREFIX}{sealed.key_id}:{encoded}"

    def open_text(self, stored: str, *, context: str = "") -> str:
        """The plaintext of `seal_text`'s output.

        Raises:
            KeyRingError: not an encrypted value, or it cannot be decrypted.
        """
        if not is_sealed_text(stored):
            raise KeyRingError("the value is not encrypted (no enc:v1: prefix)")
        key_id, _, encoded = stored.removeprefix(TEXT_PREFIX).partition(":")
        try:
            data = base64.urlsafe_b64decode(encoded)
        except (binascii.Error, ValueError) as exc:
            raise KeyRingError("the encrypted value is not valid base64") from exc
        return self.open(Sealed(key_id, data), context=context.encode()).decode()

    def needs_rotation(self, stored: str) -> bool:
        """Whether a stored text value is clear or sealed with a key other than the active."""
        if not is_sealed_text(stored):
            return True
        return not stored.removeprefix(TEXT_PREFIX).startswith(f"{self.active_id}:")


def is_sealed_text(value: str) -> bool:
    """Whether a stored string is `seal_text`'s output (else: a value from before)."""
    return value.startswith(TEXT_PREFIX)
