"""Phone calls as carrier media streams: the media worker's WebSocket, over loopback.

A WebSocket client here speaks the carrier's side by hand (Twilio's and Telnyx's
`connected`, `start`, `media`, `stop`); the media worker's real route, leg, session
and shipped flow answer. The agent's voice is a tone (`ScriptedTTS`), so what comes
back can be checked sample by sample after G.711 decoding; the caller's words are
espeak-ng speech, which the voice detector hears, transcribed by `ScriptedSTT`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from centralita.kernel.calls import CallOutcome, DialRequest
from realtime.agents.setup import AgentSetup, flow_agent_for
from realtime.audio import g711
from realtime.audio.dtmf import detect_key
from realtime.audio.frames import resample_pcm16
from realtime.audio.synth import espeak, tone
from realtime.carrier.stream_broker import ExpectedStream, StreamBroker
from realtime.conversation_line import ConversationLine
from realtime.legs.media_stream import MediaStreamLeg
from realtime.legs.stream_messages import Dialect
from realtime.providers.base import AgentBrain, AgentReply, BrainTurn
from realtime.server.app import create_media_app
from realtime.server.media_streams import media_stream_router
from realtime.session.call_session import SessionConfig
from tests.support.lines import maria_calls
from tests.support.providers import ScriptedSTT, ScriptedTTS
from tests.support.servers import serving

pytestmark = pytest.mark.integration

TONE_HZ = 440.0


@asynccontextmanager
async def media_worker(broker: StreamBroker) -> AsyncIterator[str]:
    app = create_media_app(None)
    app.include_router(media_stream_router(broker))
    async with serving(app) as base:
        yield base.replace("http://", "ws://")


def start_message(dialect: Dialect, parameters: dict[str, str], law: str = "PCMU") -> str:
    """A `start` as the carrier sends it (fields from their published docs)."""
    if dialect is Dialect.TWILIO:
        return json.dumps(
            {
                "event": "start",
                "sequenceNumber": "1",
                "streamSid": "MZ0001",
                "start": {
                    "accountSid": "AC0001",
                    "streamSid": "MZ0001",
                    "callSid": "CA0001",
                    "tracks": ["inbound"],
                    "customParameters": parameters,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )
    return json.dumps(
        {
            "event": "start",
            "sequence_number": "1",
            "stream_id": "st-0001",
            "start": {
                "call_control_id": "v3:cc-0001",
                "custom_parameters": parameters,
                "media_format": {"encoding": law, "sample_rate": 8000, "channels": 1},
            },
        }
    )


def media_message(dialect: Dialect, audio: bytes, chunk: int) -> str:
    payload = base64.b64encode(audio).decode()
    media = {"track": "inbound", "chunk": str(chunk), "timestamp": str(chunk * 20)}
    if dialect is Dialect.TWILIO:
        return json.dumps(
            {"event": "media", "streamSid": "MZ0001", "media": {**media, "payload": payload}}
        )
    return json.dumps(
        {"event": "media", "stream_id": "st-0001", "media": {**media, "payload": payload}}
    )


class Carrier:
    """The carrier's end of one stream: sends audio in real time, keeps what comes back."""

    def __init__(self, ws: ClientConnection, dialect: Dialect, law: g711.G711Law) -> None:
        self.ws, self.dialect, self.law = ws, dialect, law
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.closed = asyncio.Event()

    async def read(self) -> None:
        try:
            async for text in self.ws:
                self.received.append((time.monotonic(), json.loads(text)))
        except websockets.ConnectionClosed:
            pass
        self.closed.set()

    async def play(self, samples: np.ndarray) -> None:
        """8 kHz samples as 20 ms media messages, paced on the clock."""
        started = time.monotonic()
        for n, at in enumerate(range(0, samples.size - 159, 160)):
            frame = g711.encode(samples[at : at + 160], self.law)
            await self.ws.send(media_message(self.dialect, frame, n + 1))
            await asyncio.sleep(max(0.0, started + (n + 1) * 0.02 - time.monotonic()))

    def agent_audio(self) -> np.ndarray:
        payloads = [m["media"]["payload"] for _, m in self.received if m["event"] == "media"]
        data = b"".join(base64.b64decode(p) for p in payloads)
        return g711.decode(data, self.law)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [m for _, m in self.received if m["event"] == name]


def tone_strength(samples: np.ndarray) -> float:
    """The share of the signal's energy at the agent's tone (1.0: a pure tone)."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / g711.SAMPLE_RATE)
    near = np.abs(freqs - TONE_HZ) < 20
    return float(spectrum[near].sum() / max(spectrum.sum(), 1e-9))


def caller_says(text: str) -> np.ndarray:
    samples, rate = espeak(text, "es", speed_wpm=150)
    return resample_pcm16(samples, rate, g711.SAMPLE_RATE)


async def hold(
    line: ConversationLine, broker: StreamBroker, expected: ExpectedStream, key: str
) -> Any:
    """What a phone dialer does once the carrier answered: wait for the stream, talk."""
    request = maria_calls(key, "camp-phone")
    setup = await line.prepare(request, datetime.now(UTC))
    assert isinstance(setup, AgentSetup)
    leg: MediaStreamLeg = await asyncio.wait_for(expected.leg, 10)
    try:
        return await line.hold_leg(request, leg, setup, datetime.now(UTC)), leg
    finally:
        expected.finished.set()


async def refusal(ws: ClientConnection, start: str) -> int | None:
    """Send `start`; the close code the media worker answers with."""
    try:
        await ws.send(start)
        await asyncio.wait_for(ws.recv(), 5)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
    raise AssertionError("the stream was not closed")


def line_with(stt: ScriptedSTT) -> ConversationLine:
    return ConversationLine(agent_for=flow_agent_for, stt=stt, tts=ScriptedTTS())


@pytest.mark.parametrize(
    ("dialect", "law"),
    [(Dialect.TWILIO, g711.G711Law.PCMU), (Dialect.TELNYX, g711.G711Law.PCMA)],
)
async def test_the_greeting_reaches_the_phone_in_its_law_and_stop_ends_the_call(
    dialect: Dialect, law: g711.G711Law
) -> None:
    broker = StreamBroker()
    line = line_with(ScriptedSTT())
    expected = broker.expect("key-greet", dialect)
    async with media_worker(broker) as base:
        holding = asyncio.create_task(hold(line, broker, expected, "key-greet"))
        async with websockets.connect(f"{base}/carrier/{dialect}/stream") as ws:
            carrier = Carrier(ws, dialect, law)
            reader = asyncio.create_task(carrier.read())
            await ws.send(
                json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            )
            await ws.send(start_message(dialect, expected.parameters, law.value))
            # Silence from the caller while the agent greets; a corrupt frame on the way.
            await carrier.play(np.zeros(8000, np.int16))
            await ws.send(json.dumps({"event": "media", "media": {"payload": "%%not base64"}}))
            await carrier.play(np.zeros(8000, np.int16))
            await ws.send(json.dumps({"event": "stop", "stop": {"callSid": "CA0001"}}))
            result, leg = await asyncio.wait_for(holding, 15)
            await asyncio.wait_for(carrier.closed.wait(), 5)
            await reader
    heard = carrier.agent_audio()
    assert heard.size >= 8000  # at least a second of the greeting
    assert tone_strength(heard) > 0.8  # decoded in the stream's own law: the clean tone
    wrong = g711.G711Law.PCMA if law is g711.G711Law.PCMU else g711.G711Law.PCMU
    raw = b"".join(base64.b64decode(m["media"]["payload"]) for m in carrier.events("media"))
    assert tone_strength(g711.decode(raw, wrong)) < 0.5  # the other law would be noise
    address = "streamSid" if dialect is Dialect.TWILIO else "stream_id"
    assert all(address in m for m in carrier.events("media"))
    assert result.disconnection_reason == "remote_hangup"
    assert leg.figures.bad_messages == 1
    assert leg.figures.frames_in >= 95  # two seconds of caller audio, less the bad frame


async def test_the_caller_speaking_over_the_agent_clears_the_carrier_s_queue() -> None:
    broker = StreamBroker()
    line = line_with(ScriptedSTT(["Sí, con ella habla."]))
    expected = broker.expect("key-barge", Dialect.TWILIO)
    async with media_worker(broker) as base:
        holding = asyncio.create_task(hold(line, broker, expected, "key-barge"))
        async with websockets.connect(f"{base}/carrier/twilio/stream") as ws:
            carrier = Carrier(ws, Dialect.TWILIO, g711.G711Law.PCMU)
            reader = asyncio.create_task(carrier.read())
            await ws.send(start_message(Dialect.TWILIO, expected.parameters))
            await carrier.play(np.zeros(8000, np.int16))  # the greeting is playing
            speech_at = time.monotonic()
            await carrier.play(caller_says("Sí, con ella habla, dígame."))
            await carrier.play(np.zeros(4000, np.int16))
            await ws.send(json.dumps({"event": "stop", "stop": {}}))
            result, leg = await asyncio.wait_for(holding, 15)
            await reader
    clears = [at for at, m in carrier.received if m["event"] == "clear"]
    assert clears, "no clear was sent on barge-in"
    assert clears[0] > speech_at
    assert carrier.events("clear")[0] == {"event": "clear", "streamSid": "MZ0001"}
    # After the clear, nothing more of the interrupted greeting was sent.
    after = [m for at, m in carrier.received if at > clears[0] and m["event"] == "media"]
    assert len(after) <= 2 or result.transcript.count("Agente:") >= 2
    assert any(e.type == "interruption" for e in line.records["key-barge"].events)
    assert leg.figures.clears >= 1


@pytest.mark.parametrize(
    ("what", "parameters", "path"),
    [
        ("no token", {}, "twilio"),
        ("unknown token", {"token": "guess", "call_key": "key-x"}, "twilio"),
        ("another call's key", {"call_key": "key-other"}, "twilio"),
        ("another carrier", {}, "telnyx"),
        ("not a carrier", {}, "vonage"),
    ],
)
async def test_streams_nobody_expects_are_closed_and_touch_nothing(
    what: str, parameters: dict[str, str], path: str
) -> None:
    broker = StreamBroker()
    expected = broker.expect("key-x", Dialect.TWILIO)
    sent = {**expected.parameters, **parameters} if what != "no token" else {}
    if what == "no token":
        sent = {"call_key": "key-x"}
    dialect = Dialect.TELNYX if path == "telnyx" else Dialect.TWILIO
    async with (
        media_worker(broker) as base,
        websockets.connect(f"{base}/carrier/{path}/stream") as ws,
    ):
        code = await refusal(ws, start_message(dialect, sent))
    assert code == 1008
    # The call still waits for its own stream, with its token still good.
    assert not expected.leg.done()
    assert len(broker) == 1


async def test_a_token_opens_one_stream_only() -> None:
    broker = StreamBroker()
    expected = broker.expect("key-once", Dialect.TWILIO)
    async with (
        media_worker(broker) as base,
        websockets.connect(f"{base}/carrier/twilio/stream") as first,
    ):
        await first.send(start_message(Dialect.TWILIO, expected.parameters))
        await asyncio.wait_for(expected.leg, 5)
        async with websockets.connect(f"{base}/carrier/twilio/stream") as second:
            code = await refusal(second, start_message(Dialect.TWILIO, expected.parameters))
        assert code == 1008
        expected.finished.set()


async def test_a_key_pressed_on_the_phone_confirms_the_promise() -> None:
    # The caller speaks twice (espeak-ng, heard as these transcripts), then presses "1"
    # when the agent reads the promise back ("marque 1": the flow's `keys`).
    stt = ScriptedSTT(["Sí, con ella habla.", "Doscientos mil pesos el viernes."])
    # No early transcription: each utterance is transcribed once, in script order.
    line = ConversationLine(
        agent_for=lambda request: flow_agent_for(request, SessionConfig(early_transcribe_ms=None)),
        stt=stt,
        tts=ScriptedTTS(),
    )
    broker = StreamBroker()
    expected = broker.expect("key-dtmf", Dialect.TWILIO)
    async with media_worker(broker) as base:
        holding = asyncio.create_task(hold(line, broker, expected, "key-dtmf"))
        async with websockets.connect(f"{base}/carrier/twilio/stream") as ws:
            carrier = Carrier(ws, Dialect.TWILIO, g711.G711Law.PCMU)
            reader = asyncio.create_task(carrier.read())
            await ws.send(start_message(Dialect.TWILIO, expected.parameters))
            for words in ("Sí, con ella habla.", "Doscientos mil pesos el viernes."):
                await until_agent_quiet(carrier)
                # A carrier streams all the time: the silence after the words ends them.
                await carrier.play(np.concatenate([caller_says(words), np.zeros(8000, np.int16)]))
            await until_agent_quiet(carrier)
            dtmf = {"track": "inbound_track", "digit": "1"}
            await ws.send(json.dumps({"event": "dtmf", "streamSid": "MZ0001", "dtmf": dtmf}))
            await carrier.play(np.zeros(8000 * 3, np.int16))
            await ws.send(json.dumps({"event": "stop", "stop": {}}))
            result, leg = await asyncio.wait_for(holding, 30)
            await reader
    record = line.records["key-dtmf"]
    assert result.outcome is CallOutcome.PROMISE_TO_PAY, record.transcript_text()
    assert "[teclado: 1]" in record.transcript_text()
    assert [e.payload["digit"] for e in record.events if e.type == "dtmf"] == ["1"]
    assert leg.figures.digits == ["1"]


async def until_agent_quiet(carrier: Carrier, quiet_s: float = 1.0, limit_s: float = 20) -> None:
    """Wait until the agent has spoken and then sent nothing for `quiet_s`."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        media = [at for at, m in carrier.received if m["event"] == "media"]
        if media and time.monotonic() - media[-1] > quiet_s:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the agent never finished speaking")


GREETING = "Hola, ha llamado al buzón de voz de María. Deje su mensaje después de la señal."


def machine_answers() -> np.ndarray:
    """A voicemail at 8 kHz: its greeting, a pause, the beep, then it records."""
    rate = g711.SAMPLE_RATE
    return np.concatenate(
        [
            caller_says(GREETING),
            np.zeros(rate // 2, np.int16),
            tone(1000, 0.5, rate),
            np.zeros(rate * 8, np.int16),
        ]
    )


@pytest.mark.parametrize("choice", ["leave_message", "hang_up"])
async def test_a_voicemail_gets_the_message_after_its_beep_or_is_hung_up_on(choice: str) -> None:
    def agent_for(request: DialRequest) -> AgentSetup:
        setup = flow_agent_for(request, SessionConfig(early_transcribe_ms=None))
        setup.config.voicemail = choice  # type: ignore[assignment]
        return setup

    stt = ScriptedSTT([GREETING, GREETING])
    line = ConversationLine(agent_for=agent_for, stt=stt, tts=ScriptedTTS())
    broker = StreamBroker()
    expected = broker.expect("key-machine", Dialect.TWILIO)
    async with media_worker(broker) as base:
        holding = asyncio.create_task(hold(line, broker, expected, "key-machine"))
        async with websockets.connect(f"{base}/carrier/twilio/stream") as ws:
            carrier = Carrier(ws, Dialect.TWILIO, g711.G711Law.PCMU)
            reader = asyncio.create_task(carrier.read())
            await ws.send(start_message(Dialect.TWILIO, expected.parameters))
            started = time.monotonic()
            playing = asyncio.create_task(carrier.play(machine_answers()))
            result, _ = await asyncio.wait_for(holding, 40)
            playing.cancel()
            await asyncio.gather(playing, return_exceptions=True)
            await reader
    record = line.records["key-machine"]
    said = " ".join(text for who, text in record.transcript if who == "agent")
    assert result.outcome is CallOutcome.VOICEMAIL, record.transcript_text()
    greeting_s = caller_says(GREETING).size / g711.SAMPLE_RATE
    beep_end = started + greeting_s + 1.0
    after_beep = [at for at, m in carrier.received if m["event"] == "media" and at > beep_end]
    if choice == "leave_message":
        assert "devuélvanos el llamado" in said  # the flow's voicemail message
        assert after_beep, "nothing was said after the beep"
        for secret in ("200.000", "200000", "cuota", "deuda", "pendiente"):
            assert secret not in said  # a machine is no place to disclose the debt
    else:
        assert "devuélvanos el llamado" not in said
        assert not after_beep
        assert result.disconnection_reason == "voicemail"


class MenuNavigator(AgentBrain):
    """An agent that meets an automated menu: it presses 2, then waits."""

    async def _start(self) -> AgentReply:
        return AgentReply(say=["Un momento."], dtmf="2")

    async def _respond(self, turn: BrainTurn) -> AgentReply:
        return AgentReply()


async def test_keys_the_agent_presses_reach_the_phone_as_tones() -> None:
    def agent_for(request: DialRequest) -> AgentSetup:
        return AgentSetup(brain=MenuNavigator(), config=SessionConfig())

    line = ConversationLine(agent_for=agent_for, stt=ScriptedSTT(), tts=ScriptedTTS())
    broker = StreamBroker()
    expected = broker.expect("key-ivr", Dialect.TWILIO)
    async with media_worker(broker) as base:
        holding = asyncio.create_task(hold(line, broker, expected, "key-ivr"))
        async with websockets.connect(f"{base}/carrier/twilio/stream") as ws:
            carrier = Carrier(ws, Dialect.TWILIO, g711.G711Law.PCMU)
            reader = asyncio.create_task(carrier.read())
            await ws.send(start_message(Dialect.TWILIO, expected.parameters))
            await carrier.play(np.zeros(8000 * 2, np.int16))
            await ws.send(json.dumps({"event": "stop", "stop": {}}))
            await asyncio.wait_for(holding, 15)
            await reader
    heard = carrier.agent_audio()
    keys = {detect_key(heard[at : at + 800], g711.SAMPLE_RATE) for at in range(0, heard.size, 400)}
    assert "2" in keys  # after the line, the menu heard its option
    assert keys <= {"2", None}


async def test_a_carrier_that_never_plays_our_marks_back_cannot_hold_a_call_open() -> None:
    # This carrier answers no mark and never stops its stream (bolna PR 1050: calls
    # left up when mark acknowledgements stopped). The maximum duration ends the call.
    def agent_for(request: DialRequest) -> AgentSetup:
        return flow_agent_for(request, SessionConfig(max_duration_s=8.0))

    line = ConversationLine(agent_for=agent_for, stt=ScriptedSTT(), tts=ScriptedTTS())
    broker = StreamBroker()
    expected = broker.expect("key-no-marks", Dialect.TWILIO)
    async with media_worker(broker) as base:
        holding = asyncio.create_task(hold(line, broker, expected, "key-no-marks"))
        async with websockets.connect(f"{base}/carrier/twilio/stream") as ws:
            carrier = Carrier(ws, Dialect.TWILIO, g711.G711Law.PCMU)
            reader = asyncio.create_task(carrier.read())
            await ws.send(start_message(Dialect.TWILIO, expected.parameters))
            silence = asyncio.create_task(carrier.play(np.zeros(8000 * 20, np.int16)))
            result, leg = await asyncio.wait_for(holding, 15)
            await asyncio.wait_for(carrier.closed.wait(), 5)  # we closed the stream
            silence.cancel()
            await asyncio.gather(silence, reader, return_exceptions=True)
    assert result.disconnection_reason == "max_duration"
    assert leg.figures.marks_sent >= 1
    assert leg.figures.marks_played == 0
