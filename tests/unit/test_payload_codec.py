"""The payload codec: Temporal payloads sealed with the key ring, older ones passed through."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import pydantic_data_converter

from centralita.kernel.key_ring import KeyRing, KeyRingError, UnknownKeyError, new_key_text
from centralita.kernel.payload_codec import (
    ENCRYPTED_ENCODING,
    KEY_ID_KEY,
    EncryptionCodec,
    data_converter_for,
)

pytestmark = pytest.mark.unit

K1 = new_key_text("k1")
RING = KeyRing.parse(K1)
PHONE = "+56912345678"


def _clear(value: object) -> Payload:
    return pydantic_data_converter.payload_converter.to_payload(value)


async def test_a_payload_round_trips_and_is_not_readable_on_the_way() -> None:
    codec = EncryptionCodec(RING)
    original = _clear({"phone": PHONE, "name": "Zuleima"})
    [encoded] = await codec.encode([original])
    assert encoded.metadata["encoding"] == ENCRYPTED_ENCODING
    assert encoded.metadata[KEY_ID_KEY] == b"k1"
    assert PHONE.encode() not in encoded.SerializeToString()
    assert b"json/plain" not in encoded.SerializeToString()  # the metadata is sealed too
    assert await codec.decode([encoded]) == [original]


async def test_payloads_written_before_the_codec_pass_through() -> None:
    clear = [_clear("hola"), Payload(metadata={"encoding": b"binary/null"})]
    assert await EncryptionCodec(RING).decode(clear) == clear


async def test_a_tampered_payload_is_refused() -> None:
    [encoded] = await EncryptionCodec(RING).encode([_clear(PHONE)])
    altered = bytearray(encoded.data)
    altered[20] ^= 1
    encoded.data = bytes(altered)
    with pytest.raises(KeyRingError, match="failed authentication"):
        await EncryptionCodec(RING).decode([encoded])


async def test_a_missing_key_is_named() -> None:
    [encoded] = await EncryptionCodec(RING).encode([_clear(PHONE)])
    other = KeyRing.parse(new_key_text("k2"))
    with pytest.raises(UnknownKeyError, match="'k1'"):
        await EncryptionCodec(other).decode([encoded])
    encoded.metadata.pop(KEY_ID_KEY)
    with pytest.raises(KeyRingError, match=KEY_ID_KEY):
        await EncryptionCodec(RING).decode([encoded])


async def test_after_a_rotation_old_payloads_still_decode() -> None:
    [before] = await EncryptionCodec(RING).encode([_clear(PHONE)])
    rotated = EncryptionCodec(KeyRing.parse(f"{new_key_text('k2')},{K1}"))
    [after] = await rotated.encode([_clear(PHONE)])
    assert after.metadata[KEY_ID_KEY] == b"k2"
    assert await rotated.decode([before, after]) == [_clear(PHONE), _clear(PHONE)]


async def test_the_converter_encrypts_values_and_failure_messages() -> None:
    converter = data_converter_for(lambda: RING)  # a ring given late is resolved on use
    [payload] = await converter.encode([{"phone": PHONE}])
    assert payload.metadata["encoding"] == ENCRYPTED_ENCODING
    assert await converter.decode([payload], [dict]) == [{"phone": PHONE}]
    failure = Failure()
    await converter.encode_failure(ValueError(f"cannot dial {PHONE}"), failure)
    assert PHONE.encode() not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert PHONE in str(decoded)
