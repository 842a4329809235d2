"""A fake carrier media stream: Twilio's or Telnyx's media server, with a scripted caller.

Once a phone call is answered, the carrier's media server opens a WebSocket to our
media worker and streams the call over it. `PhoneCaller` is that media server, as a
WebSocket client, with a `BotSoftphone` on the phone: it sends `connected` and
`start`, then the caller's voice as `media` (20 ms of G.711 each, paced to the
monotonic clock), `dtmf` when asked, and `stop` when the caller hangs up. What the
agent sends back is the carrier's playout: `media` is queued and played into the
caller's ear at real time, a `mark` is sent back once the audio queued before it has
played, a `clear` drops whatever is unplayed and sends the pending marks back at once.

The report says what each side experienced: the bot's own report (voice to voice,
barge-in, lines said), the agent audio received, played and dropped, each mark and
when it came back, each clear and how long the caller still heard agent speech after
it, who hung up.

## The wire formats, and where they come from

Twilio, from "Media Streams - WebSocket Messages" (twilio.com/docs/voice/media-streams/
websocket-messages; read in the docs index and, in full, in a public copy of the page's
markdown):

- confirmed: `connected` {event, protocol "Call", version "1.0.0"}, with no sequence
  number; `start` {event, sequenceNumber "1", start {accountSid, streamSid, callSid,
  tracks, customParameters, mediaFormat {encoding "audio/x-mulaw", sampleRate 8000,
  channels 1}}, streamSid} (encoding, rate and channels are "always" those values: Twilio
  streams are µ-law only); `media` {event, sequenceNumber, media {track "inbound",
  chunk (from "1"), timestamp (ms from the start of the stream), payload}, streamSid};
  `dtmf` {event, streamSid, sequenceNumber, dtmf {track "inbound_track", digit}};
  `mark` {event, sequenceNumber, streamSid, mark {name}}; `stop` {event,
  sequenceNumber, stop {accountSid, callSid}, streamSid}; `sequenceNumber` starts at 1
  and counts every message. From the application: `media` {event, streamSid, media
  {payload}} of any size, "buffered and played in the order received"; `mark` {event,
  streamSid, mark {name}}, sent back "when the audio ends (or if there is no audio
  buffered)"; `clear` {event, streamSid} "empties all buffered audio" and Twilio "sends
  back mark messages matching any remaining mark messages". A bidirectional stream
  stops only when the call ends.
- from secondary sources quoting Twilio's TwiML `<Stream>` page: its url "does not
  support query string parameters" (parameters go in `<Parameter>`, delivered as
  `start.customParameters`), and Twilio drops the query when it connects: the fake
  strips it.
- unconfirmed: whether Twilio acts on a message naming another streamSid (the fake
  ignores `media`, `mark` and `clear` that do not name the stream: the strict reading);
  what Twilio does with malformed JSON (the fake ignores it, as it does unknown events);
  any header on the WebSocket request (pass `headers` to add a signature).

Telnyx, from "Media Streaming over Websockets" (developers.telnyx.com/docs/voice/
programmable-voice/media-streaming; the docs index shows its AsyncAPI companion):

- confirmed: `connected` {event, version "1.0.0"}; `start` {event, sequence_number "1",
  start {user_id, call_control_id, call_session_id, from, to, client_state,
  media_format {encoding, sample_rate 8000, channels 1}}, stream_id}; `media` {event,
  sequence_number, media {track, chunk, timestamp, payload}, stream_id}, the payload a
  base64 RTP payload with no header; `stop` {event, sequence_number, stop {user_id,
  call_control_id}, stream_id}; `dtmf` {event, stream_id, occurred_at, sequence_number,
  dtmf {digit}} (no track); `mark` back {event, stream_id, sequence_number, mark {name}};
  `error` {event, payload {code, title, detail}, stream_id} with 100003
  malformed_frame and 100004 invalid_media. From the application: `media` {event, media
  {payload}} (20 ms to 30 s each), `mark` {event, mark {name}}, `clear` {event}; marks
  sent with nothing played or queued come back at once, and a clear "will also result
  in all queued marks being sent back".
- unconfirmed: the encoding names in `media_format` beyond the documented "PCMU" (the
  fake says "PCMA" for A-law, as Telnyx names its codecs everywhere else); how custom
  parameters reach the socket (the REST `custom_parameters` are "sent as part of the
  WebSocket connection"; the guide's `start` shows none). `parameters_in` chooses:
  "start" puts them in `start.custom_parameters` as an object, "query" in the stream
  URL's query string (Telnyx connects to the `stream_url` as given), "both" does both.
  The track name in `media` (the guide writes "inbound/outbound"): the fake says
  "inbound".
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import secrets
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
from aiortc.mediastreams import MediaStreamError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from centralita.kernel.pcm import Pcm16
from centralita.kernel.tasks import stop_tasks
from realtime.audio import g711
from realtime.audio.frames import PcmResampler, as_pcm16_mono
from realtime.audio.g711 import FRAME_BYTES, SAMPLE_RATE, G711Law
from realtime.audio.pushed_track import PushedAudioTrack
from realtime.providers.base import TextToSpeech
from realtime.softphone.bot import BotReport, BotSoftphone
from realtime.softphone.script import BotScript

Dialect = Literal["twilio", "telnyx"]
HungUpBy = Literal["caller", "agent"]
ParametersIn = Literal["start", "query", "both"]

FRAME_S = 0.02
# Agent audio louder than this (int16 RMS at 8 kHz) is speech, as the bot's ear counts it.
SPEECH_RMS = 300.0
# After a clear, agent speech heard before a gap this long counts as heard "after" it.
HEARD_GAP_S = 0.25
DTMF_DIGITS = frozenset("0123456789*#ABCD")

TELNYX_MALFORMED_FRAME = 100003
TELNYX_INVALID_MEDIA = 100004
_TELNYX_TITLES = {TELNYX_MALFORMED_FRAME: "malformed_frame", TELNYX_INVALID_MEDIA: "invalid_media"}


@dataclass(frozen=True)
class MarkEcho:
    """A mark the fake sent back to the agent."""

    name: str
    at: float  # time.monotonic() when sent back
    cleared: bool  # sent back because a clear dropped the audio before it


@dataclass
class ClearEvent:
    """One `clear` from the agent."""

    at: float  # time.monotonic() when it arrived
    dropped_ms: float  # unplayed agent audio it dropped
    marks_echoed: list[str]  # the pending marks it sent back, in order
    # The last time agent speech was played to the caller after it (before a gap of
    # HEARD_GAP_S without speech); None when the caller heard none.
    heard_until: float | None = None

    @property
    def heard_after_ms(self) -> float:
        """How long the caller kept hearing agent speech after the clear arrived."""
        return 0.0 if self.heard_until is None else (self.heard_until - self.at) * 1000


@dataclass
class PhoneCallReport:
    """What one call over the fake media stream was like, from the carrier's side."""

    dialect: Dialect
    law: G711Law
    stream_sid: str  # Twilio's streamSid, Telnyx's stream_id
    call_sid: str  # Twilio's callSid, Telnyx's call_control_id
    account_sid: str  # Twilio's accountSid, Telnyx's user_id
    bot: BotReport
    url: str = ""  # the URL the fake connected to (Twilio's without its query)
    stream_started_at: float | None = None  # time.monotonic() at `start`: timestamp 0
    hung_up_by: HungUpBy | None = None
    timed_out: bool = False  # the caller hung up because the call outlasted max_call_s
    close_code: int | None = None  # the WebSocket close code, as the fake saw it
    media_sent: int = 0  # caller `media` messages, 20 ms each
    dtmf_sent: list[str] = field(default_factory=list)
    bytes_received: int = 0  # agent audio received (decoded payload bytes)
    played_ms: float = 0.0  # agent audio played to the caller
    marks_received: list[str] = field(default_factory=list)
    marks_echoed: list[MarkEcho] = field(default_factory=list)
    clears: list[ClearEvent] = field(default_factory=list)
    first_speech_heard_at: float | None = None  # first agent speech played to the caller
    last_speech_heard_at: float | None = None  # last agent speech played to the caller
    ignored: list[str] = field(default_factory=list)  # messages dropped, and why
    errors_sent: list[int] = field(default_factory=list)  # Telnyx `error` codes sent
    heard: Pcm16 | None = None  # the caller's ear at 8 kHz, with `record=True`

    @property
    def dropped_ms(self) -> float:
        """Agent audio dropped by clears, over the call."""
        return sum(clear.dropped_ms for clear in self.clears)


class _Pacer:
    """20 ms ticks on the monotonic clock from `start`, without drift.

    A tick is never early. After a stall of more than a tick the grid jumps to the next
    tick ahead instead of bursting the ones missed, so time never runs faster than real.
    """

    def __init__(self, start: float) -> None:
        self.start = start
        self._n = -1

    async def next(self) -> int:
        """Wait for the next tick; its number (tick n is due at start + n * 20 ms)."""
        n = self._n + 1
        now = time.monotonic()
        if self.start + n * FRAME_S < now - FRAME_S:
            n = math.ceil((now - self.start) / FRAME_S)
        due = self.start + n * FRAME_S
        if due > now:
            # The loop's clock is time.monotonic(): a timer fires no earlier than asked
            # (give or take the clock's resolution, a nanosecond here).
            await asyncio.sleep(due - now)
        self._n = n
        return n


class _Playout:
    """The carrier's buffer of agent audio, with the agent's marks in order within it.

    Offsets count bytes of agent audio over the call. A mark sits at the offset the
    audio had reached when it arrived and is due once everything before it has played:
    a tick hands the caller the next 20 ms, so what the previous tick handed has played.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._received = 0  # offset of the buffer's end
        self._handed = 0  # offset of the buffer's start: handed to the caller's ear
        self._finished = 0  # offset up to which audio has finished playing
        self._marks: deque[tuple[int, str]] = deque()

    def append(self, audio: bytes) -> None:
        self._buffer += audio
        self._received += len(audio)

    def mark(self, name: str) -> bool:
        """Queue a mark; True when it is due at once (nothing queued or playing)."""
        if self._received <= self._finished and not self._marks:
            return True
        self._marks.append((self._received, name))
        return False

    def tick(self) -> tuple[bytes, list[str]]:
        """The next 20 ms of agent audio (b"" when none) and the marks it played up to."""
        self._finished = self._handed
        due = []
        while self._marks and self._marks[0][0] <= self._finished:
            due.append(self._marks.popleft()[1])
        audio = bytes(self._buffer[:FRAME_BYTES])
        del self._buffer[:FRAME_BYTES]
        self._handed += len(audio)
        return audio, due

    def clear(self) -> tuple[int, list[str]]:
        """Drop what has not been handed out; the bytes dropped and the pending marks."""
        dropped = len(self._buffer)
        self._buffer.clear()
        self._received = self._handed
        names = [name for _, name in self._marks]
        self._marks.clear()
        return dropped, names


class PhoneCaller:
    """One phone call: the carrier's media stream to `ws_url`, a scripted bot on the phone.

    Args:
        script: what the caller says (a `BotSoftphone` plays it).
        tts: the caller's voice.
        dialect: whose media server this is, "twilio" or "telnyx".
        law: the G.711 law of the stream (Twilio: µ-law only).
        parameters: the stream's custom parameters (the `<Parameter>`s of Twilio's
            TwiML, the `custom_parameters` of Telnyx's streaming command).
        parameters_in: where Telnyx's parameters go (see the module docstring);
            Twilio's always go in `start`.
        call_sid: the carrier's call id (Twilio's callSid, Telnyx's call_control_id),
            as the dialling side was told; made up when None.
        account_sid: Twilio's accountSid (Telnyx's user_id); made up when None.
        client_state: Telnyx's `start.client_state` (base64), left out when None.
        headers: extra headers on the WebSocket request.
        max_call_s: the caller hangs up after this long whatever the script says.
        record: keep what the caller heard (`PhoneCallReport.heard`).

    Raises:
        ValueError: a dialect, law or parameter placement the carrier does not have.
    """

    def __init__(
        self,
        script: BotScript,
        tts: TextToSpeech,
        *,
        dialect: Dialect = "twilio",
        law: G711Law = G711Law.PCMU,
        parameters: Mapping[str, str] | None = None,
        parameters_in: ParametersIn = "start",
        call_sid: str | None = None,
        account_sid: str | None = None,
        client_state: str | None = None,
        headers: Mapping[str, str] | None = None,
        max_call_s: float = 120.0,
        record: bool = False,
    ) -> None:
        if dialect not in ("twilio", "telnyx"):
            raise ValueError(f"unknown dialect {dialect!r}")
        if dialect == "twilio" and law is not G711Law.PCMU:
            raise ValueError("Twilio media streams are µ-law (PCMU) only")
        if dialect == "twilio" and parameters_in != "start":
            raise ValueError("Twilio's stream URL takes no query: parameters go in start")
        self.dialect: Dialect = dialect
        self.law = law
        self.parameters = dict(parameters or {})
        self.parameters_in: ParametersIn = parameters_in
        self.client_state = client_state
        self.headers = dict(headers or {})
        self.max_call_s = max_call_s
        self.record = record
        self.bot = BotSoftphone(script, tts)
        self.bot.voice.paced = False  # the fake paces the voice itself, as it sends it
        if dialect == "twilio":
            stream_sid = "MZ" + secrets.token_hex(16)
            call_sid = call_sid or "CA" + secrets.token_hex(16)
            account_sid = account_sid or "AC" + secrets.token_hex(16)
        else:
            stream_sid = str(uuid.uuid4()).upper()
            call_sid = call_sid or "v3:" + secrets.token_urlsafe(32)
            account_sid = account_sid or str(uuid.uuid4()).upper()
        self.report = PhoneCallReport(
            dialect=dialect,
            law=law,
            stream_sid=stream_sid,
            call_sid=call_sid,
            account_sid=account_sid,
            bot=self.bot.report,
        )
        self._ws: ClientConnection | None = None
        self._lock = asyncio.Lock()
        self._sequence = 0
        self._playout = _Playout()
        self._started = asyncio.Event()
        self._hang_up = asyncio.Event()
        self._stopped = False  # `stop` sent: nothing more goes out
        self._over = False  # the call ended, whoever hung up
        self._ran = False
        self._open_clear: ClearEvent | None = None
        self._heard: list[Pcm16] = []

    # -- the call ---------------------------------------------------------------------

    async def run(self, ws_url: str) -> PhoneCallReport:
        """Connect to `ws_url`, stream the call until someone hangs up; the report.

        Raises:
            RuntimeError: this caller already placed its call.
            OSError, websockets.exceptions.InvalidHandshake: the connection failed.
        """
        if self._ran:
            raise RuntimeError("a PhoneCaller places one call")
        self._ran = True
        self.report.url = self._stream_url(ws_url)
        async with connect(self.report.url, additional_headers=self.headers, open_timeout=10) as ws:
            self._ws = ws
            try:
                await self._open()
                await self._converse(ws)
            except ConnectionClosed:
                self.report.hung_up_by = self.report.hung_up_by or "agent"
            finally:
                self._over = True
                self.report.close_code = ws.close_code
        if self.record:
            self.report.heard = (
                np.concatenate(self._heard) if self._heard else np.zeros(0, dtype=np.int16)
            )
        return self.report

    async def wait_started(self) -> None:
        """Until `start` has been sent (from then on `send_dtmf` works)."""
        await self._started.wait()

    def hang_up(self) -> None:
        """The caller hangs up now: `stop`, then the socket closes."""
        self._hang_up.set()

    async def send_dtmf(self, digit: str) -> None:
        """The caller presses a key.

        Raises:
            ValueError: not a DTMF digit (0-9, *, #, A-D).
            RuntimeError: no call in progress.
            websockets.exceptions.ConnectionClosed: the agent hung up as the key went.
        """
        if digit not in DTMF_DIGITS or len(digit) != 1:
            raise ValueError(f"{digit!r} is not a DTMF digit")
        if not self._started.is_set() or self._stopped or self._over:
            raise RuntimeError("no call in progress")
        if self.dialect == "twilio":
            body: dict[str, Any] = {
                "event": "dtmf",
                "streamSid": self.report.stream_sid,
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        else:
            body = {
                "event": "dtmf",
                "stream_id": self.report.stream_sid,
                "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "dtmf": {"digit": digit},
            }
        if await self._send([body]):
            self.report.dtmf_sent.append(digit)

    def _stream_url(self, ws_url: str) -> str:
        parts = urlsplit(ws_url)
        if self.dialect == "twilio":
            return urlunsplit(parts._replace(query="", fragment=""))
        if self.parameters_in == "start" or not self.parameters:
            return ws_url
        query = parse_qsl(parts.query, keep_blank_values=True) + list(self.parameters.items())
        return urlunsplit(parts._replace(query=urlencode(query)))

    async def _open(self) -> None:
        if self.dialect == "twilio":
            await self._send_unnumbered(
                {"event": "connected", "protocol": "Call", "version": "1.0.0"}
            )
        else:
            await self._send_unnumbered({"event": "connected", "version": "1.0.0"})
        self.report.stream_started_at = time.monotonic()
        await self._send([self._start_body()])
        self._started.set()

    def _start_body(self) -> dict[str, Any]:
        report = self.report
        if self.dialect == "twilio":
            return {
                "event": "start",
                "start": {
                    "accountSid": report.account_sid,
                    "streamSid": report.stream_sid,
                    "callSid": report.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": dict(self.parameters),
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
                "streamSid": report.stream_sid,
            }
        start: dict[str, Any] = {
            "user_id": report.account_sid,
            "call_control_id": report.call_sid,
            "call_session_id": str(uuid.uuid4()),
            "from": "+34910000000",
            "to": "+34600000000",
            "media_format": {"encoding": self.law.value, "sample_rate": 8000, "channels": 1},
        }
        if self.client_state is not None:
            start["client_state"] = self.client_state
        if self.parameters_in in ("start", "both"):
            start["custom_parameters"] = dict(self.parameters)
        return {"event": "start", "start": start, "stream_id": report.stream_sid}

    async def _converse(self, ws: ClientConnection) -> None:
        ear = PushedAudioTrack(SAMPLE_RATE)
        self.bot.listen_to(ear)
        sender = asyncio.create_task(self._send_voice(), name="phone_caller: voice")
        receiver = asyncio.create_task(self._receive(ws), name="phone_caller: receive")
        player = asyncio.create_task(self._play(ear), name="phone_caller: playout")
        bot_done = asyncio.create_task(self.bot.done(), name="phone_caller: bot")
        hang_up = asyncio.create_task(self._hang_up.wait(), name="phone_caller: hang-up")
        lines = (sender, receiver, player)
        try:
            done, _ = await asyncio.wait(
                (*lines, bot_done, hang_up),
                timeout=self.max_call_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in done:
                if task is not hang_up and (error := task.exception()) is not None:
                    raise error  # a bug (the fake's, the bot's, its voice's), not a hang-up
            if any(task in lines for task in done):
                self.report.hung_up_by = "agent"  # the socket closed under us
            else:
                self.report.hung_up_by = "caller"
                self.report.timed_out = not done
                await stop_tasks((sender, player), what="the fake carrier's media")
                await self._send_stop()
                await ws.close()
        finally:
            await stop_tasks(
                (sender, receiver, player, hang_up),
                what="the fake carrier",
                expected=(ConnectionClosed,),
            )
            ear.end()
            await self.bot.close()
            self.bot.voice.stop()
            await stop_tasks((bot_done,), what="the fake carrier's bot")

    async def _send_stop(self) -> None:
        report = self.report
        if self.dialect == "twilio":
            stop: dict[str, Any] = {"accountSid": report.account_sid, "callSid": report.call_sid}
            body = {"event": "stop", "stop": stop, "streamSid": report.stream_sid}
        else:
            stop = {"user_id": report.account_sid, "call_control_id": report.call_sid}
            body = {"event": "stop", "stop": stop, "stream_id": report.stream_sid}
        await self._send([body])

    # -- sending ----------------------------------------------------------------------

    async def _send(self, bodies: list[dict[str, Any]]) -> int:
        """Number and send messages in one go (no other message falls between); how many.

        After `stop` the carrier sends nothing: what comes later is dropped.
        """
        assert self._ws is not None
        key = "sequenceNumber" if self.dialect == "twilio" else "sequence_number"
        sent = 0
        async with self._lock:
            for body in bodies:
                if self._stopped:
                    break
                self._sequence += 1
                event, rest = body["event"], {k: v for k, v in body.items() if k != "event"}
                await self._ws.send(json.dumps({"event": event, key: str(self._sequence), **rest}))
                self._stopped = event == "stop"
                sent += 1
        return sent

    async def _send_unnumbered(self, body: dict[str, Any]) -> None:
        assert self._ws is not None
        async with self._lock:
            if not self._stopped:
                await self._ws.send(json.dumps(body))

    async def _send_voice(self) -> None:
        """The caller's voice: one `media` per 20 ms tick, from the bot's voice track."""
        voice = self.bot.voice
        resampler = PcmResampler(voice.sample_rate, SAMPLE_RATE)
        pending = np.zeros(0, dtype=np.int16)
        assert self.report.stream_started_at is not None
        pacer = _Pacer(self.report.stream_started_at)
        track = "inbound"
        try:
            while True:
                tick = await pacer.next()
                frame = await voice.recv()
                pending = np.concatenate(
                    [pending, resampler.push(as_pcm16_mono(frame.to_ndarray()))]
                )
                if pending.size < FRAME_BYTES:  # the resampler's delay, at the start
                    pad = np.zeros(FRAME_BYTES - pending.size, dtype=np.int16)
                    pending = np.concatenate([pad, pending])
                samples, pending = pending[:FRAME_BYTES], pending[FRAME_BYTES:]
                media = {
                    "track": track,
                    "chunk": str(self.report.media_sent + 1),
                    "timestamp": str(tick * 20),
                    "payload": base64.b64encode(g711.encode(samples, self.law)).decode("ascii"),
                }
                await self._send([self._addressed({"event": "media", "media": media})])
                self.report.media_sent += 1
        except (ConnectionClosed, MediaStreamError):
            return

    def _addressed(self, body: dict[str, Any]) -> dict[str, Any]:
        key = "streamSid" if self.dialect == "twilio" else "stream_id"
        return {**body, key: self.report.stream_sid}

    async def _echo(self, names: list[str], *, cleared: bool) -> None:
        bodies = [self._addressed({"event": "mark", "mark": {"name": name}}) for name in names]
        sent = await self._send(bodies)
        now = time.monotonic()
        self.report.marks_echoed.extend(MarkEcho(name, now, cleared) for name in names[:sent])

    # -- receiving --------------------------------------------------------------------

    async def _receive(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                await self._on_message(message)
        except ConnectionClosed:
            return

    async def _on_message(self, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            return await self._reject("a binary frame", TELNYX_MALFORMED_FRAME)
        try:
            message = json.loads(raw)
        except ValueError:
            return await self._reject("not JSON", TELNYX_MALFORMED_FRAME)
        if not isinstance(message, dict):
            return await self._reject("not a JSON object", TELNYX_MALFORMED_FRAME)
        event = message.get("event")
        if (
            self.dialect == "twilio"
            and event in ("media", "mark", "clear")
            and message.get("streamSid") != self.report.stream_sid
        ):
            self.report.ignored.append(f"{event} for stream {message.get('streamSid')!r}")
            return None
        match event:
            case "media":
                return await self._on_media(message.get("media"))
            case "mark":
                return await self._on_mark(message.get("mark"))
            case "clear":
                return await self._on_clear()
            case _:
                self.report.ignored.append(f"unknown event {event!r}")
                return None

    async def _on_media(self, media: object) -> None:
        payload = media.get("payload") if isinstance(media, dict) else None
        if not isinstance(payload, str):
            return await self._reject("media without a payload", TELNYX_MALFORMED_FRAME)
        try:
            audio = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return await self._reject("media payload is not base64", TELNYX_INVALID_MEDIA)
        self.report.bytes_received += len(audio)
        self._playout.append(audio)
        return None

    async def _on_mark(self, mark: object) -> None:
        name = mark.get("name") if isinstance(mark, dict) else None
        if not isinstance(name, str):
            return await self._reject("mark without a name", TELNYX_MALFORMED_FRAME)
        self.report.marks_received.append(name)
        if self._playout.mark(name):
            await self._echo([name], cleared=False)
        return None

    async def _on_clear(self) -> None:
        dropped, names = self._playout.clear()
        clear = ClearEvent(at=time.monotonic(), dropped_ms=dropped / 8, marks_echoed=names)
        self.report.clears.append(clear)
        self._open_clear = clear
        if names:
            await self._echo(names, cleared=True)

    async def _reject(self, why: str, telnyx_code: int) -> None:
        """A message the carrier cannot use: Telnyx answers with an `error`, Twilio nothing."""
        self.report.ignored.append(why)
        if self.dialect == "telnyx":
            payload = {"code": telnyx_code, "title": _TELNYX_TITLES[telnyx_code], "detail": why}
            await self._send_unnumbered(
                {"event": "error", "payload": payload, "stream_id": self.report.stream_sid}
            )
            self.report.errors_sent.append(telnyx_code)

    # -- playout ----------------------------------------------------------------------

    async def _play(self, ear: PushedAudioTrack) -> None:
        """The caller's earpiece: 20 ms a tick, agent audio or silence, marks as they play."""
        pacer = _Pacer(time.monotonic())
        silence = np.zeros(FRAME_BYTES, dtype=np.int16)
        try:
            while True:
                await pacer.next()
                audio, due = self._playout.tick()
                now = time.monotonic()
                samples = silence
                if audio:
                    samples = g711.decode(audio, self.law)
                    if samples.size < FRAME_BYTES:
                        samples = np.concatenate([samples, silence[samples.size :]])
                    self.report.played_ms += len(audio) / 8
                ear.push(samples)
                if self.record:
                    self._heard.append(samples)
                self._follow_speech(now, bool(audio) and _rms(samples) > SPEECH_RMS)
                if due:
                    await self._echo(due, cleared=False)
        except ConnectionClosed:
            return

    def _follow_speech(self, now: float, speech: bool) -> None:
        clear = self._open_clear
        if speech:
            if self.report.first_speech_heard_at is None:
                self.report.first_speech_heard_at = now
            self.report.last_speech_heard_at = now
            if clear is not None:
                clear.heard_until = now
        elif clear is not None and now - (clear.heard_until or clear.at) >= HEARD_GAP_S:
            self._open_clear = None


def _rms(samples: Pcm16) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float32) ** 2)))
