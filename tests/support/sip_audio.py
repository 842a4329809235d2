"""Audio for the SIP tests: what a far phone says (WAVs spoken by espeak-ng, a voicemail's
beep, a marker tone) and what a phone's recording holds (speech seconds, a tone)."""

from __future__ import annotations

import asyncio
import tempfile
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from realtime.audio import synth
from realtime.audio.frames import resample_pcm16

CallerVoice = Literal["espeak", "kokoro"]


def read_wav(path: Path) -> tuple[int, np.ndarray]:
    """A 16-bit mono WAV's rate and samples."""
    with wave.open(str(path)) as wav:
        return wav.getframerate(), np.frombuffer(wav.readframes(wav.getnframes()), "<i2")


def spoken(*parts: tuple[float, str], voice: CallerVoice = "espeak") -> Path:
    """A WAV of (silence before, sentence) pairs in a Spanish voice.

    `voice="kokoro"` (ef_dora) for a test whose assertion rests on the recogniser hearing
    the words right over G.711: espeak-ng's "doscientos mil pesos" reaches Whisper as
    "no siento mil" / "loscientos mil" in 7-10 of 16 sample alignments, Kokoro's in
    none (measured 2026-12-04). The tests skip when Kokoro is not installed.
    """
    rate = 16_000
    pieces = []
    for pause_s, text in parts:
        pieces.append(synth.silence(pause_s, rate))
        if voice == "kokoro":
            pieces.append(_kokoro(text, rate))
        else:
            pcm, got = synth.espeak(text, "es-419", speed_wpm=140)
            pieces.append(resample_pcm16(pcm, got, rate))
    return write_wav(Path(tempfile.mkdtemp(prefix="sip-wav-")) / "mic.wav", rate, pieces)


def _kokoro(text: str, rate: int) -> np.ndarray:
    """Kokoro's Spanish ef_dora reading `text` at `rate` (synthesised on a thread of its
    own: the tests call `spoken` inside their running event loop)."""
    from realtime.providers.kokoro import KokoroTTS
    from realtime.providers.kokoro_models import KokoroNotInstalledError, model_path

    try:
        model_path()
    except KokoroNotInstalledError:
        pytest.skip("Kokoro is not installed (make setup installs it)")
    speaking = KokoroTTS().synthesize(text, language="es", voice="ef_dora")
    with ThreadPoolExecutor(1) as pool:
        speech = pool.submit(asyncio.run, speaking).result()
    return resample_pcm16(speech.samples, speech.sample_rate, rate)


def write_wav(path: Path, rate: int, pieces: list[np.ndarray]) -> Path:
    """`pieces` one after the other as a 16-bit mono WAV at `path`."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.concatenate(pieces).astype("<i2").tobytes())
    return path


def with_beep(path: Path, gap_s: float = 0.4, beep_s: float = 0.5) -> Path:
    """`path`'s WAV followed by a recorder's beep (1 kHz), as a voicemail plays it."""
    rate, pcm = read_wav(path)
    tone = synth.tone(1000.0, beep_s, rate, amplitude=0.2)
    return write_wav(path.with_name("voicemail.wav"), rate, [pcm, synth.silence(gap_s, rate), tone])


def with_tone(path: Path, pause_s: float, hz: float, seconds: float) -> Path:
    """`path`'s WAV, a pause, then a pure tone: a mark that can be found in a recording."""
    rate, pcm = read_wav(path)
    tone = synth.tone(hz, seconds, rate, amplitude=0.3)
    silence = synth.silence(pause_s, rate)
    return write_wav(path.with_name(f"tone-{hz:.0f}.wav"), rate, [pcm, silence, tone])


def loud_frames(path: Path) -> np.ndarray:
    """Per 20 ms frame of a recording: whether it holds speech-level sound."""
    with wave.open(str(path)) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
        rate = wav.getframerate()
    n = rate // 50
    frames = pcm[: pcm.size // n * n].reshape(-1, n)
    loud: np.ndarray = np.sqrt(np.mean(frames**2, axis=1)) / 32768.0 > 10 ** (-40 / 20)
    return loud


def loud_seconds(path: Path) -> float:
    """Seconds of the recording with speech-like level (20 ms frames above -40 dBFS)."""
    with wave.open(str(path)) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
        rate = wav.getframerate()
    n = rate // 50
    frames = pcm[: pcm.size // n * n].reshape(-1, n)
    rms = np.sqrt(np.mean(frames**2, axis=1)) / 32768.0
    return float(np.sum(rms > 10 ** (-40 / 20)) * 0.02)


def tone_seconds(path: Path, hz: float) -> float:
    """Seconds of a recording whose 20 ms frames are a loud tone at `hz` (±40 Hz)."""
    rate, pcm = read_wav(path)
    n = rate // 50
    frames = pcm[: pcm.size // n * n].reshape(-1, n).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(n), axis=1))
    peak_hz = np.argmax(spectrum, axis=1) * rate / n
    loud = np.sqrt(np.mean(frames**2, axis=1)) / 32768.0 > 0.03
    return float(np.sum(loud & (np.abs(peak_hz - hz) <= 40)) * 0.02)
