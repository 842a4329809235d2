"""SIP messages: what trunks send is read right, what we send is well formed, junk is refused."""

from __future__ import annotations

import pytest

from realtime.sip.message import (
    REASONS,
    Headers,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    Via,
    new_branch,
    new_call_id,
    new_tag,
    parse_cseq,
    parse_message,
    parse_name_addr,
    parse_uri,
    parse_via,
    response_to,
)

pytestmark = pytest.mark.unit

SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 10000 RTP/AVP 0\r\n"
)

# What baresip sends when it dials us (trimmed), with two Vias as a proxy would leave.
INVITE = (
    b"INVITE sip:agent@127.0.0.1:5080;transport=udp SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKproxy1;rport\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5062;rport=5062;branch=z9hG4bKcaller;received=192.0.2.7\r\n"
    b"Max-Forwards: 70\r\n"
    + 'From: "Ana Pérez" <sip:ana@127.0.0.1>;tag=f00d\r\n'.encode()
    + b"To: <sip:agent@127.0.0.1:5080>\r\n"
    b"Call-ID: a84b4c76e66710@127.0.0.1\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:ana@127.0.0.1:5062>\r\n"
    b"Record-Route: <sip:10.0.0.1;lr>, <sip:10.0.0.2;lr>\r\n"
    b"Allow: INVITE,ACK,BYE,CANCEL,OPTIONS,NOTIFY,REFER\r\n"
    b"Timestamp: 54\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + str(len(SDP)).encode() + b"\r\n\r\n" + SDP
)


def test_a_real_invite_reads_whole() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, SipRequest)
    assert (request.method, request.uri) == ("INVITE", "sip:agent@127.0.0.1:5080;transport=udp")
    assert request.call_id == "a84b4c76e66710@127.0.0.1"
    assert request.cseq == (314159, "INVITE")
    assert (request.from_tag, request.to_tag) == ("f00d", None)
    assert request.branch == "z9hG4bKproxy1"
    assert request.body == SDP
    assert request.headers.get_all("Record-Route") == ["<sip:10.0.0.1;lr>", "<sip:10.0.0.2;lr>"]
    assert request.headers.get_all("allow")[-1] == "REFER"
    assert parse_name_addr(request.headers.get("From") or "").display == "Ana Pérez"


def test_compact_forms_bare_lf_and_folding_are_understood() -> None:
    data = (
        b"SIP/2.0 180 Ringing\n"
        b"v: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK1,\n"
        b"   SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK2\n"
        b"f: <sip:a@x>;tag=1\nt: <sip:b@y>;tag=2\ni: abc\nCSeq: 2 INVITE\n"
        b"Subject: a long\n\tfolded line\nl: 0\n\n"
    )
    response = parse_message(data)
    assert isinstance(response, SipResponse)
    assert (response.status, response.reason) == (180, "Ringing")
    assert [parse_via(v).branch for v in response.headers.get_all("Via")] == [
        "z9hG4bK1",
        "z9hG4bK2",
    ]
    assert response.headers.get("Subject") == "a long folded line"
    assert response.to_tag == "2"
    assert ("Call-ID", "abc") in response.headers.items()  # stored under its full name


def test_content_length_cuts_the_body_and_a_missing_one_takes_the_rest() -> None:
    base = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
    base += b"From: <sip:c@d>;tag=1\r\n"
    base += b"To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n"
    assert parse_message(base + b"Content-Length: 3\r\n\r\nabcdef").body == b"abc"
    assert parse_message(base + b"\r\nabcdef").body == b"abcdef"
    with pytest.raises(SipParseError, match="shorter than Content-Length 9"):
        parse_message(base + b"Content-Length: 9\r\n\r\nabc")
    with pytest.raises(SipParseError, match="Content-Length"):
        parse_message(base + b"Content-Length: many\r\n\r\n")


def _request(start: str = "BYE sip:a@b SIP/2.0", drop: str = "", cseq: str = "7 BYE") -> bytes:
    lines = [
        start,
        "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKa",
        "From: <sip:x@y>;tag=1",
        "To: <sip:a@b>;tag=2",
        "Call-ID: c1",
        f"CSeq: {cseq}",
    ]
    return (
        "\r\n".join(line for line in lines if not line.startswith(drop or "#")) + "\r\n\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (_request(start="HELLO"), "bad start line"),
        (_request(start="BYE sip:a@b SIP/3.0"), "unsupported version"),
        (_request(start="SIP/2.0 99 Odd"), "bad status code"),
        (_request(start="SIP/2.0 700 Odd"), "bad status code"),
        (_request(start="SIP/2.0 abc Odd"), "bad status code"),
        (_request().replace(b"Call-ID: c1", b"Call-ID c1"), "bad header line"),
        (_request(drop="Via"), "missing Via"),
        (_request(drop="From"), "missing From"),
        (_request(drop="To"), "missing To"),
        (_request(drop="Call-ID"), "missing Call-ID"),
        (_request(drop="CSeq"), "missing CSeq"),
        (_request(cseq="7 INVITE"), "does not match request method BYE"),
        (_request(cseq="seven BYE"), "bad CSeq"),
        (b"\xff\xfe garbage", "UTF-8"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(SipParseError, match=reason) as raised:
        parse_message(data)
    assert "\n" not in str(raised.value)  # it goes into a 400's status line


def test_encode_writes_crlf_and_the_true_content_length_and_parses_back() -> None:
    headers = Headers([("Via", "SIP/2.0/UDP h:5060;branch=z9hG4bKq"), ("From", "<sip:a@b>;tag=9")])
    headers.add("To", "<sip:c@d>")
    headers.add("Call-ID", "id@h")
    headers.add("CSeq", "1 INVITE")
    headers.add("Content-Length", "999")  # a stale value is corrected, not trusted
    request = SipRequest("INVITE", "sip:c@d", headers, b"hello")
    wire = request.encode()
    assert wire.startswith(b"INVITE sip:c@d SIP/2.0\r\n")
    assert b"Content-Length: 5\r\n\r\nhello" in wire
    assert b"\n" not in wire.replace(b"\r\n", b"")
    assert parse_message(wire) == SipRequest(
        "INVITE", "sip:c@d", parse_message(wire).headers, b"hello"
    )
    assert parse_message(wire).headers.get("Content-Length") == "5"
    assert headers.get("Content-Length") == "999"  # encode left the request alone


def test_headers_are_a_case_insensitive_ordered_multimap() -> None:
    headers = Headers()
    headers.add("contact", '"A, B" <sip:a@h>, <sip:b@h;x=1,2>')  # commas inside quotes and <>
    headers.add("m", "<sip:c@h>")
    headers.add("WWW-Authenticate", 'Digest realm="r", nonce="n"')
    assert headers.get_all("Contact") == ['"A, B" <sip:a@h>', "<sip:b@h;x=1,2>", "<sip:c@h>"]
    assert headers.get_all("www-authenticate") == ['Digest realm="r", nonce="n"']  # not split
    assert "CONTACT" in headers
    assert "Route" not in headers
    copy = headers.copy()
    headers.set("Contact", "<sip:z@h>")
    assert headers.items()[0] == ("Contact", "<sip:z@h>")  # in the first one's place
    assert len(headers.get_all("Contact")) == 1
    assert len(copy.get_all("Contact")) == 3
    headers.remove("www-authenticate")
    assert headers.get("WWW-Authenticate") is None
    with pytest.raises(SipParseError, match="line break"):
        headers.add("Subject", "evil\r\nVia: injected")


def test_uris_parse_and_print_back() -> None:
    uri = parse_uri("sip:alice:secret@Example.com:5070;transport=UDP;lr?subject=x")
    assert uri == SipUri(
        "sip", "alice", "Example.com", 5070, {"transport": "UDP", "lr": None}, "secret"
    )
    assert str(uri) == "sip:alice:secret@Example.com:5070;transport=UDP;lr"
    v6 = parse_uri("sips:bob@[2001:db8::1]:5061")
    assert (v6.host, v6.port, v6.host_port) == ("2001:db8::1", 5061, "[2001:db8::1]:5061")
    assert str(v6) == "sips:bob@[2001:db8::1]:5061"
    assert parse_uri("sip:10.0.0.1").user is None
    tel = parse_uri("tel:+34-911-234-567;phone-context=+34")
    assert (tel.scheme, tel.user, str(tel)) == (
        "tel",
        "+34-911-234-567",
        "tel:+34-911-234-567;phone-context=+34",
    )


@pytest.mark.parametrize(
    "junk",
    ["", "http://x", "sip:", "sip:a@", "sip:@host", "sip:a@ho st", "sip:a@h:0", "sip:a@h:99999",
     "sip:a@h:port", "sip:a@[::1", "sip:a@[::1]x", "tel:call-me"],
)  # fmt: skip
def test_junk_uris_are_refused(junk: str) -> None:
    with pytest.raises(SipParseError):
        parse_uri(junk)


def test_name_addr_shapes_and_tags() -> None:
    quoted = parse_name_addr('"Mr. \\"X\\"" <sip:x@y;transport=udp>;tag=1;expires=60')
    assert quoted == NameAddr("sip:x@y;transport=udp", 'Mr. "X"', {"tag": "1", "expires": "60"})
    assert parse_name_addr(str(quoted)) == quoted
    assert parse_name_addr("<sip:x@y>;tag=1").tag == "1"
    bare = parse_name_addr("sip:x@y;tag=abc")  # the tag is the header's, not the URI's
    assert (bare.uri, bare.tag) == ("sip:x@y", "abc")
    assert parse_name_addr("Bob <sip:b@h>").display == "Bob"
    tagged = parse_name_addr("<sip:a@b>").with_tag("t1")
    assert str(tagged) == "<sip:a@b>;tag=t1"
    for junk in ('"open <sip:a@b>', "<sip:a@b", "no uri here", '"Name" sip:a@b'):
        with pytest.raises(SipParseError):
            parse_name_addr(junk)


def test_via_reads_branch_received_and_rport() -> None:
    via = parse_via("SIP / 2.0 / udp [::1]:5060 ;branch=z9hG4bKabc;rport;received=::1")
    assert (via.transport, via.host, via.port, via.branch) == ("UDP", "::1", 5060, "z9hG4bKabc")
    assert (via.received, via.rport, via.wants_rport) == ("::1", None, True)
    answered = parse_via("SIP/2.0/UDP h;branch=z9hG4bKq;rport").with_received("192.0.2.1", 40000)
    assert (answered.received, answered.rport) == ("192.0.2.1", 40000)
    assert str(answered) == "SIP/2.0/UDP h;branch=z9hG4bKq;rport=40000;received=192.0.2.1"
    assert parse_via(str(answered)) == answered
    assert Via("UDP", "h", None, {"branch": "z"}).rport is None
    for junk in ("HTTP/1.1 h", "SIP/2.0/UDP", "SIP/2.0/UDP h:x"):
        with pytest.raises(SipParseError):
            parse_via(junk)


def test_cseq_and_fresh_identifiers() -> None:
    assert parse_cseq(" 42  ACK ") == (42, "ACK")
    with pytest.raises(SipParseError, match="too large"):
        parse_cseq(f"{2**31} INVITE")
    branches = {new_branch() for _ in range(100)}
    assert len(branches) == 100
    assert all(b.startswith("z9hG4bK") for b in branches)
    assert new_tag() != new_tag()
    assert new_call_id("192.0.2.1").endswith("@192.0.2.1")


def test_response_to_copies_what_matches_the_transaction() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, SipRequest)
    trying = response_to(request, 100)
    assert (trying.status, trying.reason) == (100, "Trying")
    assert trying.headers.get_all("Via") == request.headers.get_all("Via")
    assert trying.headers.get("Timestamp") == "54"
    assert trying.to_tag is None  # a 100 creates no dialog
    ok = response_to(request, 200, to_tag="ours")
    assert ok.to_tag == "ours"
    assert ok.from_tag == "f00d"
    assert (ok.call_id, ok.cseq, ok.branch) == (request.call_id, request.cseq, request.branch)
    assert "Timestamp" not in ok.headers
    assert "Contact" not in ok.headers
    assert ok.headers.get("Content-Length") == "0"
    assert response_to(request, 486, "Ocupado").reason == "Ocupado"
    back = parse_message(ok.encode())
    assert isinstance(back, SipResponse)
    assert back.to_tag == "ours"
    # A To that already has a tag (a re-INVITE in a dialog) keeps it.
    ok.headers.set("To", "<sip:agent@h>;tag=first")
    again = response_to(SipRequest("BYE", "sip:a@b", ok.headers, b""), 200, to_tag="second")
    assert again.to_tag == "first"


def test_reason_phrases_cover_the_codes_a_call_meets() -> None:
    assert REASONS[180] == "Ringing"
    assert REASONS[486] == "Busy Here"
    assert REASONS[487] == "Request Terminated"
    assert REASONS[603] == "Decline"
    assert all(100 <= code <= 606 for code in REASONS)
