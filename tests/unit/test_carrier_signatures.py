"""Carriers' webhook signatures: Twilio's checked against Twilio's own `RequestValidator`
and published vectors, Telnyx's against keys made here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from centralita.telephony.signatures import (
    SignatureError,
    TwilioParams,
    twilio_body_hash,
    twilio_signature,
    twilio_url_variants,
    verify_telnyx,
    verify_twilio,
)

pytestmark = pytest.mark.unit

# -- Twilio ---------------------------------------------------------------------------

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
# The example in Twilio's security docs ("Validating signatures from Twilio").
DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOCS_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
# Vectors of twilio-python's own tests (tests/unit/test_request_validator.py).
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
WITH_443 = "kvajT1Ptam85bY51eRf/AJRuM3w="  # over the URL with :443
HTTP_WITH_80 = "0ZXoZLH/DfblKGATFgpif+LLRf4="  # over http://... with :80
HTTP_WITH_1234 = "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="  # over http://...:1234
DUPLICATES_EXPECTED = "IK+Dwps556ElfBT0I3Rgjkr1wJU="
JSON_BODY = '{"property": "value", "boolean": true}'
JSON_BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
JSON_SIGNATURE = "a9nBmqA0ju/hNViExpshrM61xv4="


def test_the_documented_example() -> None:
    assert twilio_signature(TOKEN, URL, DOCS_PARAMS) == DOCS_SIGNATURE
    assert verify_twilio(TOKEN, URL, DOCS_PARAMS, DOCS_SIGNATURE)


def test_the_signature_is_hmac_sha1_over_url_and_sorted_pairs() -> None:
    signed = URL + "".join(k + v for k, v in sorted(PARAMS.items()))
    digest = hmac.new(TOKEN.encode(), signed.encode(), hashlib.sha1).digest()
    assert twilio_signature(TOKEN, URL, PARAMS) == base64.b64encode(digest).decode()
    assert twilio_signature(TOKEN, URL, PARAMS) == EXPECTED


def test_agrees_with_twilios_request_validator() -> None:
    validator = RequestValidator(TOKEN)
    assert twilio_signature(TOKEN, URL, PARAMS) == validator.compute_signature(URL, PARAMS)
    ours = twilio_signature(TOKEN, URL, PARAMS)
    assert validator.validate(URL, PARAMS, ours)


def test_no_params_signs_the_url_alone() -> None:
    validator = RequestValidator(TOKEN)
    assert twilio_signature(TOKEN, URL) == validator.compute_signature(URL, {})
    assert twilio_signature(TOKEN, URL, {}) == twilio_signature(TOKEN, URL, None)
    assert verify_twilio(TOKEN, URL, None, twilio_signature(TOKEN, URL))


def test_repeated_names_sign_each_distinct_value_sorted() -> None:
    """As Twilio's validators do (twilio-python#613, twilio-node#722): not arrival order."""
    pairs = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    as_mapping = {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["5678", "1234"]}
    form = FormData([(name, value) for name, value in pairs])
    every_form: list[TwilioParams] = [pairs, as_mapping, form]
    for params in every_form:
        assert twilio_signature(TOKEN, URL, params) == DUPLICATES_EXPECTED
        assert verify_twilio(TOKEN, URL, params, DUPLICATES_EXPECTED)
    # "Sid" sorts before "SidAccount": names are sorted alone, not with their values.
    signed = URL + "Digits1234Digits5678SidCA123SidAccountAC123"
    digest = hmac.new(TOKEN.encode(), signed.encode(), hashlib.sha1).digest()
    assert base64.b64encode(digest).decode() == DUPLICATES_EXPECTED


def test_a_signature_holds_with_or_without_the_default_port() -> None:
    assert verify_twilio(TOKEN, URL, PARAMS, WITH_443)  # Twilio signed with :443
    with_port = URL.replace(".com", ".com:443")
    assert verify_twilio(TOKEN, with_port, PARAMS, EXPECTED)  # we were given :443
    http = URL.replace("https", "http")
    assert verify_twilio(TOKEN, http, PARAMS, HTTP_WITH_80)
    # A non-default port: accepted as given, and removed.
    odd_port = URL.replace(".com", ".com:1234")
    assert verify_twilio(TOKEN, odd_port, PARAMS, EXPECTED)
    assert verify_twilio(TOKEN, http.replace(".com", ".com:1234"), PARAMS, HTTP_WITH_1234)


def test_url_variants() -> None:
    assert twilio_url_variants("https://a.example/x?q=1") == [
        "https://a.example/x?q=1",
        "https://a.example:443/x?q=1",
    ]
    assert twilio_url_variants("http://u:p@a.example:8080/x") == [
        "http://u:p@a.example:8080/x",
        "http://u:p@a.example/x",
    ]
    assert twilio_url_variants("https://a.example:notaport/x") == ["https://a.example:notaport/x"]


def test_the_port_variants_agree_with_twilios_validator() -> None:
    validator = RequestValidator(TOKEN)
    for url in (URL, URL.replace(".com", ".com:443"), URL.replace(".com", ".com:8443")):
        for signed_over in twilio_url_variants(url):
            signature = twilio_signature(TOKEN, signed_over, PARAMS)
            assert verify_twilio(TOKEN, url, PARAMS, signature)
            assert validator.validate(url, PARAMS, signature)


def test_a_json_body_is_checked_through_its_hash() -> None:
    url = f"{URL}&bodySHA256={JSON_BODY_HASH}"
    assert twilio_body_hash(JSON_BODY) == JSON_BODY_HASH
    assert twilio_body_hash(JSON_BODY.encode()) == JSON_BODY_HASH
    assert verify_twilio(TOKEN, url, JSON_BODY, JSON_SIGNATURE)
    assert verify_twilio(TOKEN, url, JSON_BODY.encode(), JSON_SIGNATURE)
    assert RequestValidator(TOKEN).validate(url, JSON_BODY, JSON_SIGNATURE)
    # Another body under the same URL and signature: its hash does not match.
    assert not verify_twilio(TOKEN, url, '{"property": "other"}', JSON_SIGNATURE)
    # A raw body whose URL carries no hash is never taken.
    plain = twilio_signature(TOKEN, URL)
    assert not verify_twilio(TOKEN, URL, JSON_BODY, plain)


@pytest.mark.parametrize(
    ("token", "url", "params"),
    [
        ("54321", URL, PARAMS),  # another account's token
        (TOKEN, URL.replace("foo=1", "foo=2"), PARAMS),  # the query changed
        (TOKEN, URL.replace("myapp", "other"), PARAMS),  # the path changed
        (TOKEN, URL.replace("https", "http"), PARAMS),  # the scheme changed
        (TOKEN, URL, {**PARAMS, "Digits": "9999"}),  # a value changed
        (TOKEN, URL, {**PARAMS, "Extra": "1"}),  # a parameter added
        (TOKEN, URL, {k: v for k, v in PARAMS.items() if k != "To"}),  # one removed
        (TOKEN, URL, {"callsid": PARAMS["CallSid"], **PARAMS}),  # names are case-sensitive
    ],
)
def test_tampering_fails(token: str, url: str, params: dict[str, str]) -> None:
    assert not verify_twilio(token, url, params, EXPECTED)
    assert not RequestValidator(token).validate(url, params, EXPECTED)  # Twilio agrees


@pytest.mark.parametrize("signature", ["", "garbage", EXPECTED[:-1], EXPECTED + "=", "ñ" * 28])
def test_malformed_signatures_fail(signature: str) -> None:
    assert not verify_twilio(TOKEN, URL, PARAMS, signature)


def test_hmac_sha256_for_webhook_rules() -> None:
    validator = RequestValidator(TOKEN)
    ours = twilio_signature(TOKEN, URL, PARAMS, algorithm="HMAC_SHA256")
    assert ours == validator.compute_signature(URL, PARAMS, "HMAC_SHA256")
    assert verify_twilio(TOKEN, URL, PARAMS, ours, algorithm="HMAC_SHA256")
    assert not verify_twilio(TOKEN, URL, PARAMS, ours)  # SHA-1 is the default


_text = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    token=_text.filter(bool),
    path=st.text("abcxyz/-_", max_size=10),
    params=st.dictionaries(_text, st.lists(_text, min_size=1, max_size=3), max_size=6),
)
def test_agrees_with_twilio_on_any_form(
    token: str, path: str, params: dict[str, list[str]]
) -> None:
    url = f"https://example.com/{path}?x=1"
    ours = twilio_signature(token, url, params)
    pairs = [(name, value) for name, values in params.items() for value in values]
    assert ours == RequestValidator(token).compute_signature(url, FormData([*pairs]))
    assert verify_twilio(token, url, params, ours)


# -- Telnyx ---------------------------------------------------------------------------

NOW = 1_760_000_000.0
BODY = json.dumps(
    {"data": {"event_type": "call.initiated", "payload": {"to": "+56229990000"}}}
).encode()


def _keypair() -> tuple[Ed25519PrivateKey, str]:
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return private, base64.b64encode(raw).decode()


def _sign(private: Ed25519PrivateKey, timestamp: str, body: bytes) -> str:
    return base64.b64encode(private.sign(f"{timestamp}|".encode() + body)).decode()


def test_telnyx_signature_verifies() -> None:
    private, public = _keypair()
    timestamp = str(int(NOW))
    signature = _sign(private, timestamp, BODY)
    verify_telnyx(public, BODY, signature, timestamp, now=NOW)
    verify_telnyx(public.encode(), BODY, signature, timestamp, now=NOW)  # base64 as bytes
    verify_telnyx(base64.b64decode(public), BODY, signature, timestamp, now=NOW)  # raw bytes
    verify_telnyx(public, BODY, signature, timestamp, now=NOW + 299)  # inside the tolerance


def _reason(call: object) -> str:
    assert callable(call)
    with pytest.raises(SignatureError) as caught:
        call()
    return caught.value.reason


def test_telnyx_tampering_fails() -> None:
    private, public = _keypair()
    _, other_public = _keypair()
    timestamp = str(int(NOW))
    signature = _sign(private, timestamp, BODY)
    tampered = BODY.replace(b"+56229990000", b"+56229990001")
    assert _reason(lambda: verify_telnyx(public, tampered, signature, timestamp, now=NOW)) == (
        "mismatch"
    )
    # The timestamp is signed too: moving it within the tolerance still breaks it.
    later = str(int(NOW) + 10)
    assert _reason(lambda: verify_telnyx(public, BODY, signature, later, now=NOW)) == "mismatch"
    assert _reason(lambda: verify_telnyx(other_public, BODY, signature, timestamp, now=NOW)) == (
        "mismatch"
    )
    with pytest.raises(ValueError, match="does not match"):  # SignatureError is a ValueError
        verify_telnyx(public, tampered, signature, timestamp, now=NOW)


@pytest.mark.parametrize(("offset", "reason"), [(-301, "stale"), (301, "future")])
def test_telnyx_timestamp_outside_the_tolerance_fails(offset: int, reason: str) -> None:
    private, public = _keypair()
    timestamp = str(int(NOW) + offset)
    signature = _sign(private, timestamp, BODY)  # well signed, but too old or too new
    with pytest.raises(SignatureError, match=r"\d+ s") as caught:
        verify_telnyx(public, BODY, signature, timestamp, now=NOW)
    assert caught.value.reason == reason
    verify_telnyx(public, BODY, signature, timestamp, now=NOW, tolerance_s=400)


@pytest.mark.parametrize(
    ("signature", "timestamp", "message"),
    [
        ("!!not base64!!", str(int(NOW)), "telnyx-signature-ed25519 header is not base64"),
        (base64.b64encode(b"short").decode(), str(int(NOW)), "holds 5 bytes"),
        ("", str(int(NOW)), "holds 0 bytes"),
        (base64.b64encode(bytes(64)).decode(), "yesterday", "telnyx-timestamp header is not"),
        (base64.b64encode(bytes(64)).decode(), "", "telnyx-timestamp header is not"),
        (base64.b64encode(bytes(64)).decode(), "-5", "telnyx-timestamp header is not"),
        (base64.b64encode(bytes(64)).decode(), " 1760000000", "telnyx-timestamp header is not"),
    ],
)
def test_telnyx_malformed_headers_fail_clearly(
    signature: str, timestamp: str, message: str
) -> None:
    _, public = _keypair()
    with pytest.raises(SignatureError, match=message) as caught:
        verify_telnyx(public, BODY, signature, timestamp, now=NOW)
    assert caught.value.reason == "malformed"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("not base64 at all!", "not base64"),
        (base64.b64encode(bytes(31)).decode(), "is 31 bytes"),
        (b"\xff\xfe", "not base64"),
    ],
)
def test_telnyx_bad_public_key_fails_clearly(key: str | bytes, message: str) -> None:
    private, _ = _keypair()
    timestamp = str(int(NOW))
    with pytest.raises(SignatureError, match=message) as caught:
        verify_telnyx(key, BODY, _sign(private, timestamp, BODY), timestamp, now=NOW)
    assert caught.value.reason == "bad_key"


def test_telnyx_uses_the_clock_by_default() -> None:
    private, public = _keypair()
    timestamp = "1000000000"  # September 2001
    signature = _sign(private, timestamp, BODY)
    with pytest.raises(SignatureError) as caught:
        verify_telnyx(public, BODY, signature, timestamp)
    assert caught.value.reason == "stale"
