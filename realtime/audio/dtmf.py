"""Keypad tones (DTMF, ITU-T Q.23) the agent plays to navigate an automated menu (IVR).

Sent in-band, as audio in the agent's voice: it crosses any leg (a carrier's media
stream in G.711, a SIP trunk, WebRTC) and every IVR listens for it. Each key is two
sines, one of four low and one of four high frequencies, 100 ms long with 80 ms of
silence after it (Q.24 asks for at least 40 ms of each); `w` is a half-second pause.
"""

from __future__ import annotations

import numpy as np

from centralita.kernel.pcm import Pcm16

LOW = (697, 770, 852, 941)
HIGH = (1209, 1336, 1477, 1633)
KEYS = ("123A", "456B", "789C", "*0#D")
TONE_S = 0.1
GAP_S = 0.08
PAUSE = "w"
PAUSE_S = 0.5
# Each tone at -9 dBFS: two of them stay clear of clipping, well above any line's noise.
AMPLITUDE = 0.35


def frequencies(key: str) -> tuple[int, int]:
    """The (low, high) pair of a key.

    Raises:
        ValueError: not a keypad key.
    """
    for row, keys in enumerate(KEYS):
        column = keys.find(key)
        if len(key) == 1 and column >= 0:
            return LOW[row], HIGH[column]
    raise ValueError(f"{key!r} is not a DTMF key")


def dtmf_tones(keys: str, sample_rate: int) -> Pcm16:
    """The audio of pressing `keys` in order (`w` for a pause).

    Raises:
        ValueError: a character that is neither a key nor `w`.
    """
    parts: list[Pcm16] = []
    tone_t = np.arange(round(TONE_S * sample_rate)) / sample_rate
    gap = np.zeros(round(GAP_S * sample_rate), dtype=np.int16)
    for key in keys:
        if key == PAUSE:
            parts.append(np.zeros(round(PAUSE_S * sample_rate), dtype=np.int16))
            continue
        low, high = frequencies(key)
        wave = np.sin(2 * np.pi * low * tone_t) + np.sin(2 * np.pi * high * tone_t)
        parts += [(wave * AMPLITUDE * 32767).astype(np.int16), gap]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


def detect_key(samples: Pcm16, sample_rate: int) -> str | None:
    """The key a stretch of audio holds (Goertzel energy at the eight frequencies), or
    None when no pair stands out (speech, silence). For tests and IVR menus' checks."""
    x = samples.astype(np.float64)
    if not x.size or float(np.sqrt(np.mean(x**2))) < 500:
        return None
    t = np.arange(x.size) / sample_rate

    def energy(freq: int) -> float:
        return float(abs(np.dot(x, np.exp(-2j * np.pi * freq * t))) ** 2)

    lows = [energy(f) for f in LOW]
    highs = [energy(f) for f in HIGH]
    row, column = int(np.argmax(lows)), int(np.argmax(highs))
    total = float(np.dot(x, x)) * x.size / 2
    if (lows[row] + highs[column]) < 0.6 * total:
        return None
    return KEYS[row][column]
