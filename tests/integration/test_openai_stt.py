"""The hosted recogniser through the real `openai` client against a local fake of the API.

The fake speaks OpenAI's transcription protocol over 127.0.0.1 and transcribes the
uploaded WAV with the embedded faster-whisper, so the words are real; espeak-ng says
them. Retries, deadlines and failure classes are the base class's, as for every
provider.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from centralita.understanding.text import strip_accents
from realtime.providers.base import ProviderError
from realtime.providers.espeak import EspeakTTS
from realtime.providers.openai_stt import OpenAISTT
from tests.support.fakes.openai_stt_server import FakeOpenAITranscription, Scripted

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"),
]


def plain(text: str) -> str:
    """Lower case, no accents: what the assertions compare."""
    return strip_accents(text.casefold())


@pytest.fixture(scope="module")
async def friday() -> np.ndarray:
    tts = EspeakTTS(output_rate=16_000)
    audio = await tts.synthesize("I will pay on Friday.", language="en")
    return np.asarray(audio.samples, dtype=np.int16)


def hosted(fake: FakeOpenAITranscription, **options: object) -> OpenAISTT:
    settings: dict[str, object] = {"timeout_s": 30.0, "retries": 2, **options}
    return OpenAISTT(
        model="whisper-1",
        api_key="sk-test",
        base_url=fake.base_url,
        **settings,  # type: ignore[arg-type]
    )


async def test_text_words_language_and_prompt_travel(friday: np.ndarray) -> None:
    async with FakeOpenAITranscription() as fake:
        stt = hosted(fake)
        heard = await stt.transcribe(
            friday, language="en-US", hints=["Friday"], context="Debt collection call"
        )
    assert "friday" in plain(heard.text)
    assert heard.language == "en"  # the API's "english", as a code
    assert [w.text for w in heard.words][-1].lower().startswith("friday")
    assert all(0.0 < w.probability <= 1.0 for w in heard.words)
    assert heard.words == sorted(heard.words, key=lambda w: w.start)
    assert 0.0 < heard.confidence <= 1.0
    assert heard.audio_s == pytest.approx(friday.size / 16_000)
    sent = fake.requests[0]
    assert sent["model"] == "whisper-1"
    assert sent["language"] == "en"
    assert sent["prompt"] == "Debt collection call. Friday."
    assert sent["response_format"] == "verbose_json"
    assert sent["timestamp_granularities"] == ["word", "segment"]
    assert sent["sample_rate"] == 16_000  # a WAV of the utterance, as sent
    assert sent["audio_s"] == pytest.approx(friday.size / 16_000)
    assert sent["authorization"] == "Bearer sk-test"


async def test_a_429_then_success_is_retried(friday: np.ndarray) -> None:
    async with FakeOpenAITranscription([Scripted(fail="429"), Scripted(text="Friday.")]) as fake:
        stt = hosted(fake)
        heard = await stt.transcribe(friday, language="en")
    assert heard.text == "Friday."
    assert len(fake.requests) == 2
    assert stt.metrics.retries == 1
    assert stt.metrics.failures == 0


async def test_server_errors_until_the_retries_run_out_fail_transiently(
    friday: np.ndarray,
) -> None:
    async with FakeOpenAITranscription([Scripted(fail="500")] * 3) as fake:
        stt = hosted(fake, retries=2)
        with pytest.raises(ProviderError) as caught:
            await stt.transcribe(friday, language="en")
    assert caught.value.transient
    assert "500" in str(caught.value)
    assert len(fake.requests) == 3
    assert stt.metrics.failures == 1


async def test_a_stalled_server_times_out_as_a_transient_error(friday: np.ndarray) -> None:
    async with FakeOpenAITranscription([Scripted(fail="slow")], slow_s=5.0) as fake:
        stt = hosted(fake, timeout_s=0.5, retries=0)
        with pytest.raises(ProviderError) as caught:
            await stt.transcribe(friday, language="en")
    assert caught.value.transient
    assert "timed out" in str(caught.value)
    assert stt.metrics.timeouts + stt.metrics.failures >= 1


async def test_a_400_is_not_retried(friday: np.ndarray) -> None:
    async with FakeOpenAITranscription([Scripted(fail="400"), Scripted(text="never")]) as fake:
        stt = hosted(fake, retries=3)
        with pytest.raises(ProviderError) as caught:
            await stt.transcribe(friday, language="en")
    assert not caught.value.transient
    assert len(fake.requests) == 1
    assert stt.metrics.retries == 0


async def test_a_bad_key_is_not_retried(friday: np.ndarray) -> None:
    async with FakeOpenAITranscription([Scripted(fail="401")]) as fake:
        stt = hosted(fake, retries=3)
        with pytest.raises(ProviderError) as caught:
            await stt.transcribe(friday, language="en")
    assert not caught.value.transient
    assert "Incorrect API key" in str(caught.value)
    assert len(fake.requests) == 1


async def test_a_server_without_verbose_json_gives_text_with_unknown_confidence(
    friday: np.ndarray,
) -> None:
    script = [Scripted(fail="plain_only"), Scripted(fail="plain_only")]
    async with FakeOpenAITranscription(script) as fake:
        stt = hosted(fake)
        first = await stt.transcribe(friday, language="en")
        second = await stt.transcribe(friday, language="en")
    assert "friday" in plain(first.text)
    assert first.words == []
    assert first.confidence == 0.0
    assert second.text == first.text
    formats = [r["response_format"] for r in fake.requests]
    assert formats == ["verbose_json", "json", "json"]  # refused once, then plain


async def test_gpt_4o_models_ask_for_plain_text(friday: np.ndarray) -> None:
    async with FakeOpenAITranscription() as fake:
        stt = OpenAISTT(model="gpt-4o-transcribe", api_key="k", base_url=fake.base_url)
        heard = await stt.transcribe(friday, language="en")
    assert "friday" in plain(heard.text)
    assert fake.requests[0]["response_format"] == "json"
    assert (
        "timestamp_granularities" not in fake.requests[0]
        or not (fake.requests[0]["timestamp_granularities"])
    )


async def test_empty_audio_sends_nothing() -> None:
    async with FakeOpenAITranscription() as fake:
        stt = hosted(fake)
        heard = await stt.transcribe(np.zeros(0, dtype=np.int16), language="es")
    assert heard.text == ""
    assert heard.audio_s == 0.0
    assert fake.requests == []
