"""SDP offer/answer: real peers' SDPs read right, we agree on G.711 or refuse with a reason."""

from __future__ import annotations

import pytest

from realtime.sip.sdp import (
    OPUS,
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    Codec,
    Negotiated,
    SdpError,
    SessionDescription,
    accept_answer,
    answer_offer,
    build_sdp,
    parse_sdp,
)

pytestmark = pytest.mark.unit

# What baresip 1.x offers when it dials (aufile + g711 + opus modules loaded).
BARESIP_OFFER = """v=0
o=- 1397493843 2781367393 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 10156 RTP/AVP 111 0 8 101
b=AS:1500
a=rtpmap:111 opus/48000/2
a=fmtp:111 stereo=1;sprop-stereo=1
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=rtcp-rsize
a=ssrc:1826479453 cname:1bd81a25-d8b3-4cad-9dc2-5b31a0df0e50
"""

# Asterisk (chan_pjsip) answering an INVITE: session-level c=, PCMA first, ptime.
ASTERISK_ANSWER = (
    "v=0\r\n"
    "o=- 1718806434 1718806436 IN IP4 192.0.2.10\r\n"
    "s=Asterisk\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "m=audio 14532 RTP/AVP 8 101\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=ptime:20\r\n"
    "a=maxptime:150\r\n"
    "a=sendrecv\r\n"
)

# A cloud carrier's (Twilio/Telnyx-like) offer: no rtpmap for static types, media-level c=
# overriding the session's, session-level ptime, RTCP attributes, a video stream after.
CARRIER_OFFER = (
    "v=0\r\n"
    "o=root 31589 31589 IN IP4 198.51.100.5\r\n"
    "s=Twilio Media Gateway\r\n"
    "c=IN IP4 198.51.100.5\r\n"
    "t=0 0\r\n"
    "a=ptime:30\r\n"
    "m=audio 17328 RTP/AVP 0 8 18 126\r\n"
    "c=IN IP4 203.0.113.77\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=fmtp:126 0-16\r\n"
    "a=rtcp:17329\r\n"
    "a=sendrecv\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=inactive\r\n"
)


def test_baresip_offer_reads_every_codec_in_order() -> None:
    offer = parse_sdp(BARESIP_OFFER.encode())
    assert (offer.address, offer.port, offer.direction, offer.ptime) == (
        "127.0.0.1",
        10156,
        "sendrecv",
        None,
    )
    assert [c.name for c in offer.codecs] == ["opus", "PCMU", "PCMA", "telephone-event"]
    assert offer.codecs[0] == Codec(111, "opus", 48000, 2, "stereo=1;sprop-stereo=1")
    assert offer.codecs[1] == PCMU
    assert offer.codecs[3].fmtp == "0-15"
    assert (offer.session_id, offer.session_version) == (1397493843, 2781367393)


def test_asterisk_answer_reads_session_connection_and_ptime() -> None:
    answer = parse_sdp(ASTERISK_ANSWER)
    assert answer == SessionDescription(
        "192.0.2.10",
        14532,
        (PCMA, Codec(101, "telephone-event", 8000, fmtp="0-16")),
        "sendrecv",
        20,
        1718806434,
        1718806436,
    )


def test_carrier_offer_media_connection_wins_and_later_streams_are_ignored() -> None:
    offer = parse_sdp(CARRIER_OFFER)
    assert offer.address == "203.0.113.77"
    assert offer.ptime == 30  # from the session level
    assert offer.direction == "sendrecv"  # the video's inactive is not ours
    assert [(c.payload_type, c.name) for c in offer.codecs] == [
        (0, "PCMU"),
        (8, "PCMA"),
        (18, "G729"),
        (126, "telephone-event"),
    ]


def test_direction_and_hold() -> None:
    base = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n"
    assert not parse_sdp(base).on_hold
    assert parse_sdp(base + "a=sendonly\r\n").on_hold
    assert parse_sdp(base + "a=inactive\r\n").direction == "inactive"
    assert parse_sdp(base.replace("10.0.0.1", "0.0.0.0")).on_hold  # RFC 2543 style hold
    session_level = "v=0\r\na=recvonly\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n"
    assert parse_sdp(session_level).direction == "recvonly"
    assert parse_sdp(session_level + "a=sendrecv\r\n").direction == "sendrecv"  # media wins


@pytest.mark.parametrize(
    ("sdp", "reason"),
    [
        ("", "not SDP"),
        ("INVITE sip:a@b SIP/2.0\r\n", "not SDP"),
        ("v=1\r\nm=audio 1 RTP/AVP 0\r\n", "not SDP"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 4000 RTP/AVP 96\r\n", "no audio m= line"),
        ("v=0\r\nm=audio 4000 RTP/AVP 0\r\n", "no connection address"),
        ("v=0\r\nc=IN IP4\r\nm=audio 4000 RTP/AVP 0\r\n", "bad connection line"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 70000 RTP/AVP 0\r\n", "bad audio port"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n", "bad audio port"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP\r\n", "bad audio m= line"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0\r\n", "SRTP not supported"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "SRTP not supported"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 udp 0\r\n", "unsupported transport"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0 97\r\n", "97 has no rtpmap"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP PCMU\r\n", "bad payload type"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 300\r\n", "bad payload type 300"),
        ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:fast\r\n", "bad ptime"),
        ("v=0\r\nthis is not sdp\r\n", "line 2 is not type=value"),
    ],
)
def test_malformed_sdp_is_refused_with_a_reason(sdp: str, reason: str) -> None:
    with pytest.raises(SdpError, match=reason):
        parse_sdp(sdp)


def test_build_sdp_parses_back_to_what_it_says() -> None:
    text = build_sdp("127.0.0.1", 40000, session_id=7, session_version=2, ptime=30)
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert "m=audio 40000 RTP/AVP 0 8 101\r\n" in text
    assert "a=fmtp:101 0-16\r\n" in text
    assert parse_sdp(text) == SessionDescription(
        "127.0.0.1", 40000, (PCMU, PCMA, TELEPHONE_EVENT), "sendrecv", 30, 7, 2
    )
    v6 = build_sdp("::1", 5004, (OPUS,), direction="sendonly")
    assert "c=IN IP6 ::1\r\n" in v6
    assert "a=rtpmap:111 opus/48000/2\r\n" in v6
    assert parse_sdp(v6).codecs == (OPUS,)
    assert parse_sdp(v6).direction == "sendonly"
    assert build_sdp("10.0.0.1", 1) != build_sdp("10.0.0.1", 1)  # fresh session ids
    for bad in ({"codecs": ()}, {"port": 65536}, {"direction": "sideways"}):
        with pytest.raises(SdpError):
            build_sdp(**{"address": "10.0.0.1", "port": 4000, **bad})  # type: ignore[arg-type]


def test_answering_baresip_picks_pcmu_and_dtmf_under_its_payload_types() -> None:
    offer = parse_sdp(BARESIP_OFFER)
    text, agreed = answer_offer(offer, address="127.0.0.1", port=30000, session_id=5)
    assert agreed == Negotiated(
        codec=PCMU,
        telephone_event=101,
        remote_address="127.0.0.1",
        remote_port=10156,
        ptime=20,
        direction="sendrecv",
    )
    answer = parse_sdp(text)
    assert answer.codecs == (PCMU, Codec(101, "telephone-event", 8000, fmtp="0-15"))
    assert (answer.address, answer.port, answer.session_id) == ("127.0.0.1", 30000, 5)
    # The offerer reads our answer back to the same agreement.
    theirs = accept_answer(offer.codecs, answer)
    assert (theirs.codec, theirs.telephone_event) == (PCMU, 101)
    assert (theirs.remote_address, theirs.remote_port) == ("127.0.0.1", 30000)


def test_the_offer_s_preference_wins_and_its_payload_type_is_kept() -> None:
    offer = parse_sdp(
        "v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 5000 RTP/AVP 98 0 99\r\n"
        "a=rtpmap:98 pcma/8000\r\na=rtpmap:99 telephone-event/8000\r\na=ptime:40\r\n"
    )
    _, agreed = answer_offer(offer, address="10.0.0.1", port=6000)
    assert agreed.codec == Codec(98, "pcma", 8000)  # PCMA first in the offer, numbered 98
    assert agreed.telephone_event == 99
    assert agreed.ptime == 40


def test_pcma_only_offer_gets_pcma_and_no_dtmf_when_none_offered() -> None:
    offer = parse_sdp("v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 5000 RTP/AVP 8\r\n")
    text, agreed = answer_offer(offer, address="10.0.0.1", port=6000)
    assert (agreed.codec, agreed.telephone_event) == (PCMA, None)
    assert "m=audio 6000 RTP/AVP 8\r\n" in text


def test_telephone_event_only_at_the_codec_s_clock_rate() -> None:
    offer = parse_sdp(
        "v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 5000 RTP/AVP 0 100\r\n"
        "a=rtpmap:100 telephone-event/48000\r\n"
    )
    assert answer_offer(offer, address="10.0.0.1", port=6000)[1].telephone_event is None


def test_opus_only_offer_is_refused_with_what_was_offered() -> None:
    offer = parse_sdp(
        "v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 5000 RTP/AVP 111 101\r\n"
        "a=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/48000\r\n"
    )
    with pytest.raises(SdpError, match=r"no common audio codec: offered opus/48000"):
        answer_offer(offer, address="10.0.0.1", port=6000)


@pytest.mark.parametrize(
    ("offered", "answered"),
    [("sendrecv", "sendrecv"), ("sendonly", "recvonly"), ("recvonly", "sendonly"),
     ("inactive", "inactive")],
)  # fmt: skip
def test_answer_direction_mirrors_the_offer(offered: str, answered: str) -> None:
    offer = parse_sdp(f"v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 5000 RTP/AVP 0\r\na={offered}\r\n")
    text, agreed = answer_offer(offer, address="10.0.0.1", port=6000)
    assert agreed.direction == answered
    assert parse_sdp(text).direction == answered


def test_a_disabled_offered_stream_is_answered_disabled() -> None:
    offer = parse_sdp("v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 0 RTP/AVP 0\r\n")
    text, _ = answer_offer(offer, address="10.0.0.1", port=6000)
    assert parse_sdp(text).port == 0


def test_accept_answer_uses_the_answer_s_numbers_and_refuses_what_we_did_not_offer() -> None:
    ours = (PCMU, PCMA, TELEPHONE_EVENT)
    agreed = accept_answer(ours, parse_sdp(ASTERISK_ANSWER))
    assert agreed == Negotiated(PCMA, 101, "192.0.2.10", 14532, 20, "sendrecv")
    renumbered = parse_sdp(
        "v=0\r\nc=IN IP4 10.0.0.3\r\nm=audio 7000 RTP/AVP 0 96\r\n"
        "a=rtpmap:96 telephone-event/8000\r\na=sendonly\r\n"
    )
    agreed = accept_answer(ours, renumbered)
    assert agreed.telephone_event == 96
    assert agreed.direction == "recvonly"  # they only send: we only listen
    assert accept_answer((PCMU,), renumbered).telephone_event is None  # we offered none
    with pytest.raises(SdpError, match="no common audio codec: the answer has G729/8000"):
        accept_answer(ours, parse_sdp("v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 7000 RTP/AVP 18\r\n"))
    with pytest.raises(SdpError, match="refused the audio stream"):
        accept_answer(ours, parse_sdp("v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 0 RTP/AVP 0\r\n"))
