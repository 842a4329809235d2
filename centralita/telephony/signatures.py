"""Carriers' webhook signatures: Twilio's HMAC and Telnyx's Ed25519. Pure; no I/O.

Twilio (``X-Twilio-Signature``): base64 of HMAC-SHA1, keyed with the account's auth
token, over the full URL Twilio requested (query string included) followed by every POST
parameter as ``name + value``, no separators, names sorted. A name sent more than once
contributes each distinct value, the values sorted: that is what Twilio's own validators
do (twilio-python's and twilio-node's `RequestValidator`; twilio-node#722 showed Twilio's
servers sort them), so a repeated name is not read in the order it arrived. Because
Twilio's servers are inconsistent about the port (twilio-python: "sig generation on
back end is inconsistent"), a signature is accepted for the URL with the default port
added (``:443``/``:80``) and with any port removed, as those validators do. A JSON
webhook carries ``bodySHA256`` (hex SHA-256 of the raw body) in its URL query and is
signed over the URL alone. A Webhooks Rule may sign with HMAC-SHA256 and a shared key
instead (header ``X-Twilio-Webhooks-Signature-Settings``): `algorithm` selects it.

Telnyx (``telnyx-signature-ed25519``, ``telnyx-timestamp``): base64 of an Ed25519
signature over ``"{timestamp}|"`` followed by the raw body, verified with the account's
public key (base64 of 32 bytes, from the Mission Control portal); the timestamp, Unix
seconds, must be within a tolerance of now (Telnyx's SDKs use 300 s) so that a captured
request cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal, Protocol, TypeAlias, runtime_checkable
from urllib.parse import SplitResult, parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TWILIO_SIGNATURE_HEADER: Final = "X-Twilio-Signature"
TWILIO_BODY_HASH_PARAM: Final = "bodySHA256"
TELNYX_SIGNATURE_HEADER: Final = "telnyx-signature-ed25519"
TELNYX_TIMESTAMP_HEADER: Final = "telnyx-timestamp"
TELNYX_TOLERANCE_S: Final = 300
ED25519_PUBLIC_KEY_BYTES: Final = 32
ED25519_SIGNATURE_BYTES: Final = 64

TwilioAlgorithm: TypeAlias = Literal["HMAC_SHA1", "HMAC_SHA256"]
_TWILIO_HASHES: Final = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}
_DEFAULT_PORTS: Final = {"https": 443, "http": 80}

SignatureProblem: TypeAlias = Literal["malformed", "bad_key", "stale", "future", "mismatch"]


class SignatureError(ValueError):
    """A webhook's signature does not hold; `reason` says which check failed.

    Attributes:
        reason: ``malformed`` (a header is not of its format), ``bad_key`` (the
            configured key is not a key), ``stale`` or ``future`` (the timestamp is outside
            the tolerance), ``mismatch`` (well-formed, but not signed with this key).
    """

    def __init__(self, reason: SignatureProblem, message: str) -> None:
        super().__init__(message)
        self.reason: SignatureProblem = reason


@runtime_checkable
class MultiValued(Protocol):
    """A form whose names may repeat (Starlette's `FormData`, werkzeug's `MultiDict`)."""

    def getlist(self, key: str) -> Sequence[object]:
        """Every value sent under `key`, in order (Twilio's are text; a file is skipped)."""
        ...

    def keys(self) -> Iterable[str]:
        """The distinct names."""
        ...


TwilioParams: TypeAlias = (
    Mapping[str, str | Sequence[str]] | MultiValued | Iterable[tuple[str, str]]
)


# -- Twilio ---------------------------------------------------------------------------


def _twilio_values(params: TwilioParams | None) -> dict[str, set[str]]:
    """Each name with its distinct values, from any of the forms `TwilioParams` allows."""
    grouped: dict[str, set[str]] = {}
    if params is None:
        return grouped
    if isinstance(params, MultiValued):
        for name in params.keys():  # noqa: SIM118 (the protocol promises keys(), not iteration)
            texts = (v for v in params.getlist(name) if isinstance(v, str))
            grouped.setdefault(name, set()).update(texts)
    elif isinstance(params, Mapping):
        for name, value in params.items():
            values = [value] if isinstance(value, str) else list(value)
            grouped.setdefault(name, set()).update(values)
    else:
        for name, value in params:
            grouped.setdefault(name, set()).add(value)
    return grouped


def twilio_signature(
    auth_token: str,
    url: str,
    params: TwilioParams | None = None,
    *,
    algorithm: TwilioAlgorithm = "HMAC_SHA1",
) -> str:
    """The ``X-Twilio-Signature`` Twilio sends for a request to exactly `url`.

    Args:
        auth_token: the account's auth token (or a Webhooks Rule's shared key).
        url: the full URL, query string included, as Twilio requested it.
        params: the POST form parameters: a mapping (a value may be a list when the
            name repeats), a multi-valued form, or (name, value) pairs. None or empty
            for a GET or a JSON body.
        algorithm: ``HMAC_SHA1`` (the auth token's) or ``HMAC_SHA256``.

    Returns:
        The base64 signature.
    """
    signed = url + "".join(
        name + value
        for name, values in sorted(_twilio_values(params).items())
        for value in sorted(values)
    )
    mac = hmac.new(auth_token.encode("utf-8"), signed.encode("utf-8"), _TWILIO_HASHES[algorithm])
    return base64.b64encode(mac.digest()).decode("ascii")


def twilio_body_hash(body: bytes | str) -> str:
    """The ``bodySHA256`` Twilio puts in a JSON webhook's URL: hex SHA-256 of the body."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return hashlib.sha256(raw).hexdigest()


def twilio_url_variants(url: str) -> list[str]:
    """The URLs a signature may have been made over: `url` itself, with the default
    port added when it has none, and with its port removed when it has one."""
    variants = [url]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number: nothing else to try
        return variants
    if port is None:
        default = _DEFAULT_PORTS.get(parts.scheme.lower(), 80)
        variants.append(parts._replace(netloc=f"{parts.netloc}:{default}").geturl())
        variants.append(parts.geturl())
    else:
        variants.append(_without_port(parts).geturl())
        variants.append(parts.geturl())
    return list(dict.fromkeys(variants))


def _without_port(parts: SplitResult) -> SplitResult:
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host = hostport.rsplit(":", 1)[0]  # the port is known to be there (and numeric)
    return parts._replace(netloc=f"{userinfo}{at}{host}")


def verify_twilio(
    auth_token: str,
    url: str,
    params: TwilioParams | bytes | str | None,
    signature: str,
    *,
    algorithm: TwilioAlgorithm = "HMAC_SHA1",
) -> bool:
    """Whether `signature` is Twilio's for this request.

    Args:
        auth_token: the account's auth token (or a Webhooks Rule's shared key).
        url: the full URL Twilio requested, query string included, exactly as Twilio
            sent it (behind a proxy: the public URL, not the one the proxy forwarded to).
        params: a form-encoded request's POST parameters (see `twilio_signature`); or,
            for a JSON request, its raw body, whose SHA-256 must match the URL's
            ``bodySHA256``; None or empty for a GET.
        signature: the ``X-Twilio-Signature`` header.
        algorithm: ``HMAC_SHA1`` (the auth token's) or ``HMAC_SHA256``.

    Returns:
        True when the signature matches `url` as given, with the default port or without
        its port (and, for a JSON body, the body matches its hash); False otherwise.
        Signatures are compared in constant time.
    """
    form: TwilioParams | None
    body_ok = True
    if isinstance(params, bytes | str):
        claimed = parse_qs(urlsplit(url).query).get(TWILIO_BODY_HASH_PARAM)
        if not claimed:
            return False  # a raw body is only signed through its hash in the URL
        body_ok = hmac.compare_digest(
            twilio_body_hash(params).encode("ascii"), claimed[0].encode("utf-8")
        )
        form = None
    else:
        form = params
    presented = signature.encode("utf-8")
    matches = [
        hmac.compare_digest(
            twilio_signature(auth_token, candidate, form, algorithm=algorithm).encode("ascii"),
            presented,
        )
        for candidate in twilio_url_variants(url)
    ]
    return body_ok and any(matches)


# -- Telnyx ---------------------------------------------------------------------------


def telnyx_public_key(public_key: bytes | str) -> Ed25519PublicKey:
    """The Ed25519 key from Telnyx's portal form (base64 text) or its 32 raw bytes.

    Raises:
        SignatureError: `bad_key`: not base64 of 32 bytes.
    """
    if isinstance(public_key, bytes) and len(public_key) == ED25519_PUBLIC_KEY_BYTES:
        raw = public_key
    else:
        try:
            text = public_key.decode("ascii") if isinstance(public_key, bytes) else public_key
            raw = base64.b64decode(text.strip(), validate=True)
        except (UnicodeDecodeError, binascii.Error, ValueError) as exc:
            raise SignatureError("bad_key", "the Telnyx public key is not base64") from exc
    if len(raw) != ED25519_PUBLIC_KEY_BYTES:
        raise SignatureError(
            "bad_key",
            f"the Telnyx public key is {len(raw)} bytes; an Ed25519 key is "
            f"{ED25519_PUBLIC_KEY_BYTES}",
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def _telnyx_timestamp(timestamp: str) -> int:
    # Compared as sent: the signed message holds the header's text, so none is trimmed.
    text = timestamp
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise SignatureError(
            "malformed", f"the {TELNYX_TIMESTAMP_HEADER} header is not Unix seconds"
        )
    return int(text)


def _telnyx_signature(signature_b64: str) -> bytes:
    try:
        raw = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(
            "malformed", f"the {TELNYX_SIGNATURE_HEADER} header is not base64"
        ) from exc
    if len(raw) != ED25519_SIGNATURE_BYTES:
        raise SignatureError(
            "malformed",
            f"the {TELNYX_SIGNATURE_HEADER} header holds {len(raw)} bytes; an Ed25519 "
            f"signature is {ED25519_SIGNATURE_BYTES}",
        )
    return raw


def verify_telnyx(
    public_key: bytes | str,
    payload: bytes,
    signature_b64: str,
    timestamp: str,
    *,
    now: float | None = None,
    tolerance_s: int = TELNYX_TOLERANCE_S,
) -> None:
    """Check a Telnyx webhook: signed by the account's key, and recent.

    Args:
        public_key: the account's public key, base64 as the portal shows it (or its 32
            raw bytes).
        payload: the raw request body, exactly as received (never re-serialised JSON).
        signature_b64: the ``telnyx-signature-ed25519`` header.
        timestamp: the ``telnyx-timestamp`` header (Unix seconds).
        now: the current Unix time (tests); defaults to the clock.
        tolerance_s: how far the timestamp may be from now, either way.

    Raises:
        SignatureError: with `reason` ``malformed`` (a header is not of its format),
            ``bad_key``, ``stale`` / ``future`` (outside the tolerance) or ``mismatch``.
    """
    sent_at = _telnyx_timestamp(timestamp)
    signature = _telnyx_signature(signature_b64)
    key = telnyx_public_key(public_key)
    current = time.time() if now is None else now
    if sent_at < current - tolerance_s:
        raise SignatureError(
            "stale", f"the webhook was signed {current - sent_at:.0f} s ago (over {tolerance_s} s)"
        )
    if sent_at > current + tolerance_s:
        raise SignatureError(
            "future",
            f"the webhook's timestamp is {sent_at - current:.0f} s ahead (over {tolerance_s} s)",
        )
    try:
        key.verify(signature, timestamp.encode("ascii") + b"|" + payload)
    except InvalidSignature as exc:
        raise SignatureError(
            "mismatch", "the signature does not match the body and timestamp"
        ) from exc
