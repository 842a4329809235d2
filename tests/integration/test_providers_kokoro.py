"""Kokoro-82M speaking, heard back by the project's Whisper: the real model, real voices,
real espeak-ng phonemes, real faster-whisper.

The bound (WER <= 0.25) is loose enough for Whisper's own slips on a clean voice and
tight enough that wrong phonemes (a broken mapping, a wrong style row, a voice for the
other language) fail it: espeak-ng's own WER on these lines is in bench/tts.py.
"""

from __future__ import annotations

import re
import shutil
import time
import unicodedata
from pathlib import Path

import jiwer
import numpy as np
import pytest

from realtime.providers.base import ProviderError, SpeechAudio
from realtime.providers.espeak import resample
from realtime.providers.kokoro import SAMPLE_RATE, KokoroTTS
from realtime.providers.whisper import WhisperSTT

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"),
]

LINES = {
    "es": "Buenos días, le llamo del banco por su cuota pendiente. ¿Puede pagar este viernes?",
    "en": "Good morning, I am calling from the bank about your overdue payment. "
    "Can you pay it this Friday?",
}
LONG_LINE = (
    "Buenos días, le habla la asistente del banco. Le llamo por su cuota pendiente, que "
    "venció el lunes pasado, y quería saber si puede pagarla esta semana. Si prefiere, "
    "también podemos acordar otra fecha que le acomode mejor."
)


def words(text: str) -> str:
    """Lower case, no accents, no punctuation: what the WER compares."""
    folded = unicodedata.normalize("NFD", text.casefold())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w']+", " ", plain).replace("i'm", "i am").split())


@pytest.fixture(scope="module")
def tts() -> KokoroTTS:
    return KokoroTTS(threads=2, timeout_s=120)


@pytest.fixture(scope="module")
def stt(tmp_path_factory: pytest.TempPathFactory) -> WhisperSTT:
    return WhisperSTT(cache_dir=tmp_path_factory.mktemp("models"), cpu_threads=2, timeout_s=120)


@pytest.mark.parametrize("language", ["es", "en"])
async def test_whisper_hears_what_kokoro_says(
    tts: KokoroTTS, stt: WhisperSTT, language: str
) -> None:
    text = LINES[language]
    audio = await tts.synthesize(text, language=language)
    assert audio.sample_rate == SAMPLE_RATE
    assert audio.samples.dtype == np.int16
    assert audio.samples.ndim == 1
    assert audio.characters == len(text)
    heard = await stt.transcribe(resample(audio.samples, SAMPLE_RATE, 16_000), language=language)
    error = jiwer.wer(words(text), words(heard.text))
    assert error <= 0.25, f"{language}: heard {heard.text!r} (WER {error:.2f})"


async def test_a_long_line_streams_its_first_piece_before_the_rest(tts: KokoroTTS) -> None:
    started = time.perf_counter()
    pieces: list[SpeechAudio] = []
    first_at = 0.0
    async for piece in tts.stream(LONG_LINE, language="es"):
        if not pieces:
            first_at = time.perf_counter() - started
        pieces.append(piece)
    done_at = time.perf_counter() - started
    assert len(pieces) >= 3  # first clause, then its sentences
    first = pieces[0]
    assert first.first_audio_ms is not None
    assert first.characters == len(LONG_LINE)
    assert all(p.characters == 0 and p.first_audio_ms is None for p in pieces[1:])
    total = sum(p.samples.size for p in pieces)
    assert first.samples.size < total / 3  # a clause, not the line
    assert first_at < done_at / 2  # it arrived while most of the line was still to make
    whole = await tts.synthesize(LONG_LINE, language="es")
    assert abs(whole.samples.size - total) < SAMPLE_RATE // 10  # same audio, either way


async def test_a_missing_voice_is_a_clear_permanent_error(tmp_path: Path) -> None:
    tts = KokoroTTS(voices_folder=tmp_path)
    with pytest.raises(ProviderError, match=r"ef_dora.*make setup") as caught:
        await tts.synthesize("Hola.", language="es")
    assert caught.value.transient is False
