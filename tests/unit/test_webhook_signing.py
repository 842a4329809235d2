"""Standard Webhooks signing, checked against the `standardwebhooks` receiver library."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from centralita.webhooks.signing import (
    InvalidSignature,
    new_secret,
    parse_secret,
    sign,
    signed_headers,
    verify,
)

pytestmark = pytest.mark.unit

BODY = json.dumps({"type": "call_ended", "data": {"call_id": 7}}).encode()

# The reference vector published with the Standard Webhooks spec.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_sign_reproduces_the_spec_vector() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_new_secrets_are_24_random_bytes_behind_the_prefix() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(parse_secret(secret)) == 24
        assert Webhook(secret)._whsecret == parse_secret(secret)


def test_our_headers_verify_with_the_library() -> None:
    secret = new_secret()
    headers = signed_headers([secret], "evt_1", BODY)
    assert headers["webhook-id"] == "evt_1"
    assert headers["content-type"] == "application/json"
    assert abs(int(headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 5
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    verify(secret, headers, BODY)


def test_a_rotation_sends_both_signatures_and_either_secret_verifies() -> None:
    old, new, stranger = new_secret(), new_secret(), new_secret()
    headers = signed_headers([new, old], "evt_2", BODY)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(s.startswith("v1,") for s in signatures)
    for secret in (old, new):
        Webhook(secret).verify(BODY, headers)
        verify(secret, headers, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(BODY, headers)
    with pytest.raises(InvalidSignature, match="no matching"):
        verify(stranger, headers, BODY)


def test_the_same_secret_twice_signs_once() -> None:
    secret = new_secret()
    headers = signed_headers([secret, secret], "evt_3", BODY)
    assert len(headers["webhook-signature"].split(" ")) == 1


def test_a_tampered_body_is_refused_by_both() -> None:
    secret = new_secret()
    headers = signed_headers([secret], "evt_4", BODY)
    tampered = BODY.replace(b"7", b"8")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, headers)
    with pytest.raises(InvalidSignature):
        verify(secret, headers, tampered)


def test_a_changed_id_or_timestamp_is_refused() -> None:
    secret = new_secret()
    headers = signed_headers([secret], "evt_5", BODY)
    other_id = {**headers, "webhook-id": "evt_6"}
    other_time = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 1)}
    for forged in (other_id, other_time):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(BODY, forged)
        with pytest.raises(InvalidSignature):
            verify(secret, forged, BODY)


def test_old_and_future_timestamps_are_refused_by_both() -> None:
    secret = new_secret()
    now = datetime.now(UTC)
    for offset in (timedelta(minutes=-10), timedelta(minutes=10)):
        headers = signed_headers([secret], "evt_7", BODY, now=now + offset)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(BODY, headers)
        with pytest.raises(InvalidSignature, match="tolerance 300 s"):
            verify(secret, headers, BODY)


def test_the_tolerance_window_is_inclusive_and_adjustable() -> None:
    secret = new_secret()
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    at_edge = signed_headers([secret], "evt_8", BODY, now=now - timedelta(seconds=300))
    verify(secret, at_edge, BODY, now=now)
    past_edge = signed_headers([secret], "evt_8", BODY, now=now - timedelta(seconds=301))
    with pytest.raises(InvalidSignature, match="301 s old"):
        verify(secret, past_edge, BODY, now=now)
    verify(secret, past_edge, BODY, now=now, tolerance_s=3600)


def test_verify_reads_headers_in_any_case() -> None:
    secret = new_secret()
    headers = {k.title(): v for k, v in signed_headers([secret], "evt_9", BODY).items()}
    assert "Webhook-Signature" in headers
    verify(secret, headers, BODY)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_named(missing: str) -> None:
    secret = new_secret()
    headers = signed_headers([secret], "evt_10", BODY)
    del headers[missing]
    with pytest.raises(InvalidSignature, match=missing):
        verify(secret, headers, BODY)


@pytest.mark.parametrize(
    "signature",
    [
        "v2,{sig}",  # the right bytes under another scheme
        "v1,not-base64!",
        "v1",
        "",
    ],
)
def test_signatures_that_do_not_match_v1_are_refused(signature: str) -> None:
    secret = new_secret()
    headers = signed_headers([secret], "evt_11", BODY)
    right = headers["webhook-signature"].partition(",")[2]
    headers["webhook-signature"] = signature.format(sig=right)
    with pytest.raises(InvalidSignature):
        verify(secret, headers, BODY)


def test_unknown_schemes_beside_a_good_v1_are_skipped() -> None:
    secret = new_secret()
    headers = signed_headers([secret], "evt_12", BODY)
    headers["webhook-signature"] = "v1a,c29tZXRoaW5n " + headers["webhook-signature"]
    verify(secret, headers, BODY)


def test_a_non_numeric_timestamp_is_refused() -> None:
    secret = new_secret()
    headers = signed_headers([secret], "evt_13", BODY)
    headers["webhook-timestamp"] = "1e9"
    with pytest.raises(InvalidSignature, match="unix seconds"):
        verify(secret, headers, BODY)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "must start with 'whsec_'"),
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'"),
        ("whsec_", "0"),
        ("whsec_not base64 at all!", "standard base64"),
        ("whsec_" + base64.b64encode(b"x" * 16).decode(), "24 to 64 bytes, this one has 16"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "this one has 65"),
    ],
)
def test_malformed_secrets_raise_clear_errors(secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_secret(secret)
    assert not isinstance(caught.value, InvalidSignature)
    with pytest.raises(ValueError, match=message):
        sign(secret, "evt", 1, BODY)
    with pytest.raises(ValueError, match=message):
        signed_headers([secret], "evt", BODY)


def test_signing_refuses_bad_arguments() -> None:
    secret = new_secret()
    with pytest.raises(ValueError, match="at least one secret"):
        signed_headers([], "evt", BODY)
    with pytest.raises(ValueError, match="sequence of secrets"):
        signed_headers(secret, "evt", BODY)
    with pytest.raises(ValueError, match="printable ASCII"):
        signed_headers([secret], "evt with space", BODY)
    with pytest.raises(ValueError, match="timezone-aware"):
        signed_headers([secret], "evt", BODY, now=datetime(2025, 1, 1))
