"""Audio for the SIP tests: what a far phone says (WAVs spoken by espeak-ng, a voicemail's
beep, a marker tone) and what a phone's recording holds (speech seconds, a tone)."""

from __future__ import annotations

import tempfile
import wave
from pathlib import Path

import numpy as np

from realtime.audio import synth
from realtime.audio.frames import resample_pcm16


def read_wav(path: Path) -> tuple[int, np.ndarray]:
    """A 16-bit mono WAV's rate and samples."""
    with wave.open(str(path)) as wav:
        return wav.getframerate(), np.frombuffer(wav.readframes(wav.getnframes()), "<i2")


def spoken(*parts: tuple[float, str]) -> Path:
    """A WAV of (silence before, sentence) pairs in a Spanish espeak-ng voice."""
    rate = 16_000
    pieces = []
    for pause_s, text in parts:
        pieces.append(synth.silence(pause_s, rate))
        pcm, got = synth.espeak(text, "es-419", speed_wpm=140)
        pieces.append(resample_pcm16(pcm, got, rate))
    return write_wav(Path(tempfile.mkdtemp(prefix="sip-wav-")) / "mic.wav", rate, pieces)


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
