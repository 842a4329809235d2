"""Text to speech with espeak-ng: the embedded default voice (robotic, instant, offline).

espeak-ng runs as a subprocess per sentence (``asyncio.create_subprocess_exec``, so the
event loop never waits on it); the text goes in on stdin, which keeps text that starts
with ``-`` from being read as an option, and a WAV comes back on stdout.

The pipeline speaks sentence by sentence (`realtime.providers.sentences` cuts a reply),
so the first sentence plays while the rest is still being synthesised.
"""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import wave
from collections.abc import Mapping

import numpy as np

from centralita.kernel.pcm import Pcm16
from realtime.providers.base import ProviderError, SpeechAudio, TextToSpeech

log = logging.getLogger(__name__)

# Language (as the agent names it) to the espeak-ng voices to try, best first.
# Chile is the first market, so plain "es" prefers the Latin-American voice; "es-ES"
# asks for Spain's on purpose.
DEFAULT_VOICES: dict[str, tuple[str, ...]] = {
    "es": ("es-419", "es"),
    "es-es": ("es", "es-419"),
    "en": ("en-us", "en"),
    "en-us": ("en-us", "en"),
    "en-gb": ("en-gb", "en"),
}

INSTALL_HINT = "espeak-ng is not installed: apt-get install espeak-ng"


class EspeakTTS(TextToSpeech):
    """espeak-ng voices for Spanish and English.

    Args:
        speed_wpm: speaking rate in words per minute (espeak-ng ``-s``; 80-450).
        pitch: 0-99 (espeak-ng ``-p``; 50 is the voice's own).
        voices: language to espeak-ng voices to try in order (see `DEFAULT_VOICES`).
        output_rate: resample to this rate (e.g. 16000 or 48000); ``None`` keeps
            espeak-ng's own (22050 Hz).
        executable: the espeak-ng binary; found on ``PATH`` when not given.
        timeout_s: deadline per sentence.
        retries: retries of transient failures; espeak-ng failures are not transient.
    """

    name = "espeak"

    def __init__(
        self,
        *,
        speed_wpm: int = 165,
        pitch: int = 50,
        voices: Mapping[str, tuple[str, ...]] | None = None,
        output_rate: int | None = None,
        executable: str | None = None,
        timeout_s: float = 10.0,
        retries: int = 0,
    ) -> None:
        super().__init__(timeout_s=timeout_s, retries=retries)
        if not 80 <= speed_wpm <= 450:
            raise ValueError(f"speed_wpm must be within 80-450, got {speed_wpm}")
        if not 0 <= pitch <= 99:
            raise ValueError(f"pitch must be within 0-99, got {pitch}")
        self.speed_wpm = speed_wpm
        self.pitch = pitch
        self.voices = dict(DEFAULT_VOICES if voices is None else voices)
        self.output_rate = output_rate
        self._executable = executable
        self._installed: set[str] | None = None
        self._installed_lock = asyncio.Lock()

    @property
    def executable(self) -> str:
        """The espeak-ng binary.

        Raises:
            ProviderError: (not transient) espeak-ng is not installed.
        """
        if self._executable is None:
            found = shutil.which("espeak-ng")
            if found is None:
                raise ProviderError(INSTALL_HINT, transient=False)
            self._executable = found
        return self._executable

    async def installed_voices(self) -> set[str]:
        """Voice names espeak-ng knows (language codes and file names), listed once."""
        async with self._installed_lock:
            if self._installed is None:
                out, _err, code = await run_espeak([self.executable, "--voices"], b"")
                self._installed = set() if code else _parse_voice_list(out.decode())
            return self._installed

    async def voice_for(self, language: str) -> str:
        """The espeak-ng voice for ``language``: the first candidate that is installed."""
        key = language.lower().replace("_", "-")
        candidates = self.voices.get(key) or self.voices.get(key.split("-")[0]) or (key,)
        installed = await self.installed_voices()
        for voice in candidates:
            if voice in installed:
                return voice
        return candidates[-1]  # let espeak-ng say what is wrong with it

    async def _synthesize(self, text: str, language: str, voice: str | None) -> SpeechAudio:
        text = text.strip()
        rate = self.output_rate or 22_050
        if not text:
            return SpeechAudio(samples=np.zeros(0, dtype=np.int16), sample_rate=rate, characters=0)
        chosen = voice or await self.voice_for(language)
        args = [
            self.executable,
            "-v", chosen,
            "-s", str(self.speed_wpm),
            "-p", str(self.pitch),
            "-b", "1",  # input is UTF-8 whatever the process locale says
            "--stdout",
        ]  # fmt: skip
        out, err, code = await run_espeak(args, text.encode("utf-8"))
        message = err.decode("utf-8", "replace").strip()
        if code != 0 or not out:
            raise ProviderError(
                f"espeak-ng failed (exit {code}, voice {chosen!r}): {message or 'no audio'}",
                transient=False,
            )
        try:
            samples, source_rate = await asyncio.to_thread(
                _decode_and_resample, out, self.output_rate
            )
        except (wave.Error, ValueError, EOFError) as exc:
            raise ProviderError(
                f"espeak-ng wrote an unreadable WAV: {exc}", transient=False
            ) from exc
        return SpeechAudio(
            samples=samples, sample_rate=self.output_rate or source_rate, characters=len(text)
        )


async def run_espeak(args: list[str], stdin: bytes) -> tuple[bytes, bytes, int]:
    """Run espeak-ng (`args` with the binary first); kill it if the caller gives up (a
    timeout or a barge-in). Its output, its errors and its exit code.

    Raises:
        ProviderError: (not transient) espeak-ng is not installed.
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise ProviderError(INSTALL_HINT, transient=False) from exc
    try:
        out, err = await proc.communicate(stdin)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    return out, err, proc.returncode if proc.returncode is not None else -1


def _parse_voice_list(listing: str) -> set[str]:
    """Language codes and voice files from ``espeak-ng --voices`` (header skipped)."""
    names: set[str] = set()
    for line in listing.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5:
            names.add(cols[1])  # the language code, e.g. es-419
            names.add(cols[4].rsplit("/", 1)[-1])  # the voice file, e.g. es-419
    return names


def _decode_and_resample(wav_bytes: bytes, output_rate: int | None) -> tuple[Pcm16, int]:
    """Mono int16 samples and their rate from espeak-ng's WAV.

    espeak-ng streaming to stdout cannot seek back to fix the header, so the frame
    count in it is a placeholder; the samples are whatever data actually arrived.
    """
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
        if width != 2:
            raise ValueError(f"expected 16-bit samples, got {8 * width}-bit")
        data = wav.readframes(wav.getnframes())
    usable = len(data) - len(data) % (2 * channels)
    samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.int16)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if output_rate and output_rate != rate:
        samples = resample(samples, rate, output_rate)
    return samples, rate


def resample(samples: Pcm16, from_rate: int, to_rate: int) -> Pcm16:
    """Linear-interpolation resampling: plenty for espeak-ng's narrow-band voice.

    Not for music or wide-band speech (no anti-alias filter when downsampling).
    """
    if from_rate == to_rate or samples.size == 0:
        return samples
    n_out = round(samples.size * to_rate / from_rate)
    positions = np.arange(n_out, dtype=np.float64) * (from_rate / to_rate)
    out = np.interp(positions, np.arange(samples.size, dtype=np.float64), samples)
    return np.clip(np.rint(out), -32768, 32767).astype(np.int16)
