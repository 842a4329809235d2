"""How a caller's line spoils clean speech: noise and the telephone band.

The WER evaluation set (bench/wer_set.py), the voicemail set and the persona bots
(`realtime.softphone.bot`, a script's `line`) speak through these, so recognition and
turn detection are measured on audio closer to a real caller's.

Everything works on mono int16 at any rate and is deterministic
for a given `numpy.random.Generator`, so a set regenerated from the same seed is the
same set. No scipy here: the band-pass is done in the frequency domain with numpy, and
the 8 kHz round trip goes through the same libswresample path the media worker uses.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from centralita.kernel.pcm import Pcm16
from realtime.audio.frames import resample_pcm16

PHONE_LOW_HZ = 300.0
PHONE_HIGH_HZ = 3400.0
PHONE_RATE = 8_000

# The 50 Hz cosine ramps at the band edges keep the brick wall from ringing audibly.
_EDGE_HZ = 50.0
_MU = 255.0

Floats = npt.NDArray[np.float64]


def band_pass(samples: Pcm16, rate: int, low_hz: float, high_hz: float) -> Pcm16:
    """Keep only ``low_hz``..``high_hz`` (FFT mask with short cosine ramps at the edges).

    Raises:
        ValueError: the band is empty or reaches beyond the Nyquist frequency.
    """
    if not 0.0 <= low_hz < high_hz <= rate / 2:
        raise ValueError(f"band {low_hz}-{high_hz} Hz does not fit a {rate} Hz signal")
    if samples.size == 0:
        return samples.copy()
    spectrum = np.fft.rfft(samples.astype(np.float64))
    freqs = np.fft.rfftfreq(samples.size, d=1.0 / rate)
    gain = np.zeros_like(freqs)
    gain[(freqs >= low_hz) & (freqs <= high_hz)] = 1.0
    # Ramps *inside* the band, so nothing outside it survives at all.
    rising = (freqs >= low_hz) & (freqs < low_hz + _EDGE_HZ)
    gain[rising] = 0.5 - 0.5 * np.cos(np.pi * (freqs[rising] - low_hz) / _EDGE_HZ)
    falling = (freqs > high_hz - _EDGE_HZ) & (freqs <= high_hz)
    gain[falling] = 0.5 - 0.5 * np.cos(np.pi * (high_hz - freqs[falling]) / _EDGE_HZ)
    filtered = np.fft.irfft(spectrum * gain, n=samples.size)
    return _to_pcm16(filtered)


def mu_law_round_trip(samples: Pcm16) -> Pcm16:
    """Encode to 8-bit G.711 mu-law and back: the quantisation a phone line adds."""
    x = samples.astype(np.float64) / 32768.0
    encoded = np.sign(x) * np.log1p(_MU * np.abs(x)) / np.log1p(_MU)
    quantised = np.round(encoded * 127.0) / 127.0
    decoded = np.sign(quantised) * ((1.0 + _MU) ** np.abs(quantised) - 1.0) / _MU
    return _to_pcm16(decoded * 32768.0)


def telephone(samples: Pcm16, rate: int) -> Pcm16:
    """A narrow-band phone line: 300-3400 Hz, down to 8 kHz and mu-law, back to ``rate``.

    The second band-pass after the round trip removes what mu-law's quantisation
    noise spread between 3.4 and 4 kHz, as a real line's codec filter would.
    """
    narrow = band_pass(samples, rate, PHONE_LOW_HZ, PHONE_HIGH_HZ)
    line = mu_law_round_trip(resample_pcm16(narrow, rate, PHONE_RATE))
    back = resample_pcm16(line, PHONE_RATE, rate)
    # libswresample's delay drain can leave the length a sample or two off.
    if back.size >= samples.size:
        back = back[: samples.size]
    else:
        back = np.concatenate([back, np.zeros(samples.size - back.size, dtype=np.int16)])
    return band_pass(back, rate, PHONE_LOW_HZ, PHONE_HIGH_HZ)


def pink_noise(size: int, rng: np.random.Generator) -> Floats:
    """Unit-power noise with a 1/f spectrum (closer to a room or a street than white)."""
    if size == 0:
        return np.zeros(0)
    spectrum = np.fft.rfft(rng.standard_normal(size))
    freqs = np.arange(spectrum.size, dtype=np.float64)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(freqs), n=size)
    power = float(np.mean(noise**2))
    return noise / np.sqrt(power) if power > 0 else noise


def add_noise(samples: Pcm16, snr_db: float, rng: np.random.Generator) -> Pcm16:
    """Add pink noise at ``snr_db`` relative to the power of the whole utterance.

    Raises:
        ValueError: the utterance is silent (no SNR can be defined against it).
    """
    clean = samples.astype(np.float64)
    power = float(np.mean(clean**2)) if clean.size else 0.0
    if power == 0.0:
        raise ValueError("cannot set an SNR against silence")
    noise = pink_noise(clean.size, rng) * np.sqrt(power / 10 ** (snr_db / 10))
    return _to_pcm16(clean + noise)


def measured_snr_db(clean: Pcm16, noisy: Pcm16) -> float:
    """The SNR of ``noisy`` against the ``clean`` signal it was made from, in dB."""
    signal = clean.astype(np.float64)
    residual = noisy.astype(np.float64) - signal
    return float(10 * np.log10(np.mean(signal**2) / np.mean(residual**2)))


def energy_share_above(samples: Pcm16, rate: int, hz: float) -> float:
    """The share (0..1) of the signal's energy above ``hz``."""
    power = np.abs(np.fft.rfft(samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(samples.size, d=1.0 / rate)
    total = float(power.sum())
    return float(power[freqs > hz].sum()) / total if total > 0 else 0.0


LineCondition = Literal["clean", "telephone", "noise", "noisy_telephone"]
NOISE_SNR_DB = 15.0
"""A street or a busy room behind the caller: clearly there, speech still on top."""


def through_line(
    samples: Pcm16, rate: int, condition: LineCondition, rng: np.random.Generator
) -> Pcm16:
    """``samples`` as a caller on ``condition`` sounds (silence stays silent of noise
    only where there is no speech at all: an SNR needs a signal)."""
    out = samples
    if condition in ("noise", "noisy_telephone") and np.any(samples):
        out = add_noise(out, NOISE_SNR_DB, rng)
    if condition in ("telephone", "noisy_telephone"):
        out = telephone(out, rate)
    return out


def _to_pcm16(values: Floats) -> Pcm16:
    return np.clip(np.rint(values), -32768, 32767).astype(np.int16)
