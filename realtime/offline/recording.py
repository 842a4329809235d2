"""A call's recording as the post-call pipeline reads it: format, checksum, the caller.

The media worker writes two-channel 16-bit WAVs, caller left and agent right
(`realtime/audio/recorder.py`). Re-transcription wants the caller's channel cut into
utterances; the call's metadata document wants the format, the length and a checksum
that proves which audio the transcripts came from.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from centralita.kernel.pcm import Pcm16
from centralita.postcall.recording import RecordingError
from realtime.audio.frames import STT_RATE, resample_pcm16
from realtime.audio.vad import Endpointer, UtteranceEnded

CHUNK_MS = 20


@dataclass(frozen=True)
class Utterance:
    """One stretch of caller speech: 16 kHz mono samples and where it lies in the call.

    `audio` begins at `audio_start_s` (a short pre-roll before the speech's onset).
    """

    start_s: float
    end_s: float
    audio_start_s: float
    audio: Pcm16


def caller_channel(path: Path) -> Pcm16:
    """The caller's side (left channel) at 16 kHz.

    Raises:
        RecordingError: missing, unreadable, or not 16-bit PCM.
    """
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise RecordingError(f"recording {path} is not 16-bit PCM")
            channels, rate = wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (OSError, wave.Error, EOFError) as exc:
        raise RecordingError(f"recording {path} unreadable: {exc}") from exc
    samples = np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if channels > 1:
        samples = samples[: samples.size // channels * channels].reshape(-1, channels)[:, 0]
    return resample_pcm16(np.ascontiguousarray(samples), rate, STT_RATE)


def utterances(samples: Pcm16, *, silence_ms: int = 500) -> list[Utterance]:
    """The caller's utterances, found the way the live call found them (the endpointer)."""
    endpointer = Endpointer(silence_ms=silence_ms)
    step = STT_RATE * CHUNK_MS // 1000
    found: list[Utterance] = []

    def keep(event: object) -> None:
        if isinstance(event, UtteranceEnded) and event.audio.size:
            found.append(
                Utterance(
                    start_s=event.started_at_ms / 1000,
                    end_s=event.ended_at_ms / 1000,
                    audio_start_s=event.audio_start_ms / 1000,
                    audio=event.audio,
                )
            )

    for start in range(0, samples.size - step + 1, step):
        for event in endpointer.feed(samples[start : start + step]):
            keep(event)
    for event in endpointer.flush():
        keep(event)
    return found
