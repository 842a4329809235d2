"""ElevenLabs through its SDK against a local fake of the streaming endpoint."""

from __future__ import annotations

import numpy as np
import pytest

from realtime.providers.base import ProviderError
from realtime.providers.elevenlabs import ElevenLabsTTS
from tests.fakes.elevenlabs_server import API_KEY, FakeElevenLabs

pytestmark = pytest.mark.integration


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
