"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A secret is ``whsec_`` followed by the base64 of its key bytes. The signed content is
``"{msg_id}.{timestamp}.{body}"`` (timestamp in unix seconds), signed with HMAC-SHA256 and
sent as ``webhook-signature: v1,<base64>``. Several space-separated signatures may be sent:
during a secret rotation we sign with the old and the new secret, so a receiver holding
either one accepts the message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
# The spec recommends keys of 24 to 64 bytes; shorter keys are too easy to brute-force,
# and longer ones gain nothing with HMAC-SHA256 (keys past 64 bytes are hashed first).
MIN_KEY_BYTES = 24
MAX_KEY_BYTES = 64
DEFAULT_TOLERANCE_S = 300

# Message ids travel in a header and in the signed content: printable, no spaces.
_MSG_ID = re.compile(r"^[\x21-\x7e]{1,255}$")


class InvalidSignature(ValueError):  # noqa: N818 - the name the delivery code imports
    """A message whose signature headers do not prove it came from the secret's holder."""


def new_secret() -> str:
    """A fresh secret: ``whsec_`` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(MIN_KEY_BYTES)).decode()


def parse_secret(secret: str) -> bytes:
    """The key bytes of a ``whsec_<base64>`` secret.

    Raises:
        ValueError: the prefix is missing, the base64 is malformed, or the key is not
            24 to 64 bytes long. The message never repeats the secret.
    """
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret must start with {SECRET_PREFIX!r}")
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"a webhook secret must be {SECRET_PREFIX!r} followed by standard base64"
        ) from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ValueError(
            f"a webhook secret's key must be {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, "
            f"this one has {len(key)}"
        )
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one message under one secret."""
    _check_msg_id(msg_id)
    return "v1," + base64.b64encode(_digest(parse_secret(secret), msg_id, timestamp, body)).decode()


def signed_headers(
    secrets: Sequence[str], msg_id: str, body: bytes, *, now: datetime | None = None
) -> dict[str, str]:
    """The headers that sign `body`: one ``v1`` signature per secret, space separated.

    Args:
        secrets: the endpoint's active secrets, newest first; two during a rotation.
        msg_id: the stable event id; a retry sends the same id so receivers can dedupe.
        body: the exact bytes that will be POSTed.
        now: the signing time (timezone-aware); defaults to the current time.

    Raises:
        ValueError: no secret, a malformed secret or id, or a naive `now`.
    """
    if isinstance(secrets, str):
        raise ValueError("pass a sequence of secrets, not one secret string")
    unique = list(dict.fromkeys(secrets))
    if not unique:
        raise ValueError("at least one secret is needed to sign a webhook")
    timestamp = _unix_seconds(now)
    signatures = " ".join(sign(secret, msg_id, timestamp, body) for secret in unique)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: datetime | None = None,
) -> None:
    """Check that `body` and `headers` were signed with `secret`, recently.

    The timestamp window refuses replays of an old, captured message; the comparison is
    constant-time so a forger learns nothing from response times.

    Raises:
        InvalidSignature: a header is missing or malformed, the timestamp is more than
            `tolerance_s` away from `now`, or no ``v1`` signature matches.
        ValueError: `secret` itself is malformed (a configuration error, not a forgery).
    """
    key = parse_secret(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    raw_timestamp = lowered.get("webhook-timestamp", "")
    raw_signatures = lowered.get("webhook-signature", "")
    missing = [
        name
        for name, value in (
            ("webhook-id", msg_id),
            ("webhook-timestamp", raw_timestamp),
            ("webhook-signature", raw_signatures),
        )
        if not value
    ]
    if missing:
        raise InvalidSignature(f"missing header(s): {', '.join(missing)}")
    if not _MSG_ID.match(msg_id):
        raise InvalidSignature("malformed webhook-id header")
    if not raw_timestamp.isascii() or not raw_timestamp.isdigit():
        raise InvalidSignature("webhook-timestamp is not unix seconds")
    timestamp = int(raw_timestamp)
    skew = timestamp - _unix_seconds(now)
    if skew < -tolerance_s:
        raise InvalidSignature(f"webhook-timestamp is {-skew} s old (tolerance {tolerance_s} s)")
    if skew > tolerance_s:
        raise InvalidSignature(
            f"webhook-timestamp is {skew} s in the future (tolerance {tolerance_s} s)"
        )
    expected = _digest(key, msg_id, timestamp, body)
    for candidate in raw_signatures.split():
        version, _, encoded = candidate.partition(",")
        if version != "v1":
            continue  # other schemes (e.g. v1a, asymmetric) are not ours to check
        try:
            provided = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected, provided):
            return
    raise InvalidSignature("no matching v1 signature")


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, content, hashlib.sha256).digest()


def _check_msg_id(msg_id: str) -> None:
    if not isinstance(msg_id, str) or not _MSG_ID.match(msg_id):
        raise ValueError("a webhook id must be 1 to 255 printable ASCII characters, no spaces")


def _unix_seconds(now: datetime | None) -> int:
    moment = datetime.now(UTC) if now is None else now
    if moment.tzinfo is None:
        raise ValueError("pass a timezone-aware datetime (e.g. datetime.now(UTC))")
    return int(moment.timestamp())
