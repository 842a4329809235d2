"""The voicemail detection set: machine greetings and human answers, as a call hears them.

`generate` draws clips with a seeded `random.Random`: machines (carriers' voicemail and
intercept announcements from Chile, Spain and English-speaking carriers, personal
greetings long and short, one mailbox that only beeps), some ending with a record tone
of a drawn pitch and length, some without; and humans (short answers, "¿Aló?" twice,
and long-ish answers, two of them saying a phrase a voicemail says too: "no está
disponible", "is not available"). Each clip has a voice and a speed of espeak-ng, a
lead-in before the first word, and an acoustic condition: clean, pink noise at an SNR,
or a telephone line (300-3400 Hz, mu-law), delivered at 8 kHz (a carrier's media stream)
or back at 16 kHz (what the session's listener sees).

`render` synthesises a clip (a few tens of milliseconds per clip; nothing is cached) and
says where its speech and its beep are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from centralita.kernel.pcm import Pcm16
from realtime.audio import synth
from realtime.audio.frames import STT_RATE, resample_pcm16
from realtime.audio.line_conditions import PHONE_RATE, pink_noise, telephone

SEED = 18
MACHINES = 32
HUMANS = 32
LONG_SHARE = 0.15  # of the drawn human answers (most people answer short)
LEAD_S: dict[str, tuple[float, float]] = {"machine": (0.3, 1.2), "human": (0.2, 1.0)}
MIN_CLIP_S = 6.0
TAIL_S = 3.0

Truth = Literal["human", "machine"]
Condition = Literal["clean", "noise", "phone8k", "phone16k"]
Category = Literal["carrier", "intercept", "personal", "beep_only", "short", "repeat", "long"]

# (language, voices key, category, text, beep likely). Carriers' voicemail greetings end
# with a beep; intercepts (switched off, no such number) never do; personal ones often.
MACHINE_LINES: tuple[tuple[str, str, Category, str, float], ...] = (
    ("es", "cl", "carrier", "Su llamada está siendo transferida al buzón de voz. "
     "Deje su mensaje después de la señal.", 1.0),
    ("es", "cl", "carrier", "La persona que usted llama no se encuentra disponible. "
     "Deje su mensaje después del tono.", 1.0),
    ("es", "cl", "carrier", "Bienvenido a la casilla de voz. El cliente no está disponible, "
     "grabe su mensaje al escuchar el tono.", 1.0),
    ("es", "cl", "intercept", "El teléfono que usted llamó se encuentra apagado o fuera del "
     "área de servicio. Por favor, intente más tarde.", 0.0),
    ("es", "cl", "intercept", "El número que usted marcó no existe. Por favor, verifique e "
     "intente nuevamente.", 0.0),
    ("es", "es", "carrier", "El número al que llama no está disponible en este momento. "
     "Puede dejar su mensaje después de oír la señal.", 1.0),
    ("es", "es", "intercept", "Movistar le informa: el teléfono móvil al que llama está "
     "apagado o fuera de cobertura en este momento.", 0.0),
    ("es", "es", "carrier", "Hola. El cliente al que llama no puede atenderle. Deje su "
     "mensaje tras la señal.", 1.0),
    ("en", "en", "carrier", "The person you are calling is not available. Please leave a "
     "message after the tone.", 1.0),
    ("en", "en", "intercept", "The number you have dialed is not in service. Please check "
     "the number and try again.", 0.0),
    ("en", "en", "carrier", "Your call has been forwarded to an automated voice messaging "
     "system. Please record your message after the tone.", 1.0),
    ("es", "cl", "personal", "Hola, soy Pedro. Deja tu mensaje.", 0.8),
    ("es", "cl", "personal", "Hola, te comunicaste con Camila. En este momento no puedo "
     "contestar, déjame tu mensaje y te devuelvo la llamada.", 0.7),
    ("es", "es", "personal", "Hola, has llamado a Javier. Ahora mismo no puedo atenderte, "
     "deja tu mensaje después de la señal y te llamaré.", 0.7),
    ("es", "cl", "personal", "Aló, habla Francisca. No puedo contestar, deja un mensaje.", 0.7),
    ("es", "es", "personal", "Buenas, has llamado a la oficina de Marta García. Deja tu "
     "nombre y tu número y te llamo en cuanto pueda.", 0.7),
    ("en", "en", "personal", "Hi, this is Mike. Leave a message.", 0.8),
    ("en", "en", "personal", "Hi, you've reached Sarah. I can't come to the phone right now, "
     "but leave your name and number and I'll get back to you.", 0.7),
    ("en", "en", "personal", "Hello, this is David Thompson. I'm away from my desk. Please "
     "leave a message and I will call you back as soon as possible.", 0.7),
    ("en", "en", "personal", "Hey, it's Jenny. You know what to do.", 1.0),
    ("es", "cl", "beep_only", "", 1.0),
)  # fmt: skip

# (language, voices key, category, text)
HUMAN_LINES: tuple[tuple[str, str, Category, str], ...] = (
    ("es", "cl", "short", "¿Aló?"),
    ("es", "cl", "short", "¿Sí?"),
    ("es", "cl", "short", "¿Sí, diga?"),
    ("es", "es", "short", "¿Dígame?"),
    ("es", "cl", "short", "Hola, ¿quién habla?"),
    ("es", "cl", "short", "Aló, ¿con quién hablo?"),
    ("es", "es", "short", "¿Sí? ¿Quién es?"),
    ("es", "cl", "repeat", "¿Aló?"),
    ("en", "en", "short", "Hello?"),
    ("en", "en", "short", "Hi, who's this?"),
    ("en", "en", "short", "Yes, this is Mary."),
    ("en", "en", "repeat", "Hello?"),
    ("es", "cl", "long", "Sí, ¿quién es? Estoy ocupado ahora mismo."),
    ("es", "cl", "long", "Aló, sí, con ella habla. ¿Quién la llama?"),
    ("es", "cl", "long", "Ella no está disponible ahora. ¿Quién la busca?"),
    ("en", "en", "long", "Hello, yes, this is John. Who's calling, please?"),
    ("en", "en", "long", "He is not available right now. Can I take a message?"),
)
REPEATS = {"es": "¿Aló? ¿Aló?", "en": "Hello? Hello?"}

VOICES: dict[str, tuple[str, ...]] = {
    "cl": ("es-419", "es-419+f2", "es-419+m3", "es-419+f4"),
    "es": ("es", "es+f3", "es+m5", "es+f2"),
    "en": ("en-us", "en-gb", "en-us+f3", "en-gb+m3", "en+f2"),
}
SPEEDS = (140, 155, 170, 185)
CONDITIONS: tuple[tuple[Condition, float], ...] = (
    ("clean", 0.35),
    ("noise", 0.3),
    ("phone8k", 0.2),
    ("phone16k", 0.15),
)
SNRS_DB = (10.0, 15.0, 20.0)
BEEP_HZ = (850.0, 1000.0, 1200.0, 1400.0, 1800.0, 2000.0)
BEEP_S = (0.3, 0.5, 0.8, 1.0)
FLOOR_DBFS = -66.0  # a quiet line's hiss: no clip is digital silence


class Clip(BaseModel):
    """One clip of the set: what is said, by which voice, and how the line spoils it."""

    model_config = ConfigDict(frozen=True)

    id: str
    truth: Truth
    category: Category
    language: str
    text: str
    voice: str
    speed_wpm: int
    lead_s: float
    condition: Condition
    snr_db: float | None
    beep_hz: float | None
    beep_s: float | None
    beep_gap_s: float | None
    repeat_after_s: float | None

    @property
    def rate(self) -> int:
        """The rate the detector is fed: 8 kHz for a carrier's stream, else 16 kHz."""
        return PHONE_RATE if self.condition == "phone8k" else STT_RATE


@dataclass(frozen=True)
class Rendered:
    """A clip's audio at `rate` and where things are in it (seconds from the answer)."""

    samples: Pcm16
    rate: int
    speech_start_s: float | None
    speech_end_s: float | None
    beep_start_s: float | None
    beep_end_s: float | None

    @property
    def duration_s(self) -> float:
        """The clip's length."""
        return self.samples.size / self.rate


def generate(seed: int = SEED, machines: int = MACHINES, humans: int = HUMANS) -> list[Clip]:
    """The set's clips (no audio): every line once, then drawn; deterministic for a seed.

    After the first pass, a drawn human answer is a long one with `LONG_SHARE`.
    """
    rng = random.Random(seed)  # noqa: S311 - a reproducible set, not a secret
    clips: list[Clip] = []
    for i in range(machines):
        line = MACHINE_LINES[i] if i < len(MACHINE_LINES) else rng.choice(MACHINE_LINES)
        language, key, category, text, beep_share = line
        beep = rng.random() < beep_share
        clips.append(
            _clip(
                rng,
                f"m{i:02d}",
                "machine",
                category,
                language,
                text,
                key,
                beep=beep,
            )
        )
    long_lines = [h for h in HUMAN_LINES if h[2] == "long"]
    short_lines = [h for h in HUMAN_LINES if h[2] != "long"]
    for i in range(humans):
        if i < len(HUMAN_LINES):
            answer = HUMAN_LINES[i]
        else:
            answer = rng.choice(long_lines if rng.random() < LONG_SHARE else short_lines)
        language, key, category, text = answer
        clip = _clip(rng, f"h{i:02d}", "human", category, language, text, key, beep=False)
        clips.append(clip)
    return clips


def _clip(
    rng: random.Random,
    clip_id: str,
    truth: Truth,
    category: Category,
    language: str,
    text: str,
    key: str,
    *,
    beep: bool,
) -> Clip:
    condition = rng.choices([c for c, _ in CONDITIONS], [w for _, w in CONDITIONS])[0]
    return Clip(
        id=clip_id,
        truth=truth,
        category=category,
        language=language,
        text=text,
        voice=rng.choice(VOICES[key]),
        speed_wpm=rng.choice(SPEEDS),
        lead_s=round(rng.uniform(*LEAD_S[truth]), 2),
        condition=condition,
        snr_db=rng.choice(SNRS_DB) if condition == "noise" else None,
        beep_hz=rng.choice(BEEP_HZ) if beep else None,
        beep_s=rng.choice(BEEP_S) if beep else None,
        beep_gap_s=round(rng.uniform(0.2, 0.8), 2) if beep else None,
        repeat_after_s=round(rng.uniform(1.5, 3.0), 2) if category == "repeat" else None,
    )


def _speech(text: str, voice: str, speed_wpm: int) -> Pcm16:
    """espeak-ng's reading at 16 kHz, trimmed to its first and last audible sample."""
    pcm, rate = synth.espeak(text, voice, speed_wpm=speed_wpm)
    pcm = resample_pcm16(pcm, rate, STT_RATE)
    loud = np.flatnonzero(np.abs(pcm) > 200)
    return pcm[loud[0] : loud[-1] + 1] if loud.size else pcm[:0]


def render(clip: Clip) -> Rendered:
    """The clip's audio as the detector hears it (at `Clip.rate`). Blocking (espeak-ng)."""
    rate = STT_RATE
    parts: list[Pcm16] = [synth.silence(clip.lead_s, rate)]
    at = clip.lead_s
    speech_start = speech_end = beep_start = beep_end = None
    if clip.text:
        speech = _speech(clip.text, clip.voice, clip.speed_wpm)
        parts.append(speech)
        speech_start, at = at, at + speech.size / rate
        speech_end = at
    if clip.repeat_after_s is not None:
        again = _speech(REPEATS[clip.language], clip.voice, clip.speed_wpm)
        parts += [synth.silence(clip.repeat_after_s, rate), again]
        at += clip.repeat_after_s + again.size / rate
        speech_end = at
    if clip.beep_hz is not None and clip.beep_s is not None and clip.beep_gap_s is not None:
        parts.append(synth.silence(clip.beep_gap_s, rate))
        # Recorders' tones are a few dB under speech; 10 ms ramps, as a real one has.
        tone = synth.tone(clip.beep_hz, clip.beep_s, rate, amplitude=0.2).astype(np.float64)
        ramp = np.linspace(0.0, 1.0, rate // 100)
        tone[: ramp.size] *= ramp
        tone[-ramp.size :] *= ramp[::-1]
        parts.append(tone.astype(np.int16))
        beep_start = at + clip.beep_gap_s
        beep_end = beep_start + clip.beep_s
        at = beep_end
    total = max(MIN_CLIP_S, at + TAIL_S)
    parts.append(synth.silence(total - at, rate))
    clean = np.concatenate(parts).astype(np.float64)
    np_rng = np.random.default_rng([SEED, int(clip.id[1:]), clip.truth == "human"])
    out = clean + pink_noise(clean.size, np_rng) * 32768.0 * 10 ** (FLOOR_DBFS / 20)
    if clip.condition == "noise" and clip.snr_db is not None:
        # The SNR against the speech (and beep) itself, not against the whole clip.
        loud = clean[np.abs(clean) > 0]
        power = float(np.mean(loud**2)) if loud.size else 1.0
        out += pink_noise(clean.size, np_rng) * np.sqrt(power / 10 ** (clip.snr_db / 10))
    samples = np.clip(np.rint(out), -32768, 32767).astype(np.int16)
    if clip.condition in ("phone8k", "phone16k"):
        samples = telephone(samples, rate)
    if clip.condition == "phone8k":
        samples = resample_pcm16(samples, rate, PHONE_RATE)
        rate = PHONE_RATE
    return Rendered(samples, rate, speech_start, speech_end, beep_start, beep_end)
