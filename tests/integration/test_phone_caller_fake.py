"""The fake carrier media stream (`PhoneCaller`) against a trivial agent on loopback.

The agent here is a bare WebSocket server: it records what the fake sends (and when),
and plays a scripted part: tones in G.711, marks, a clear, malformed frames, closing
the socket. The caller's voice is a tone (`ScriptedTTS`), so what the fake sends can be
checked by its spectrum after decoding.

Timing is only checked in the direction a loaded machine cannot break: audio is never
sent or played faster than real time (a stall only makes things later).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from centralita.kernel.pcm import Pcm16
from realtime.audio import g711
from realtime.audio.g711 import G711Law
from realtime.softphone.script import BotLine, BotScript
from tests.support.fakes.phone_caller import PhoneCaller
from tests.support.providers import ScriptedTTS

pytestmark = pytest.mark.integration

TONE_HZ = 440.0
RATE = 8000
# Waits for the agent's side: far past anything a call here takes, to fail rather than hang.
WAIT_S = 30.0


def tone(seconds: float) -> Pcm16:
    """A 440 Hz tone at 8 kHz, as loud as speech."""
    t = np.arange(round(seconds * RATE)) / RATE
    return (0.3 * 32767 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)


def b64(audio: bytes) -> str:
    return base64.b64encode(audio).decode("ascii")


def tone_purity(samples: Pcm16) -> float:
    """The share of the signal's energy within 30 Hz of the tone."""
    signal = samples.astype(np.float64) - samples.mean()
    power = np.abs(np.fft.rfft(signal)) ** 2
    freqs = np.fft.rfftfreq(signal.size, 1 / RATE)
    return float(power[np.abs(freqs - TONE_HZ) < 30].sum() / power.sum())


def voiced(samples: Pcm16) -> Pcm16:
    """The 20 ms frames louder than speech, joined."""
    frames = samples[: samples.size // 160 * 160].reshape(-1, 160)
    loud = np.sqrt(np.mean(frames.astype(np.float32) ** 2, axis=1)) > 1000
    out: Pcm16 = frames[loud].reshape(-1)
    return out


@dataclass
class Arrival:
    at: float  # time.monotonic() when the agent read it
    message: dict[str, Any]


@dataclass
class Agent:
    """A trivial agent's WebSocket: it records the carrier's messages and runs `scenario`.

    Once the scenario returns, the agent listens until the carrier hangs up (or the
    scenario closed the socket itself). A failed assertion in the scenario ends up in
    `finished`.
    """

    scenario: Callable[[Agent], Awaitable[None]]
    arrivals: list[Arrival] = field(default_factory=list)
    path: str = ""
    ws: ServerConnection | None = None
    finished: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [arrival.message for arrival in self.arrivals]

    def of(self, event: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("event") == event]

    async def handle(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.path = ws.request.path if ws.request is not None else ""
        reader = asyncio.create_task(self._read(ws))
        try:
            await self.scenario(self)
            await reader
            self.finished.set_result(None)
        except Exception as exc:
            self.finished.set_exception(exc)
            await ws.close()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _read(self, ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                self.arrivals.append(Arrival(time.monotonic(), json.loads(raw)))
                self._changed.set()

    async def wait_for(self, event: str, **fields: Any) -> Arrival:
        """The first message of `event` whose top-level or nested fields match."""

        def matches(message: dict[str, Any]) -> bool:
            if message.get("event") != event:
                return False
            inner = message.get(event)
            return all(
                message.get(k) == v or (isinstance(inner, dict) and inner.get(k) == v)
                for k, v in fields.items()
            )

        async with asyncio.timeout(WAIT_S):
            while True:
                for arrival in self.arrivals:
                    if matches(arrival.message):
                        return arrival
                self._changed.clear()
                await self._changed.wait()

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        assert self.ws is not None
        await self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))


@asynccontextmanager
async def agent_at(
    scenario: Callable[[Agent], Awaitable[None]],
) -> AsyncIterator[tuple[str, Agent]]:
    """An agent's WebSocket on a free loopback port: its base URL, and the agent."""
    agent = Agent(scenario)
    async with serve(agent.handle, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}", agent


async def call(caller: PhoneCaller, url: str, agent: Agent) -> None:
    """Run the call to its end, and the agent's scenario with it."""
    async with asyncio.timeout(WAIT_S):
        await caller.run(url)
        await agent.finished


def own_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("phone_caller:")]


# -- Twilio ------------------------------------------------------------------------------


async def test_twilio_streams_the_callers_voice_at_real_time_and_stops_when_the_script_ends() -> (
    None
):
    async def quiet_agent(agent: Agent) -> None:
        start = (await agent.wait_for("start")).message
        assert start["start"]["customParameters"] == {"tenant": "acme", "contact": "c-1"}

    caller = PhoneCaller(
        BotScript(lines=[BotLine(say="hola, buenas tardes")], speaks_first=True, linger_s=0.4),
        ScriptedTTS(sample_rate=16_000),
        dialect="twilio",
        parameters={"tenant": "acme", "contact": "c-1"},
    )

    async def press_a_key() -> None:
        await caller.wait_started()
        await caller.send_dtmf("1")

    async with agent_at(quiet_agent) as (base, agent):
        keys = asyncio.create_task(press_a_key())
        await call(caller, f"{base}/media/twilio?token=dropped", agent)
        await keys
    report = caller.report

    assert agent.path == "/media/twilio"  # Twilio drops the query string
    assert report.hung_up_by == "caller"
    assert not report.timed_out
    assert report.bot.lines_said == ["hola, buenas tardes"]
    sid = report.stream_sid
    assert sid.startswith("MZ")
    assert len(sid) == 34
    assert report.call_sid.startswith("CA")
    messages = agent.messages
    assert messages[0] == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    assert messages[1] == {
        "event": "start",
        "sequenceNumber": "1",
        "start": {
            "accountSid": report.account_sid,
            "streamSid": sid,
            "callSid": report.call_sid,
            "tracks": ["inbound"],
            "customParameters": {"tenant": "acme", "contact": "c-1"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
        "streamSid": sid,
    }
    assert messages[-1] == {
        "event": "stop",
        "sequenceNumber": str(len(messages) - 1),
        "stop": {"accountSid": report.account_sid, "callSid": report.call_sid},
        "streamSid": sid,
    }
    assert [m["sequenceNumber"] for m in messages[1:]] == [str(n) for n in range(1, len(messages))]
    assert agent.of("dtmf") == [
        {
            "event": "dtmf",
            "sequenceNumber": agent.of("dtmf")[0]["sequenceNumber"],
            "streamSid": sid,
            "dtmf": {"track": "inbound_track", "digit": "1"},
        }
    ]

    media = [a for a in agent.arrivals if a.message["event"] == "media"]
    assert len(media) == report.media_sent > 50
    assert {m.message["streamSid"] for m in media} == {sid}
    assert [m.message["media"]["chunk"] for m in media] == [
        str(n) for n in range(1, len(media) + 1)
    ]
    assert {m.message["media"]["track"] for m in media} == {"inbound"}
    timestamps = [int(m.message["media"]["timestamp"]) for m in media]
    assert timestamps[0] == 0
    assert all(t % 20 == 0 for t in timestamps)
    assert all(b > a for a, b in itertools.pairwise(timestamps))
    # Never ahead of real time: the media stamped t ms arrives t ms after the start or later.
    assert report.stream_started_at is not None
    for arrival, stamp in zip(media, timestamps, strict=True):
        assert arrival.at - report.stream_started_at >= stamp / 1000 - 0.002

    payloads = [base64.b64decode(m.message["media"]["payload"]) for m in media]
    assert {len(p) for p in payloads} == {160}
    heard = voiced(g711.decode(b"".join(payloads), G711Law.PCMU))
    # The line is 19 characters of 60 ms: 1.14 s of tone, every frame of it sent.
    assert 1.0 <= heard.size / RATE <= 1.2
    assert tone_purity(heard) > 0.9
    assert not own_tasks()


async def test_twilio_plays_out_the_agents_audio_echoing_marks_and_dropping_it_on_clear() -> None:
    timings: dict[str, float] = {}

    async def agent_with_marks(agent: Agent) -> None:
        sid = (await agent.wait_for("start")).message["streamSid"]

        def media(audio: Pcm16) -> dict[str, Any]:
            payload = b64(g711.encode(audio, G711Law.PCMU))
            return {"event": "media", "streamSid": sid, "media": {"payload": payload}}

        def mark(name: str) -> dict[str, Any]:
            return {"event": "mark", "streamSid": sid, "mark": {"name": name}}

        # What a carrier cannot use: ignored, and the call goes on.
        await agent.send("not json")
        await agent.send(b"\x00\x01")
        await agent.send("[1, 2]")
        await agent.send({"event": "dance", "streamSid": sid})
        await agent.send({"event": "media", "streamSid": sid, "media": {"payload": "**"}})
        await agent.send({"event": "mark", "streamSid": sid, "mark": {}})
        await agent.send({**media(tone(0.2)), "streamSid": "MZ" + "0" * 32})

        await agent.send(mark("nothing-queued"))
        timings["sent"] = time.monotonic()
        await agent.send(media(tone(1.0)))
        await agent.send(mark("one"))
        for frame in tone(0.4).reshape(-1, 160):
            await agent.send(media(frame))
        await agent.send(mark("half"))
        await agent.send(media(tone(2.6)))
        await agent.send(mark("end"))

        timings["one"] = (await agent.wait_for("mark", name="one")).at
        await agent.wait_for("mark", name="half")
        await agent.send({"event": "clear", "streamSid": sid})
        await agent.wait_for("mark", name="end")
        await asyncio.sleep(0.2)
        assert agent.ws is not None
        await agent.ws.close()

    caller = PhoneCaller(BotScript(lines=[], linger_s=60), ScriptedTTS(), dialect="twilio")
    async with agent_at(agent_with_marks) as (base, agent):
        await call(caller, base, agent)
    report = caller.report

    assert report.hung_up_by == "agent"
    assert report.close_code == 1000
    assert "stop" not in [m["event"] for m in agent.messages]  # the socket was gone
    assert len(report.ignored) == 7
    assert report.bytes_received == 8000 + 3200 + 20800
    echoed = agent.of("mark")
    assert [m["mark"]["name"] for m in echoed] == ["nothing-queued", "one", "half", "end"]
    assert {m["streamSid"] for m in echoed} == {report.stream_sid}
    assert [e.name for e in report.marks_echoed] == ["nothing-queued", "one", "half", "end"]
    assert [e.cleared for e in report.marks_echoed] == [False, False, False, True]
    sequence = [int(m["sequenceNumber"]) for m in agent.messages[1:]]
    assert sequence == list(range(1, len(sequence) + 1))
    # "one" came back once the second of audio before it had played, not sooner.
    assert timings["one"] - timings["sent"] >= 0.9

    [clear] = report.clears
    assert clear.marks_echoed == ["end"]
    assert clear.dropped_ms + report.played_ms == 4000  # every byte played or dropped
    assert report.played_ms >= 1400  # all before "half" played
    # After "half" came back, at most the time until the clear (and a tick) played.
    half = report.marks_echoed[2].at
    assert clear.dropped_ms >= 2600 - ((clear.at - half) * 1000 + 40)
    # Nothing came after the clear: the caller heard no agent speech after it.
    assert clear.heard_until is None
    assert clear.heard_after_ms == 0
    assert report.last_speech_heard_at is not None
    assert report.last_speech_heard_at < clear.at
    assert report.bot.speech_onsets  # the bot heard the tone as the agent talking
    assert not own_tasks()


async def test_a_clear_followed_by_more_agent_speech_is_heard_after_the_clear() -> None:
    async def talks_on(agent: Agent) -> None:
        sid = (await agent.wait_for("start")).message["streamSid"]

        async def send_tone(seconds: float) -> None:
            payload = b64(g711.encode(tone(seconds), G711Law.PCMU))
            await agent.send({"event": "media", "streamSid": sid, "media": {"payload": payload}})

        await send_tone(0.2)
        await agent.send({"event": "mark", "streamSid": sid, "mark": {"name": "begun"}})
        await send_tone(1.0)
        await agent.wait_for("mark", name="begun")
        await agent.send({"event": "clear", "streamSid": sid})
        await send_tone(0.5)  # an agent that goes on talking over the caller
        await asyncio.sleep(0.7)
        assert agent.ws is not None
        await agent.ws.close()

    caller = PhoneCaller(BotScript(lines=[], linger_s=60), ScriptedTTS(), dialect="twilio")
    async with agent_at(talks_on) as (base, agent):
        await call(caller, base, agent)

    [clear] = caller.report.clears
    assert clear.dropped_ms > 0
    # Half a second of tone played after the clear, at real time: 24 frames after the first.
    assert clear.heard_after_ms >= 460


# -- Telnyx ------------------------------------------------------------------------------


async def test_telnyx_a_law_call_with_errors_for_malformed_frames() -> None:
    greeting = g711.encode(tone(0.6), G711Law.PCMA)

    async def telnyx_agent(agent: Agent) -> None:
        start = (await agent.wait_for("start")).message
        assert start["start"]["media_format"] == {
            "encoding": "PCMA",
            "sample_rate": 8000,
            "channels": 1,
        }
        await agent.send("{oops")
        await agent.send({"event": "media", "media": {"payload": "not base64!"}})
        await agent.send({"event": "media", "media": {"payload": b64(greeting)}})
        await agent.send({"event": "mark", "mark": {"name": "greeting"}})
        await agent.wait_for("mark", name="greeting")

    caller = PhoneCaller(
        BotScript(lines=[BotLine(say="sí, soy yo")], think_ms=0, linger_s=0.3),
        ScriptedTTS(),
        dialect="telnyx",
        law=G711Law.PCMA,
        parameters={"tenant": "acme"},
        parameters_in="both",
        client_state="c3RhdGU=",
        record=True,
    )

    async def press_a_key() -> None:
        await caller.wait_started()
        await caller.send_dtmf("#")

    async with agent_at(telnyx_agent) as (base, agent):
        keys = asyncio.create_task(press_a_key())
        await call(caller, f"{base}/media/telnyx?leg=7", agent)
        await keys
    report = caller.report
    sid = report.stream_sid

    assert agent.path == "/media/telnyx?leg=7&tenant=acme"
    assert report.hung_up_by == "caller"
    messages = agent.messages
    assert messages[0] == {"event": "connected", "version": "1.0.0"}
    start = messages[1]
    assert start["event"] == "start"
    assert start["sequence_number"] == "1"
    assert start["stream_id"] == sid
    assert start["start"]["call_control_id"] == report.call_sid
    assert start["start"]["user_id"] == report.account_sid
    assert start["start"]["client_state"] == "c3RhdGU="
    assert start["start"]["custom_parameters"] == {"tenant": "acme"}
    assert messages[-1] == {
        "event": "stop",
        "sequence_number": messages[-1]["sequence_number"],
        "stop": {"user_id": report.account_sid, "call_control_id": report.call_sid},
        "stream_id": sid,
    }
    numbered = [int(m["sequence_number"]) for m in messages if "sequence_number" in m]
    assert numbered == list(range(1, len(numbered) + 1))
    assert [(e["payload"]["code"], e["payload"]["title"]) for e in agent.of("error")] == [
        (100003, "malformed_frame"),
        (100004, "invalid_media"),
    ]
    assert {e["stream_id"] for e in agent.of("error")} == {sid}
    assert report.errors_sent == [100003, 100004]
    [dtmf] = agent.of("dtmf")
    assert set(dtmf) == {"event", "stream_id", "occurred_at", "sequence_number", "dtmf"}
    assert dtmf["stream_id"] == sid
    assert dtmf["dtmf"] == {"digit": "#"}
    datetime.fromisoformat(dtmf["occurred_at"])
    [echo] = agent.of("mark")
    assert echo == {
        "event": "mark",
        "sequence_number": echo["sequence_number"],
        "mark": {"name": "greeting"},
        "stream_id": sid,
    }

    # The caller heard the greeting sample for sample as A-law decodes it (as µ-law it
    # would be loud static).
    assert report.heard is not None
    frames = report.heard.reshape(-1, 160)
    first = int(np.flatnonzero(np.any(frames != 0, axis=1))[0])
    heard = report.heard[first * 160 : first * 160 + len(greeting)]  # a byte a sample
    assert np.array_equal(heard, g711.decode(greeting, G711Law.PCMA))
    assert not np.array_equal(heard, g711.decode(greeting, G711Law.PCMU))

    # And spoke A-law: its line decodes, as A-law, to the tone it said.
    media = agent.of("media")
    assert {m["stream_id"] for m in media} == {sid}
    said = b"".join(base64.b64decode(m["media"]["payload"]) for m in media)
    assert tone_purity(voiced(g711.decode(said, G711Law.PCMA))) > 0.9
    assert report.bot.lines_said == ["sí, soy yo"]
    assert not own_tasks()


# -- hanging up, and what the carrier refuses ----------------------------------------------


async def test_the_agent_closing_the_socket_ends_the_call_and_stops_the_bot() -> None:
    async def hangs_up(agent: Agent) -> None:
        await agent.wait_for("media", chunk="5")
        assert agent.ws is not None
        await agent.ws.close()

    # The bot waits for the agent to speak, which never happens.
    caller = PhoneCaller(BotScript(lines=[BotLine(say="diga")]), ScriptedTTS(), dialect="telnyx")
    async with agent_at(hangs_up) as (base, agent):
        await call(caller, base, agent)

    assert caller.report.hung_up_by == "agent"
    assert caller.report.close_code == 1000
    assert caller.report.bot.lines_said == []
    assert caller.bot.voice.readyState == "ended"
    assert not own_tasks()
    with pytest.raises(RuntimeError):
        await caller.send_dtmf("1")  # the call is over
    with pytest.raises(RuntimeError):
        await caller.run(base)  # one call per caller


async def test_the_caller_hanging_up_early_sends_stop() -> None:
    async def waits(agent: Agent) -> None:
        await agent.wait_for("start")

    caller = PhoneCaller(BotScript(lines=[BotLine(say="diga")]), ScriptedTTS(), dialect="twilio")
    async with agent_at(waits) as (base, agent):
        running = asyncio.create_task(call(caller, base, agent))
        await agent.wait_for("media", chunk="3")
        caller.hang_up()
        await running

    assert caller.report.hung_up_by == "caller"
    assert agent.messages[-1]["event"] == "stop"


async def test_what_the_carriers_do_not_have_is_refused() -> None:
    script, tts = BotScript(), ScriptedTTS()
    with pytest.raises(ValueError, match="µ-law"):
        PhoneCaller(script, tts, dialect="twilio", law=G711Law.PCMA)
    with pytest.raises(ValueError, match="query"):
        PhoneCaller(script, tts, dialect="twilio", parameters_in="query")
    caller = PhoneCaller(script, tts, dialect="telnyx", law=G711Law.PCMA)
    with pytest.raises(ValueError, match="DTMF"):
        await caller.send_dtmf("x")
    with pytest.raises(RuntimeError, match="no call"):
        await caller.send_dtmf("1")  # not yet
