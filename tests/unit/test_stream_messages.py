"""Carrier media stream messages: what a start, a frame, a key press mean; what is refused."""

from __future__ import annotations

import base64
import json

import pytest

from realtime.audio.g711 import G711Law
from realtime.legs.stream_messages import (
    Dialect,
    StreamDtmf,
    StreamMark,
    StreamMedia,
    StreamMessageError,
    StreamStart,
    StreamStop,
    clear_message,
    mark_message,
    media_message,
    parse,
)

pytestmark = pytest.mark.unit


def twilio_start(encoding: str = "audio/x-mulaw", rate: int = 8000) -> str:
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": "MZ1",
            "start": {
                "accountSid": "AC1",
                "streamSid": "MZ1",
                "callSid": "CA1",
                "tracks": ["inbound"],
                "customParameters": {"token": "t", "call_key": "k"},
                "mediaFormat": {"encoding": encoding, "sampleRate": rate, "channels": 1},
            },
        }
    )


def telnyx_start(encoding: str) -> str:
    return json.dumps(
        {
            "event": "start",
            "stream_id": "s1",
            "start": {
                "call_control_id": "v3:c1",
                "media_format": {"encoding": encoding, "sample_rate": 8000, "channels": 1},
            },
        }
    )


def test_a_twilio_start_names_the_call_the_law_and_our_parameters() -> None:
    assert parse(twilio_start(), Dialect.TWILIO) == StreamStart(
        stream_id="MZ1",
        carrier_call_id="CA1",
        law=G711Law.PCMU,
        sample_rate=8000,
        parameters={"token": "t", "call_key": "k"},
    )


@pytest.mark.parametrize(("encoding", "law"), [("PCMA", G711Law.PCMA), ("pcmu", G711Law.PCMU)])
def test_a_telnyx_start_says_the_law_per_call(encoding: str, law: G711Law) -> None:
    start = parse(telnyx_start(encoding), Dialect.TELNYX)
    assert isinstance(start, StreamStart)
    assert start.law is law
    assert start.parameters == {}


def test_frames_keys_marks_and_stop() -> None:
    audio = bytes(range(160))
    media = {"event": "media", "media": {"payload": base64.b64encode(audio).decode()}}
    assert parse(json.dumps(media), Dialect.TWILIO) == StreamMedia(audio)
    dtmf = {"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": "1"}}
    assert parse(json.dumps(dtmf), Dialect.TWILIO) == StreamDtmf("1")
    mark = {"event": "mark", "mark": {"name": "utt-3"}}
    assert parse(json.dumps(mark), Dialect.TELNYX) == StreamMark("utt-3")
    assert parse('{"event": "stop", "stop": {}}', Dialect.TWILIO) == StreamStop()
    assert parse('{"event": "connected", "protocol": "Call"}', Dialect.TWILIO) is None


@pytest.mark.parametrize(
    ("text", "dialect", "reason"),
    [
        ("not json", Dialect.TWILIO, "not JSON"),
        ("[1, 2]", Dialect.TWILIO, "not a JSON object"),
        ('{"event": "media", "media": {}}', Dialect.TWILIO, "without"),
        ('{"event": "media", "media": {"payload": "%%%"}}', Dialect.TWILIO, "not base64"),
        ('{"event": "media", "media": {"payload": 7}}', Dialect.TWILIO, "not a base64 string"),
        ('{"event": "dtmf", "dtmf": {"digit": "x"}}', Dialect.TWILIO, "not a DTMF key"),
        (twilio_start("audio/l16"), Dialect.TWILIO, "not G.711"),
        (twilio_start(rate=16000), Dialect.TWILIO, "sample rate 16000"),
        (telnyx_start("OPUS"), Dialect.TELNYX, "not G.711"),
        (twilio_start(), Dialect.TELNYX, "without"),  # the other carrier's spelling
    ],
)
def test_messages_the_protocol_does_not_allow_are_refused_by_name(
    text: str, dialect: Dialect, reason: str
) -> None:
    with pytest.raises(StreamMessageError, match=reason):
        parse(text, dialect)


def test_what_we_send_is_addressed_in_each_dialect() -> None:
    assert json.loads(media_message("MZ1", Dialect.TWILIO, b"\xff\xff")) == {
        "event": "media",
        "media": {"payload": "//8="},
        "streamSid": "MZ1",
    }
    assert json.loads(mark_message("s1", Dialect.TELNYX, "utt-1")) == {
        "event": "mark",
        "mark": {"name": "utt-1"},
        "stream_id": "s1",
    }
    assert json.loads(clear_message("MZ1", Dialect.TWILIO)) == {
        "event": "clear",
        "streamSid": "MZ1",
    }
