"""Digest authentication: RFC examples come out exactly; a wrong password or nonce never passes."""

from __future__ import annotations

import pytest

from realtime.sip.digest import (
    Challenge,
    Credentials,
    DigestError,
    NonceKeeper,
    authorization,
    parse_authorization,
    parse_challenge,
    verify,
)

pytestmark = pytest.mark.unit

# RFC 7616 section 3.9.1: the same exchange with MD5 and with SHA-256.
RFC7616_CHALLENGE = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={alg}, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def test_rfc2617_example_gives_the_published_response() -> None:
    challenge = parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    header = authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    credentials = parse_authorization(header)
    assert credentials.response == "6629fae49393a05397450978507c4ef1"
    assert (credentials.qop, credentials.nc, credentials.cnonce) == ("auth", "00000001", "0a4f113b")
    assert credentials.opaque == "5ccc069c403ebaf9f0171e9517f40e41"
    assert "qop=auth," in header  # unquoted, as RFC 2617 writes it
    assert "nc=00000001" in header


@pytest.mark.parametrize(
    ("algorithm", "response"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_examples_give_the_published_responses(algorithm: str, response: str) -> None:
    challenge = parse_challenge(RFC7616_CHALLENGE.format(alg=algorithm))
    assert challenge.algorithm == algorithm
    assert challenge.qop == ("auth", "auth-int")
    header = authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle of Life",
        cnonce=RFC7616_CNONCE,
    )
    assert parse_authorization(header).response == response
    assert f"algorithm={algorithm}" in header


def test_challenges_parse_in_the_shapes_carriers_send() -> None:
    challenge = parse_challenge(
        'digest realm=sip.example.net,nonce="a,b=c", algorithm=md5-SESS, stale=true, qop=auth'
    )
    assert challenge == Challenge("sip.example.net", "a,b=c", "MD5-sess", ("auth",), None, True)
    plain = parse_challenge('Digest realm="asterisk",nonce="1a2b3c"')
    assert (plain.algorithm, plain.qop, plain.stale) == ("MD5", (), False)
    assert parse_challenge(challenge.header()) == challenge
    quoted = Challenge('my "realm"', "n", "SHA-256-sess", ("auth-int",), "op")
    assert parse_challenge(quoted.header()) == quoted


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('Basic realm="x"', "not a Digest"),
        ('Digest nonce="n"', "without realm"),
        ('Digest realm="r"', "without nonce"),
        ('Digest realm="r", nonce="n", algorithm=SHA-1', "unsupported digest algorithm"),
        ('Digest realm="r", nonce="n, oops', "bad Digest parameter"),
        ("Digest", "without realm, nonce"),
    ],
)
def test_bad_challenges_are_refused_with_a_reason(value: str, reason: str) -> None:
    with pytest.raises(DigestError, match=reason):
        parse_challenge(value)


def test_qop_choice_auth_preferred_auth_int_alone_none_without() -> None:
    def qop_sent(offered: tuple[str, ...]) -> str | None:
        header = authorization(
            Challenge("r", "n", qop=offered),
            method="INVITE",
            uri="sip:b@h",
            username="u",
            password="p",
            body=b"v=0\r\n",
        )
        return parse_authorization(header).qop

    assert qop_sent(("auth-int", "auth")) == "auth"
    assert qop_sent(("auth-int",)) == "auth-int"
    assert qop_sent(()) is None
    with pytest.raises(DigestError, match="no supported qop"):
        qop_sent(("auth-conf",))


def test_no_qop_sends_no_nc_nor_cnonce() -> None:
    header = authorization(
        Challenge("r", "n"), method="REGISTER", uri="sip:h", username="u", password="p"
    )
    assert "nc=" not in header
    assert "cnonce=" not in header
    assert "qop=" not in header


@pytest.mark.parametrize("algorithm", ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"])
@pytest.mark.parametrize("qop", [(), ("auth",), ("auth-int",)])
def test_round_trip_verifies_only_the_right_password_and_body(
    algorithm: str, qop: tuple[str, ...]
) -> None:
    challenge = Challenge("centralita", "abc123", algorithm, qop, opaque="o")
    body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
    header = authorization(
        challenge,
        method="INVITE",
        uri="sip:agent@127.0.0.1",
        username="trunk",
        password="s3cret",
        body=body,
        nc=3,
    )
    credentials = parse_authorization(header)
    assert (credentials.username, credentials.realm, credentials.algorithm) == (
        "trunk",
        "centralita",
        algorithm,
    )
    assert credentials.nc == ("00000003" if qop else None)
    assert verify(credentials, method="INVITE", password="s3cret", body=body)
    assert not verify(credentials, method="INVITE", password="s3cret!", body=body)
    assert not verify(credentials, method="BYE", password="s3cret", body=body)
    # Only auth-int covers the body.
    changed_body = verify(credentials, method="INVITE", password="s3cret", body=b"other")
    assert changed_body is (qop != ("auth-int",))


def test_tampered_credentials_fail() -> None:
    header = authorization(
        Challenge("r", "n", qop=("auth",)),
        method="INVITE",
        uri="sip:a@h",
        username="u",
        password="p",
    )
    good = parse_authorization(header)
    for field, value in [("uri", "sip:b@h"), ("nonce", "m"), ("username", "v"), ("nc", "00000002")]:
        forged = Credentials(**{**good.__dict__, field: value})
        assert not verify(forged, method="INVITE", password="p"), field


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('Digest username="u", realm="r", nonce="n", uri="sip:h"', "without response"),
        ("Basic dTpw", "not a Digest"),
        (
            'Digest username="u", realm="r", nonce="n", uri="sip:h", response="x", qop=auth',
            "without nc, cnonce",
        ),
        (
            'Digest username="u", realm="r", nonce="n", uri="sip:h", response="x", qop=auth, '
            'nc=1, cnonce="c"',
            "bad nc",
        ),
        (
            'Digest username="u", realm="r", nonce="n", uri="sip:h", response="x", qop=auth-conf',
            "unsupported qop",
        ),
    ],
)
def test_bad_authorization_headers_are_refused(value: str, reason: str) -> None:
    with pytest.raises(DigestError, match=reason):
        parse_authorization(value)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_nonces_are_ok_then_stale_and_tampered_ones_bad() -> None:
    clock = FakeClock()
    keeper = NonceKeeper(b"worker secret", max_age_s=300, clock=clock)
    nonce = keeper.issue()
    assert nonce != keeper.issue()
    assert keeper.check(nonce) == "ok"
    clock.now += 299
    assert keeper.check(nonce) == "ok"
    clock.now += 2
    assert keeper.check(nonce) == "stale"
    assert NonceKeeper(b"another secret", clock=clock).check(keeper.issue()) == "bad"
    fresh = keeper.issue()
    stamp, salt, mac = fresh.split(".")
    later = f"{int(stamp, 16) + 60_000:x}"  # moving the time forward breaks the signature
    assert keeper.check(f"{later}.{salt}.{mac}") == "bad"
    for junk in ("", "...", "abc", "zz.yy.xx", fresh[:-1], fresh + "0", "ñ.ñ.ñ"):
        assert keeper.check(junk) == "bad", junk
    with pytest.raises(DigestError):
        NonceKeeper(b"")


def test_server_side_challenge_and_answer_end_to_end() -> None:
    clock = FakeClock()
    keeper = NonceKeeper(b"k", clock=clock)
    challenge = parse_challenge(keeper.challenge("centralita").header())
    assert (challenge.algorithm, challenge.qop, challenge.stale) == ("MD5", ("auth",), False)
    assert keeper.challenge("centralita", stale=True).stale
    credentials = parse_authorization(
        authorization(
            challenge,
            method="INVITE",
            uri="sip:agent@127.0.0.1",
            username="pbx",
            password="pw",
        )
    )
    assert keeper.check(credentials.nonce) == "ok"
    assert verify(credentials, method="INVITE", password="pw")
