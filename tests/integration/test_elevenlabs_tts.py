"""ElevenLabs through its SDK against a local fake of the streaming endpoint."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from realtime.audio.frames import frame_to_pcm16
from realtime.audio.playback import AgentVoiceTrack
from realtime.providers.base import ProviderError
from realtime.providers.elevenlabs import ElevenLabsTTS
from realtime.session.record import CallRecord, TurnMetrics
from realtime.session.speech import AgentSpeech
from tests.support.fakes.elevenlabs_server import API_KEY, FakeElevenLabs

pytestmark = pytest.mark.integration

LONG = (
    "Le llamamos de parte de Financiera Andes por su cuenta con nosotros, "
    "que tiene un saldo pendiente desde el mes pasado."
)
MEDIUM = "Le llamamos de parte de Financiera Andes por su cuenta."


def voice(base_url: str, key: str = API_KEY) -> ElevenLabsTTS:
    return ElevenLabsTTS(api_key=key, voices={"es": "sofia", "*": "any"}, base_url=base_url)


async def test_a_sentence_streams_as_pcm_at_the_tracks_rate() -> None:
    async with FakeElevenLabs() as fake:
        tts = voice(fake.base_url)
        audio = await tts.synthesize("Hola, ¿hablo con María?", language="es-CL")
    assert audio.sample_rate == 48_000  # no resampling before the voice track
    assert audio.samples.dtype == np.int16
    assert audio.samples.size / 48_000 > 0.8  # about a second of speech
    assert float(np.abs(audio.samples).max()) > 1000  # speech, not silence
    assert audio.characters == len("Hola, ¿hablo con María?")
    assert audio.first_audio_ms is not None
    assert tts.first_audio_samples_ms == [audio.first_audio_ms]
    [sent] = fake.requests
    assert sent["voice_id"] == "sofia"
    assert sent["key"] == API_KEY
    assert sent["output_format"] == "pcm_48000"
    assert sent["model_id"] == "eleven_flash_v2_5"


async def test_a_language_without_its_own_voice_gets_the_catch_all() -> None:
    async with FakeElevenLabs() as fake:
        await voice(fake.base_url).synthesize("Hello.", language="en")
    assert fake.requests[0]["voice_id"] == "any"


async def test_a_bad_key_is_a_permanent_failure() -> None:
    async with FakeElevenLabs() as fake:
        with pytest.raises(ProviderError, match="401") as err:
            await voice(fake.base_url, key="wrong").synthesize("Hola.", language="es")
    assert not err.value.transient


async def test_a_server_error_is_transient_and_retried() -> None:
    async with FakeElevenLabs(fail="500") as fake:
        tts = ElevenLabsTTS(api_key=API_KEY, voices={"*": "v"}, base_url=fake.base_url, retries=1)
        with pytest.raises(ProviderError, match="500") as err:
            await tts.synthesize("Hola.", language="es")
    assert err.value.transient
    assert len(fake.requests) == 2  # retried once


async def test_a_stalled_voice_times_out() -> None:
    async with FakeElevenLabs(fail="slow") as fake:
        tts = ElevenLabsTTS(
            api_key=API_KEY, voices={"*": "v"}, base_url=fake.base_url, timeout_s=0.5
        )
        with pytest.raises(ProviderError, match="timed out"):
            await tts.synthesize("Hola.", language="es")


async def test_a_stream_hands_over_its_first_piece_long_before_its_last() -> None:
    # 10 ms per 4 kB (43 ms of audio) chunk: a voice that synthesises as it streams.
    async with FakeElevenLabs(chunk_delay_s=0.01) as fake:
        tts = voice(fake.base_url)
        whole = await tts.synthesize(LONG, language="es")
        started = time.perf_counter()
        arrivals: list[float] = []
        pieces: list[np.ndarray] = []
        async for piece in tts.stream(LONG, language="es"):
            arrivals.append(time.perf_counter() - started)
            pieces.append(piece.samples)
            assert piece.sample_rate == 48_000
    assert len(pieces) > 20
    assert arrivals[0] < arrivals[-1] / 5  # the first piece came early in the stream
    streamed = np.concatenate(pieces)
    assert np.array_equal(streamed, whole.samples)  # odd-sized chunks decoded exactly


async def test_a_stream_dropped_halfway_fails_after_its_first_pieces() -> None:
    async with FakeElevenLabs(fail="drop") as fake:
        received: list[int] = []

        async def listen() -> None:
            async for piece in voice(fake.base_url).stream(LONG, language="es"):
                received.append(piece.samples.size)

        with pytest.raises(ProviderError, match="unreachable"):
            await listen()
    assert sum(received) > 0


async def test_the_agent_is_heard_from_the_first_piece_while_the_rest_streams() -> None:
    async with FakeElevenLabs(chunk_delay_s=0.02) as fake:  # about twice real time
        first_frames: list[float] = []
        track = AgentVoiceTrack(on_first_frame=lambda _, at: first_frames.append(at))
        record = CallRecord(call_id="stream-1", language="es")
        speech = AgentSpeech(record=record, voice=track, tts=voice(fake.base_url), language="es")
        heard: list[np.ndarray] = []

        async def caller() -> None:
            while True:
                heard.append(frame_to_pcm16(await track.recv()))

        listening = asyncio.create_task(caller())
        started = time.monotonic()
        turn = TurnMetrics(index=0)
        await speech.say(MEDIUM, first_of=turn)
        streamed_s = time.monotonic() - started
        await asyncio.wait_for(speech.wait_idle(), 15)
        listening.cancel()
    first_frame_s = first_frames[0] - started
    assert turn.tts_first_audio_ms is not None
    assert turn.tts_first_audio_ms < streamed_s * 1000 / 5  # playing long before the end
    assert 0 < first_frame_s < streamed_s / 3, (first_frame_s, streamed_s)
    assert record.transcript == [("agent", MEDIUM)]
    voiced = sum(1 for chunk in heard if np.abs(chunk).max() > 300)
    assert voiced * 0.02 > 1.5  # the whole sentence played, not only its first piece
