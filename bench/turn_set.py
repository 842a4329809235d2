"""The turn-detection set: callers who pause mid-sentence, and short complete answers.

Each item is one caller turn as the endpointer hears it: 300 ms of line silence, the
speech, 2.5 s of silence after. A *pause* item is one sentence spoken with a real
silence of 400-1,200 ms inside it ("puedo pagar... el viernes"); an endpointer that ends
the turn in that silence has cut the caller off. A *complete* item is a short finished
answer ("sí", "el viernes"); what counts there is how long after its last word the
turn ends.

Voices: the espeak-ng voices the personas speak with (es-419, es, en-us, en-gb). The
sentence is synthesised in one piece with an SSML `<break>` where the caller pauses, so
the words before the pause keep the sentence's running intonation (two separate
syntheses would end the first half like a finished sentence).

Kokoro voices (`build(..., voices="kokoro")`: ef_dora, em_alex, af_heart, am_michael) read
more like a person. Kokoro has no SSML, so a pause item is the first half synthesised up
to a comma ("puedo pagar,": a comma keeps the continuing contour, where "puedo pagar"
alone would fall like a finished sentence), real silence, then the second half. Splicing
silence into the whole sentence at its comma was the other way; Kokoro's comma gap is a
few tens of ms, not found reliably among its stop consonants' closures, so the cut would
land inside a word. Kokoro audio is cached under `CACHE` (it takes ~0.3 s a fragment).
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from centralita.kernel.pcm import Pcm16
from realtime.audio.frames import STT_RATE, resample_pcm16
from realtime.audio.synth import read_wav_mono

LEAD_MS = 300
TRAIL_MS = 2500
PAUSES_MS = (400, 700, 1000, 1200)
SPEED_WPM = 150

# Sentence halves: the caller stops after the first and goes on with the second.
PAUSED: dict[str, list[tuple[str, str]]] = {
    "es": [
        ("puedo pagar", "el viernes"),
        ("mi número es el", "nueve ocho siete"),
        ("le puedo abonar", "la mitad ahora"),
        ("la verdad es que", "este mes no puedo"),
        ("mi rut es", "doce millones"),
    ],
    "en": [
        ("I can pay", "on Friday"),
        ("my number is", "nine eight seven"),
        ("I could send", "half of it now"),
        ("the thing is that", "I can't this month"),
    ],
}
COMPLETE: dict[str, list[str]] = {
    "es": ["sí", "no", "el viernes", "sí, claro", "no puedo", "mañana", "de acuerdo"],
    "en": ["yes", "no", "on Friday", "sure", "I can't", "tomorrow", "okay"],
}
# What the agent's question asked for, which the words judge weighs ("puedo pagar" after
# "¿qué día puede pagar?" is not an answer yet): by the pause items' first half and by
# the complete answers.
WHEN, HOW_MUCH = ("pay_date",), ("amount",)
EXPECTING: dict[str, tuple[str, ...]] = {
    "puedo pagar": WHEN,
    "le puedo abonar": HOW_MUCH,
    "la verdad es que": WHEN,
    "el viernes": WHEN,
    "no puedo": WHEN,
    "mañana": WHEN,
    "I can pay": WHEN,
    "I could send": HOW_MUCH,
    "the thing is that": WHEN,
    "on Friday": WHEN,
    "I can't": WHEN,
    "tomorrow": WHEN,
}
VOICES: dict[str, tuple[str, ...]] = {"es": ("es-419", "es"), "en": ("en-us", "en-gb")}
KOKORO_VOICES: dict[str, tuple[str, ...]] = {
    "es": ("ef_dora", "em_alex"),
    "en": ("af_heart", "am_michael"),
}
CACHE = Path.home() / ".cache" / "centralita" / "turn_set"
VoiceSet = Literal["espeak", "kokoro"]


@dataclass
class TurnItem:
    """One caller turn, with where its speech really ends."""

    name: str
    kind: Literal["pause", "complete"]
    language: str
    voice: str
    text: str
    audio: Pcm16 = field(repr=False)
    pause_ms: int = 0  # the silence inside the sentence (pause items)

    @property
    def expecting(self) -> tuple[str, ...]:
        """The slots the question this turn answers asked for."""
        return EXPECTING.get(self.text.split("...")[0].strip(), ())

    @property
    def speech_end_ms(self) -> int:
        """Stream time where the last word ends (the trailing silence starts)."""
        return self.audio.size * 1000 // STT_RATE - TRAIL_MS


def _espeak_ssml(ssml: str, voice: str) -> Pcm16:
    """espeak-ng with SSML, 16 kHz, trimmed of its own leading and trailing silence."""
    proc = subprocess.run(
        [
            "espeak-ng",
            "-m",
            "-v",
            voice,
            "-s",
            str(SPEED_WPM),
            "--stdout",
            f"<speak>{ssml}</speak>",
        ],
        capture_output=True,
        check=True,
        timeout=30,
    )
    samples, rate = read_wav_mono(proc.stdout)
    audio = resample_pcm16(samples, rate, STT_RATE)
    loud = np.nonzero(np.abs(audio.astype(np.int32)) > 200)[0]
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


def _framed(speech: Pcm16) -> Pcm16:
    lead = np.zeros(STT_RATE * LEAD_MS // 1000, dtype=np.int16)
    trail = np.zeros(STT_RATE * TRAIL_MS // 1000, dtype=np.int16)
    return np.concatenate([lead, speech, trail])


def _kokoro(text: str, language: str, voice: str) -> Pcm16:
    """Kokoro's reading of ``text`` at 16 kHz, edges trimmed as espeak's are; cached."""
    key = hashlib.sha256(f"{voice}|{language}|{text}".encode()).hexdigest()[:16]
    path = CACHE / f"{voice}-{key}.npy"
    if path.is_file():
        cached: Pcm16 = np.load(path)
        return cached
    from realtime.providers.kokoro import KokoroTTS  # only when the Kokoro set is asked for

    speech = asyncio.run(KokoroTTS().synthesize(text, language=language, voice=voice))
    audio = resample_pcm16(speech.samples, speech.sample_rate, STT_RATE)
    loud = np.nonzero(np.abs(audio.astype(np.int32)) > 200)[0]
    audio = audio[loud[0] : loud[-1] + 1] if loud.size else audio
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, audio)
    return audio


def _build_kokoro(language: str) -> list[TurnItem]:
    items: list[TurnItem] = []
    for voice in KOKORO_VOICES[language]:
        for i, (head, tail) in enumerate(PAUSED[language]):
            first = _kokoro(f"{head},", language, voice)
            second = _kokoro(f"{tail}.", language, voice)
            for pause in PAUSES_MS:
                gap = np.zeros(STT_RATE * pause // 1000, dtype=np.int16)
                audio = _framed(np.concatenate([first, gap, second]))
                name = f"{voice}-pause{i}-{pause}"
                text = f"{head}... {tail}"
                items.append(TurnItem(name, "pause", language, voice, text, audio, pause))
        for i, text in enumerate(COMPLETE[language]):
            audio = _framed(_kokoro(f"{text}.", language, voice))
            items.append(TurnItem(f"{voice}-complete{i}", "complete", language, voice, text, audio))
    return items


def build(languages: tuple[str, ...] = ("es", "en"), voices: VoiceSet = "espeak") -> list[TurnItem]:
    """Synthesise the whole set (~80 items: a few seconds of espeak-ng, or ~30 s of
    Kokoro the first time)."""
    items: list[TurnItem] = []
    for language in languages:
        if voices == "kokoro":
            items += _build_kokoro(language)
            continue
        for voice in VOICES[language]:
            for i, (head, tail) in enumerate(PAUSED[language]):
                for pause in PAUSES_MS:
                    text = f"{head}... {tail}"
                    ssml = f'{head} <break time="{pause}ms"/> {tail}'
                    items.append(
                        TurnItem(
                            f"{voice}-pause{i}-{pause}",
                            "pause",
                            language,
                            voice,
                            text,
                            _framed(_espeak_ssml(ssml, voice)),
                            pause,
                        )
                    )
            for i, text in enumerate(COMPLETE[language]):
                audio = _framed(_espeak_ssml(text, voice))
                items.append(
                    TurnItem(f"{voice}-complete{i}", "complete", language, voice, text, audio)
                )
    return items
