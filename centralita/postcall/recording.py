"""What the metadata document says about a call's recording: its format, length, checksum."""

from __future__ import annotations

import hashlib
import wave
from dataclasses import dataclass
from pathlib import Path


class RecordingError(ValueError):
    """The recording is missing, unreadable, or not the format the pipeline expects."""


@dataclass(frozen=True)
class AudioFacts:
    """What the metadata document says about a recording."""

    path: str
    format: str
    channels: int
    sample_rate: int
    duration_s: float
    sha256: str
    bytes: int


def audio_facts(path: Path) -> AudioFacts:
    """Format, length and SHA-256 of a recording.

    Raises:
        RecordingError: the file is missing or not a PCM WAV.
    """
    try:
        data = path.read_bytes()
        with wave.open(str(path), "rb") as wav:
            channels, rate, frames = wav.getnchannels(), wav.getframerate(), wav.getnframes()
            width = wav.getsampwidth()
    except (OSError, wave.Error, EOFError) as exc:
        raise RecordingError(f"recording {path} unreadable: {exc}") from exc
    return AudioFacts(
        path=str(path),
        format=f"wav/pcm_s{8 * width}le",
        channels=channels,
        sample_rate=rate,
        duration_s=frames / rate if rate else 0.0,
        sha256=hashlib.sha256(data).hexdigest(),
        bytes=len(data),
    )
