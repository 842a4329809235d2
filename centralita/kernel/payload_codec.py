"""Temporal payloads encrypted at rest: AES-256-GCM through the key ring.

Workflow inputs, results, activity arguments, signals, queries, updates and memos carry
phone numbers, names and what callers said; Temporal keeps them in its database (and
shows them in its UI) for the namespace's whole retention. Every Centralita client and
worker encodes them with `EncryptionCodec`: the server only ever holds ciphertext. An
operator sees them decoded through the API's codec endpoint (`api/routes/codec.py`).

An encrypted payload has metadata `encoding: binary/encrypted` and `encryption-key-id`,
and as data the sealed, serialized original `Payload` (its own metadata included), so
decoding gives back exactly what the converter wrote. Payloads without that encoding
pass through unchanged: histories written before the codec existed still replay.

Failure messages and stack traces are moved into an encoded attribute too
(`DefaultFailureConverterWithEncodedAttributes`): an error's text may quote a number.
Search attributes are not payload-coded (Temporal indexes them); ours hold ids only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from centralita.kernel.key_ring import KeyRing, KeyRingError, Sealed
from centralita.kernel.settings import get_settings

ENCODING_KEY = "encoding"
ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_KEY = "encryption-key-id"
# Authenticated with every payload: a payload ciphertext never opens as a stored secret
# (whose context names a column) nor the other way round.
PAYLOAD_CONTEXT = b"temporal-payload:v1"


class EncryptionCodec(PayloadCodec):
    """Seals each payload with the ring's active key; opens any key the ring holds.

    The ring may be given late, as a function called on first use: the process-wide
    converter is built at import time, when settings must not be read yet.
    """

    def __init__(self, ring: KeyRing | Callable[[], KeyRing]) -> None:
        self._ring = ring

    @property
    def ring(self) -> KeyRing:
        """The ring (resolved once)."""
        if not isinstance(self._ring, KeyRing):
            self._ring = self._ring()
        return self._ring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt every payload (AES-GCM of a few KiB takes microseconds: no thread)."""
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt encrypted payloads; leave the others (written before) as they are.

        Raises:
            UnknownKeyError: a payload's key is not in the ring (named in the message).
            KeyRingError: a payload was altered or lacks its key id.
        """
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """One payload, sealed."""
        sealed = self.ring.seal(payload.SerializeToString(), context=PAYLOAD_CONTEXT)
        return Payload(
            metadata={ENCODING_KEY: ENCRYPTED_ENCODING, KEY_ID_KEY: sealed.key_id.encode()},
            data=sealed.data,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """One payload, opened (or as it is when it is not encrypted)."""
        if payload.metadata.get(ENCODING_KEY) != ENCRYPTED_ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_KEY)
        if not key_id:
            raise KeyRingError(f"an encrypted Temporal payload has no {KEY_ID_KEY!r}")
        plain = self.ring.open(
            Sealed(key_id.decode(errors="replace"), payload.data), context=PAYLOAD_CONTEXT
        )
        original = Payload()
        original.ParseFromString(plain)
        return original


def data_converter_for(ring: KeyRing | Callable[[], KeyRing]) -> DataConverter:
    """Centralita's converter: Pydantic models, encrypted with `ring`."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(ring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def process_key_ring() -> KeyRing:
    """This process's ring (`get_settings().key_ring()`), for code without `Settings`.

    Test environments and test worker processes use it: they share their ring through
    `CENTRALITA_ENCRYPTION_KEYS`, which tests/conftest.py sets for the whole session.
    """
    return get_settings().key_ring()
