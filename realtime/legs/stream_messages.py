"""The carriers' media stream messages: what Twilio and Telnyx send us, what we send back.

Both carriers open a WebSocket to us once a call is answered and speak JSON text
frames: `connected`, then `start` (which call, which audio, our own parameters), then
`media` (20 ms of G.711, base64), `dtmf`, `mark` (audio we queued has played) and
`stop`. We answer with `media`, `mark` and `clear` (drop what is queued: barge-in).
The two dialects differ in spelling (`streamSid` / `stream_id`, `customParameters` /
`custom_parameters`, `mediaFormat` / `media_format`) and in the audio: Twilio streams
are always µ-law; Telnyx says PCMU or PCMA in `start`, per call. Telnyx's dial command
takes no stream parameters, only the stream URL (`custom_parameters` belong to its
`streaming_start` command): a dialled call's parameters travel in the URL's query,
which `with_url_parameters` adds to `start`'s.

Sources: Twilio's "Media Streams - WebSocket Messages" and Telnyx's "Media Streaming"
pages (Call Control), as summarised in `../shared/design/TELEPHONY.md`.

Parsing is strict about what a message needs and lenient about what it may add:
unknown events and extra fields are ignored, a message missing what its event needs
raises `StreamMessageError` naming it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from realtime.audio.g711 import SAMPLE_RATE, G711Law


class Dialect(StrEnum):
    """Whose media stream protocol a socket speaks."""

    TWILIO = "twilio"
    TELNYX = "telnyx"


class StreamMessageError(ValueError):
    """A message the protocol does not allow (not JSON, or missing what it needs)."""


@dataclass(frozen=True)
class StreamStart:
    """The stream began: which call, which audio, and the parameters we gave it."""

    stream_id: str
    carrier_call_id: str  # Twilio's CallSid, Telnyx's call_control_id
    law: G711Law
    sample_rate: int
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamMedia:
    """20 ms (usually) of the caller's audio, still G.711."""

    payload: bytes


@dataclass(frozen=True)
class StreamMark:
    """The audio we queued before the mark of this name has been played (or cleared)."""

    name: str


@dataclass(frozen=True)
class StreamDtmf:
    """The caller pressed a key."""

    digit: str


@dataclass(frozen=True)
class StreamStop:
    """The stream ended (the caller hung up, or the call moved on)."""


StreamEvent = StreamStart | StreamMedia | StreamMark | StreamDtmf | StreamStop

_DIGITS = frozenset("0123456789*#ABCD")
_TWILIO_ENCODINGS = {"audio/x-mulaw": G711Law.PCMU}


def parse(text: str | bytes, dialect: Dialect) -> StreamEvent | None:
    """One message as an event; None for events we do not use (`connected`, `error`...).

    Raises:
        StreamMessageError: not a JSON object, or missing what its event needs.
    """
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StreamMessageError(f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise StreamMessageError("not a JSON object")
    event = message.get("event")
    try:
        match event:
            case "start":
                return _start(message, dialect)
            case "media":
                return StreamMedia(_payload(message["media"]["payload"]))
            case "mark":
                return StreamMark(str(message["mark"]["name"]))
            case "dtmf":
                return _dtmf(message["dtmf"]["digit"])
            case "stop":
                return StreamStop()
            case _:
                return None
    except (KeyError, TypeError) as exc:
        raise StreamMessageError(f"{event!r} message without {exc}") from exc


def _start(message: dict[str, Any], dialect: Dialect) -> StreamStart:
    start = message["start"]
    if dialect is Dialect.TWILIO:
        media_format = start["mediaFormat"]
        encoding = str(media_format["encoding"])
        law = _TWILIO_ENCODINGS.get(encoding)
        stream_id, call_id = message["streamSid"], start["callSid"]
        parameters = start.get("customParameters") or {}
    else:
        media_format = start["media_format"]
        encoding = str(media_format["encoding"]).upper()
        law = G711Law(encoding) if encoding in G711Law.__members__ else None
        stream_id, call_id = message["stream_id"], start["call_control_id"]
        parameters = start.get("custom_parameters") or {}
    if law is None:
        raise StreamMessageError(f"audio encoding {encoding!r} is not G.711 µ-law or A-law")
    rate = int(media_format.get("sampleRate", media_format.get("sample_rate", SAMPLE_RATE)))
    if rate != SAMPLE_RATE:
        raise StreamMessageError(f"sample rate {rate} is not G.711's {SAMPLE_RATE}")
    if not isinstance(parameters, dict):
        raise StreamMessageError("stream parameters are not an object")
    return StreamStart(
        stream_id=str(stream_id),
        carrier_call_id=str(call_id),
        law=law,
        sample_rate=rate,
        parameters={str(k): str(v) for k, v in parameters.items()},
    )


def with_url_parameters(
    start: StreamStart, dialect: Dialect, query: Mapping[str, str]
) -> StreamStart:
    """`start` with a Telnyx stream URL's query parameters added to its own.

    The parameters `start` carries win over the URL's. Twilio drops the query of a
    stream URL, so a Twilio `start` is returned as it is.
    """
    if dialect is not Dialect.TELNYX or not query:
        return start
    merged = {str(name): str(value) for name, value in query.items()}
    return replace(start, parameters={**merged, **start.parameters})


def _payload(value: object) -> bytes:
    if not isinstance(value, str):
        raise StreamMessageError("media payload is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise StreamMessageError(f"media payload is not base64: {exc}") from exc


def _dtmf(value: object) -> StreamDtmf:
    digit = str(value)
    if digit not in _DIGITS:
        raise StreamMessageError(f"{digit!r} is not a DTMF key")
    return StreamDtmf(digit)


# -- what we send -----------------------------------------------------------------------


def _addressed(stream_id: str, dialect: Dialect, body: dict[str, Any]) -> str:
    if dialect is Dialect.TWILIO:
        body["streamSid"] = stream_id
    else:
        body["stream_id"] = stream_id
    return json.dumps(body, separators=(",", ":"))


def media_message(stream_id: str, dialect: Dialect, audio: bytes) -> str:
    """Agent audio (G.711 in the stream's law) for the carrier to play."""
    payload = base64.b64encode(audio).decode("ascii")
    return _addressed(stream_id, dialect, {"event": "media", "media": {"payload": payload}})


def mark_message(stream_id: str, dialect: Dialect, name: str) -> str:
    """Ask to be told (a `mark` back) when everything sent before it has played."""
    return _addressed(stream_id, dialect, {"event": "mark", "mark": {"name": name}})


def clear_message(stream_id: str, dialect: Dialect) -> str:
    """Drop every queued piece of agent audio now (the caller barged in)."""
    return _addressed(stream_id, dialect, {"event": "clear"})
