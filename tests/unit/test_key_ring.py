"""The key ring: AES-256-GCM with its key id, rotation, and settings that never leak keys."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from centralita.kernel.key_ring import KeyRing, KeyRingError, UnknownKeyError, new_key_text

pytestmark = pytest.mark.unit

OLD = new_key_text("old")
NEW = new_key_text("new")


def test_a_sealed_value_opens_with_its_context_only() -> None:
    ring = KeyRing.parse(OLD)
    sealed = ring.seal(b"+56912345678", context=b"contacts.phone:t1:r1")
    assert sealed.key_id == "old"
    assert b"+56912345678" not in sealed.data
    assert ring.open(sealed, context=b"contacts.phone:t1:r1") == b"+56912345678"
    with pytest.raises(KeyRingError, match="failed authentication"):
        ring.open(sealed, context=b"contacts.phone:t1:r2")


def test_the_same_value_seals_differently_each_time() -> None:
    ring = KeyRing.parse(OLD)
    assert ring.seal_text("secret") != ring.seal_text("secret")


def test_a_key_the_ring_lacks_is_named() -> None:
    sealed = KeyRing.parse(OLD).seal(b"x")
    with pytest.raises(UnknownKeyError, match="'old'") as caught:
        KeyRing.parse(NEW).open(sealed)
    assert caught.value.key_id == "old"


def test_rotation_new_key_encrypts_old_key_still_decrypts() -> None:
    before = KeyRing.parse(OLD)
    written_before = before.seal_text("webhook secret", context="c")
    after = KeyRing.parse(f"{NEW},{OLD}")
    assert after.key_ids == ["new", "old"]
    assert after.open_text(written_before, context="c") == "webhook secret"
    written_after = after.seal_text("webhook secret", context="c")
    assert written_after.startswith("enc:v1:new:")
    assert after.needs_rotation(written_before)
    assert not after.needs_rotation(written_after)
    with pytest.raises(UnknownKeyError):
        before.open_text(written_after, context="c")


def test_an_altered_value_is_refused() -> None:
    ring = KeyRing.parse(OLD)
    stored = ring.seal_text("secret")
    prefix, encoded = stored.rsplit(":", 1)
    data = bytearray(base64.urlsafe_b64decode(encoded))
    data[-1] ^= 1
    with pytest.raises(KeyRingError, match="failed authentication"):
        ring.open_text(f"{prefix}:{base64.urlsafe_b64encode(bytes(data)).decode()}")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "at least one key"),
        ("nokeyhere", "entry 1 is not key_id:base64"),
        ("k1:not*base64", "'k1' is not valid base64"),
        (f"k1:{base64.b64encode(b'short key material').decode()}", "must be 32 bytes"),
        (f"{OLD},{OLD}", "appears twice"),
        (f"bad id!:{base64.b64encode(bytes(32)).decode()}", "key id"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(text: str, reason: str) -> None:
    with pytest.raises(KeyRingError, match=reason) as caught:
        KeyRing.parse(text)
    for entry in text.split(","):
        material = entry.partition(":")[2]
        if material:
            assert material not in str(caught.value)


def test_the_development_ring_is_made_once_and_private(tmp_path: Path) -> None:
    first = KeyRing.development(tmp_path)
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o600
    sealed = first.seal(b"x")
    assert KeyRing.development(tmp_path).open(sealed) == b"x"
