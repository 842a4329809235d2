"""Test signals for the audio tests and the bot softphone: tones, noise, WAV files, espeak-ng.

Only what the tests need. `espeak` runs a subprocess and blocks: call it from a
thread (or before the call starts), never on a running call's event loop.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

from centralita.kernel.pcm import Pcm16
from realtime.audio.frames import STT_RATE, AudioConversionError

ESPEAK = "espeak-ng"


def silence(duration_s: float, sample_rate: int = STT_RATE) -> Pcm16:
    """`duration_s` of digital silence."""
    return np.zeros(round(duration_s * sample_rate), dtype=np.int16)


def tone(
    freq_hz: float,
    duration_s: float,
    sample_rate: int = STT_RATE,
    *,
    amplitude: float = 0.3,
) -> Pcm16:
    """A sine tone; `amplitude` is a fraction of full scale."""
    n = round(duration_s * sample_rate)
    t = np.arange(n, dtype=np.float64) / sample_rate
    return (np.sin(2 * np.pi * freq_hz * t) * amplitude * 32767).astype(np.int16)


def noise(
    duration_s: float,
    sample_rate: int = STT_RATE,
    *,
    amplitude: float = 0.1,
    seed: int = 0,
) -> Pcm16:
    """White Gaussian noise with RMS `amplitude` (fraction of full scale), reproducible."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * sample_rate)
    x = rng.standard_normal(n) * amplitude * 32767
    return np.clip(x, -32768, 32767).astype(np.int16)


def read_wav_mono(source: str | Path | bytes) -> tuple[Pcm16, int]:
    """Load a 16-bit PCM WAV (file path or bytes) as mono int16, channels averaged.

    Tolerates the bogus length espeak-ng writes when streaming to stdout.

    Returns:
        (samples, sample_rate)

    Raises:
        AudioConversionError: not a readable 16-bit PCM WAV.
    """
    try:
        stream = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
        with stream, wave.open(stream, "rb") as wav:
            if wav.getsampwidth() != 2:
                raise AudioConversionError(f"want 16-bit PCM, got {8 * wav.getsampwidth()}-bit")
            channels = wav.getnchannels()
            rate = wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioConversionError(f"unreadable WAV: {exc}") from exc
    usable = len(raw) - len(raw) % (2 * channels)
    data = np.frombuffer(raw[:usable], dtype="<i2").reshape(-1, channels)
    if channels == 1:
        return data[:, 0].astype(np.int16), rate
    return data.mean(axis=1).round().astype(np.int16), rate


def espeak(text: str, voice: str = "es", *, speed_wpm: int = 160) -> tuple[Pcm16, int]:
    """Synthesise `text` with espeak-ng (mono int16, 22050 Hz). Blocking.

    Raises:
        RuntimeError: espeak-ng is not installed or failed.
    """
    exe = shutil.which(ESPEAK)
    if exe is None:
        raise RuntimeError("espeak-ng is not installed")
    proc = subprocess.run(
        [exe, "-v", voice, "-s", str(speed_wpm), "--stdout", text],
        capture_output=True,
        check=False,
        timeout=30,
    )
    if proc.returncode != 0 or not proc.stdout:
        raise RuntimeError(f"espeak-ng failed ({proc.returncode}): {proc.stderr[-300:]!r}")
    return read_wav_mono(proc.stdout)
