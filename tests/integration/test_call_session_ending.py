"""A call always ends: the agent hanging up mid-speech, the maximum duration, a stuck brain.

The session runs for real (endpointer, early transcription, playback, barge-in logic) on
a scripted caller's audio, paced in real time; the recogniser and the voice are
scripted providers, and the LLM agent is a local OpenAI-compatible server streaming real
chunks (`tests/support/fakes/openai_server.py`), slow where a real model is slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from centralita.kernel.calls import CallOutcome
from centralita.kernel.llm import LlmEndpoint
from centralita.kernel.pcm import Pcm16
from realtime.agents.flows.tools import ToolContext
from realtime.agents.llm.brain import LlmBrain
from realtime.agents.model_config import LlmConfig
from realtime.audio.playback import AgentVoiceTrack
from realtime.session.call_session import CallSession, SessionConfig
from realtime.session.record import CallRecord
from tests.support.fakes.openai_server import FakeOpenAI, Scripted, ScriptedToolCall
from tests.support.paced_track import FRAME, RATE, PacedTrack
from tests.support.providers import ScriptedSTT, ScriptedTTS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Santiago"))
VARIABLES = {"nombre": "María", "monto_total": 200000}


class ScriptedCaller(PacedTrack):
    """The caller's audio: spans of speech (a tone) and silence, then silence until hung up.

    Args:
        timeline: (seconds, speaking) spans in order.
    """

    def __init__(self, timeline: Sequence[tuple[float, bool]]) -> None:
        super().__init__()
        t = np.arange(FRAME, dtype=np.float32) / RATE
        tone = (0.3 * 32767 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
        silence = np.zeros(FRAME, dtype=np.int16)
        self._frames = [
            tone if speaking else silence
            for seconds, speaking in timeline
            for _ in range(round(seconds * 50))
        ]
        self._silence = silence

    def next_samples(self) -> Pcm16:
        return self._frames[self._sent] if self._sent < len(self._frames) else self._silence


@contextlib.asynccontextmanager
async def pulled(voice: AgentVoiceTrack) -> AsyncIterator[AgentVoiceTrack]:
    """The agent's voice track pulled in real time, as aiortc's sender pulls it."""

    async def pull() -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await voice.recv()

    task = asyncio.create_task(pull())
    try:
        yield voice
    finally:
        voice.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def llm_brain(base_url: str, greeting: str | None = "Hola, ¿hablo con {nombre}?") -> LlmBrain:
    config = LlmConfig(endpoint=LlmEndpoint(base_url=base_url, model="fake-1"))
    return LlmBrain(
        config,
        instructions="Eres Sofía, de Banco Sur. Hablas con {nombre}.",
        variables=VARIABLES,
        language="es-CL",
        tool_context=ToolContext(now=NOW, variables=VARIABLES),
        greeting=greeting,
    )


def session(
    brain: LlmBrain, stt: ScriptedSTT, voice: AgentVoiceTrack, **config: object
) -> CallSession:
    return CallSession(
        call_id="ending",
        brain=brain,
        stt=stt,
        tts=ScriptedTTS(),
        voice=voice,
        config=SessionConfig(**config),  # type: ignore[arg-type]
    )


async def run_timed(
    call: CallSession, caller: ScriptedCaller, limit_s: float
) -> tuple[CallRecord, float]:
    started = time.monotonic()
    try:
        record = await asyncio.wait_for(call.run(caller), limit_s)
    finally:
        caller.stop()
    return record, time.monotonic() - started


async def test_the_agent_ending_the_call_while_the_caller_talks_ends_it_with_its_outcome() -> None:
    # The caller disputes, pauses, and goes on talking; their second utterance ends while
    # the agent says its closing line (it began before the agent spoke, so it is no
    # barge-in) and is waiting when the agent hangs up. The model is slow to answer it.
    closing = "Entiendo, dejaré registrado su reclamo. Que tenga un buen día."
    script = [
        Scripted(
            text=closing,
            tool_calls=[ScriptedToolCall("end_call", {"outcome": "disputed"})],
            delay_s=0.5,
        ),
        Scripted(text="Disculpe, ¿me repite?", delay_s=20.0),
    ]
    caller = ScriptedCaller([(2.0, False), (1.0, True), (0.6, False), (2.4, True)])
    stt = ScriptedSTT(["No reconozco esa deuda.", "Yo nunca tuve cuenta con ustedes.", "..."])
    async with FakeOpenAI(script) as fake, pulled(AgentVoiceTrack()) as voice:
        call = session(llm_brain(fake.base_url), stt, voice)
        record, took_s = await run_timed(call, caller, limit_s=30.0)

    assert record.ended_by == "agent", record.events
    assert record.outcome is CallOutcome.DISPUTED
    # The closing line ends about 8 s in; the call must not wait for the slow model's
    # answer (20 s), nor hang until the test's own limit (30 s) as it did.
    assert took_s < 20.0, f"the call took {took_s:.1f} s to end"
    assert [e for e in record.events if e.type == "call_ended"]


async def test_the_maximum_duration_ends_a_call_whose_brain_never_answers() -> None:
    # The model never answers the first turn: the duration limit still ends the call,
    # whatever the conversation task is waiting on.
    script = [Scripted(text="Nunca llega.", fail="slow")]
    caller = ScriptedCaller([(2.0, False), (1.0, True)])
    stt = ScriptedSTT(["Sí, soy yo.", "..."])
    async with FakeOpenAI(script) as fake, pulled(AgentVoiceTrack()) as voice:
        call = session(llm_brain(fake.base_url), stt, voice, max_duration_s=5.0)
        record, took_s = await run_timed(call, caller, limit_s=30.0)

    assert record.ended_by == "max_duration", record.events
    # 5 s and 2 s for the parts to stop; it hung until the test's limit (30 s) before.
    assert took_s < 15.0, f"a 5 s call took {took_s:.1f} s to end"


async def test_the_maximum_duration_counts_the_greeting_too() -> None:
    # The model writes the greeting and stalls (it is retried once, 4 s each): the
    # limit ends the call while the greeting is still being waited for.
    script = [Scripted(fail="slow"), Scripted(fail="slow")]
    caller = ScriptedCaller([(30.0, False)])
    async with FakeOpenAI(script) as fake, pulled(AgentVoiceTrack()) as voice:
        brain = llm_brain(fake.base_url, greeting=None)
        call = session(brain, ScriptedSTT([]), voice, max_duration_s=3.0)
        record, took_s = await run_timed(call, caller, limit_s=30.0)

    # Before, the greeting was outside the limit: the model's two 4 s timeouts ended the
    # call as an error instead.
    assert record.ended_by == "max_duration", record.events
    assert took_s < 15.0, f"a 3 s call took {took_s:.1f} s to end"
