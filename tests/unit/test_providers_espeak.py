"""espeak-ng synthesis."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from realtime.providers.base import ProviderError
from realtime.providers.espeak import EspeakTTS, resample

pytestmark = pytest.mark.unit

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"
)


def test_resample_changes_length_by_the_rate_ratio() -> None:
    tone = (1000 * np.sin(np.arange(22_050) / 10)).astype(np.int16)
    out = resample(tone, 22_050, 16_000)
    assert out.dtype == np.int16
    assert out.size == 16_000
    assert resample(tone, 16_000, 16_000) is tone


@needs_espeak
async def test_synthesises_a_spanish_sentence() -> None:
    tts = EspeakTTS()
    text = "Le llamo por su deuda de doscientos mil pesos."
    audio = await tts.synthesize(text, language="es")
    samples = audio.samples
    assert isinstance(samples, np.ndarray)
    assert samples.dtype == np.int16
    assert samples.ndim == 1
    assert audio.sample_rate == 22_050  # espeak-ng's own rate
    assert samples.size / audio.sample_rate > 0.5
    assert np.abs(samples).max() > 1000  # speech, not silence
    assert audio.characters == len(text)
    assert tts.metrics.calls == 1


@needs_espeak
async def test_picks_the_latin_american_voice_and_english() -> None:
    tts = EspeakTTS()
    assert await tts.voice_for("es") == "es-419"
    assert await tts.voice_for("es-CL") == "es-419"
    assert await tts.voice_for("es-ES") == "es"
    assert await tts.voice_for("en") == "en-us"


@needs_espeak
async def test_output_rate_and_speed() -> None:
    text = "Puede pagar el viernes."
    slow = await EspeakTTS(speed_wpm=120, output_rate=16_000).synthesize(text, language="es")
    fast = await EspeakTTS(speed_wpm=240, output_rate=16_000).synthesize(text, language="es")
    assert slow.sample_rate == fast.sample_rate == 16_000
    assert slow.samples.size > 1.4 * fast.samples.size


@needs_espeak
async def test_empty_text_gives_empty_audio() -> None:
    tts = EspeakTTS(executable="/nonexistent/espeak-ng")  # proves no process is started
    audio = await tts.synthesize("   ", language="es")
    assert audio.samples.size == 0
    assert audio.characters == 0


@needs_espeak
async def test_a_bad_voice_is_a_permanent_error() -> None:
    tts = EspeakTTS(retries=2)
    with pytest.raises(ProviderError, match="voice") as info:
        await tts.synthesize("Hola.", language="es", voice="zz-no-such-voice")
    assert info.value.transient is False
    assert tts.metrics.retries == 0  # not retried
    assert tts.metrics.failures == 1


async def test_a_missing_binary_names_the_package() -> None:
    tts = EspeakTTS(executable="/nonexistent/espeak-ng")
    with pytest.raises(ProviderError, match="apt-get install espeak-ng") as info:
        await tts.synthesize("Hola.", language="es", voice="es")
    assert info.value.transient is False


def test_rejects_out_of_range_settings() -> None:
    with pytest.raises(ValueError, match="speed_wpm"):
        EspeakTTS(speed_wpm=10)
    with pytest.raises(ValueError, match="pitch"):
        EspeakTTS(pitch=120)
