"""The Spanish WER evaluation set: collection dialogue, espeak-ng or Kokoro voices, truth.

`generate` draws utterances from templates x slot values (debtors, companies, amounts,
dates, RUTs, products, places, domain terms, plus plain dialogue lines) with a seeded
`random.Random`, so the same seed always gives the same set. Each utterance carries the
text as a transcript would write it (`text`, digits allowed: "150.000 pesos", "RUT
12.345.678-5") and what espeak-ng is given to say (`spoken`, every number spelled out),
a voice, a speed, an acoustic condition (clean, pink noise at an SNR, or a telephone
line at 8 kHz) and a split: error pairs are learned from `train` only and WER is
reported on `test`, so the benchmark never grades itself on the pairs it learned.

`build` synthesises the audio (16 kHz mono WAVs) and caches it under
`bench/results/wer_set/` with a manifest; it regenerates when `VERSION`, the seed or the
count change. Two voice sets say the same utterances under the same conditions: the
robotic espeak-ng voices (``espeak``), and the Kokoro-82M neural voices (``kokoro``,
ef_dora and em_alex, in `bench/results/wer_set_kokoro/`), closer to a human caller.
`lexicon` is the tenant lexicon the set implies (people, companies, products, places,
domain terms), every term of it said in some utterance.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import sys
import wave
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from centralita.kernel.pcm import Pcm16
from realtime.audio.frames import STT_RATE, resample_pcm16
from realtime.audio.line_conditions import add_noise, telephone
from realtime.providers.base import TextToSpeech
from realtime.providers.espeak import EspeakTTS

VERSION = 1
"""Bump when anything below changes what is generated: the cache is rebuilt."""

SEED = 6
COUNT = 120
TRAIN_SHARE = 0.3
FOLDER = Path(__file__).resolve().parent / "results" / "wer_set"
VoiceSet = Literal["espeak", "kokoro"]
VOICE_SETS: tuple[VoiceSet, ...] = ("espeak", "kokoro")
KOKORO_VOICES = {"es": ("ef_dora", "em_alex"), "en": ("af_heart", "am_michael")}
"""Kokoro voices per language; the set is Spanish, so ``es`` is the one used."""


def folder_for(voices: VoiceSet) -> Path:
    """Where a voice set's audio is cached."""
    return FOLDER if voices == "espeak" else FOLDER.with_name(f"wer_set_{voices}")


Condition = Literal["clean", "noise", "8khz"]
Kind = Literal["person", "company", "product", "place", "domain_term"]
Split = Literal["train", "test"]

# -- what collection calls in Chile talk about ------------------------------------------

FIRST_NAMES = (
    "María José", "Juan Pablo", "Francisca", "Ignacio", "Catalina", "Rodrigo", "Javiera",
    "Matías", "Constanza", "Sebastián", "Valentina", "Cristóbal", "Fernanda", "Joaquín",
    "Ximena", "Álvaro", "Daniela", "Tomás", "Paulina", "Gonzalo",
)  # fmt: skip
SURNAMES = (
    "González", "Muñoz", "Rojas", "Díaz", "Sepúlveda", "Contreras", "Valenzuela", "Araya",
    "Espinoza", "Huenchumilla", "Carrasco", "Cáceres", "Quispe", "Iturra", "Zúñiga",
    "Fuenzalida", "Manríquez", "Ñancupil",
)  # fmt: skip
COMPANIES = (
    "Financiera Andes", "Banco Sur", "Dicom", "Cobranzas del Pacífico", "Crédito Austral",
    "Caja Los Héroes", "Servicios Cordillera", "Retail Patagonia",
)  # fmt: skip
PRODUCTS = (
    "tarjeta Visa Oro", "crédito de consumo", "línea de crédito", "crédito hipotecario",
    "tarjeta Mastercard Black", "cuenta corriente", "avance en efectivo",
    "seguro de desgravamen",
)  # fmt: skip
PLACES = (
    "Ñuñoa", "Providencia", "Maipú", "Valparaíso", "Concepción", "Temuco", "Antofagasta",
    "Puente Alto", "Rancagua", "Quilicura",
)  # fmt: skip
TERMS = (
    "repactación", "morosidad", "saldo pendiente", "convenio de pago", "abono",
    "boleta", "intereses", "comprobante", "transferencia", "cuotas",
)  # fmt: skip
WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado")
MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
    "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip

# Slots: {person} {company} {product} {place} {term} {amount} {date} {rut} {count}.
TEMPLATES = (
    "Buenos días, ¿hablo con {person}?",
    "Le llamo de {company} por su {product}.",
    "Su saldo pendiente con {company} es de {amount}.",
    "Puedo pagar {amount} {date}.",
    "Mi RUT es {rut}.",
    "Le confirmo el RUT {rut} a nombre de {person}.",
    "Le ofrecemos un convenio de pago de {amount} en {count} cuotas.",
    "Vivo en {place}, cerca de la estación.",
    "La repactación de su {product} vence {date}.",
    "Voy a hacer una transferencia {date} desde {company}.",
    "Su deuda con {company} aparece en Dicom desde {date}.",
    "Quiero hablar con {person} sobre la morosidad de su {product}.",
    "Le envío el comprobante del abono de {amount}.",
    "Los intereses de la {product} subieron a {amount}.",
    "Necesito la boleta de la sucursal de {place}.",
    "Soy {person}, de {place}, y ya pagué {amount}.",
    "¿Me confirma su {term}, por favor?",
    "La {term} quedó registrada {date}.",
)
PLAIN_LINES = (
    "Sí, soy yo.",
    "No puedo hablar ahora, llámeme más tarde.",
    "¿Me puede repetir, por favor?",
    "Está bien, muchas gracias.",
    "No reconozco esa deuda.",
    "Ya pagué la semana pasada.",
    "Mañana tengo el dinero.",
    "No me interesa, gracias.",
)
PLAIN_SHARE = 0.15

VOICES = ("es", "es-419", "es+f3", "es-419+f2", "es-419+m3", "es+m5")
SPEEDS = (130, 145, 160, 175)
PITCHES = (40, 50, 60)
CONDITIONS: tuple[tuple[Condition, float], ...] = (("clean", 0.4), ("noise", 0.3), ("8khz", 0.3))
SNRS_DB = (20.0, 10.0, 5.0)


class Utterance(BaseModel):
    """One utterance of the set: its ground truth and how it was synthesised."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    spoken: str
    terms: dict[str, Kind]
    voice: str
    speed_wpm: int
    pitch: int
    condition: Condition
    snr_db: float | None
    split: Split

    @property
    def wav_name(self) -> str:
        """The file name of its audio in the set's folder."""
        return f"{self.id}.wav"


class LexiconTerm(BaseModel):
    """An entry of the tenant lexicon the set implies."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    text: str
    language: str = "es"


# -- Spanish numbers --------------------------------------------------------------------

_UNITS = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve")
_TEENS = (
    "diez", "once", "doce", "trece", "catorce", "quince", "dieciséis", "diecisiete",
    "dieciocho", "diecinueve", "veinte", "veintiuno", "veintidós", "veintitrés",
    "veinticuatro", "veinticinco", "veintiséis", "veintisiete", "veintiocho", "veintinueve",
)  # fmt: skip
_TENS = ("", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta",
         "noventa")  # fmt: skip
_HUNDREDS = ("", "ciento", "doscientos", "trescientos", "cuatrocientos", "quinientos",
             "seiscientos", "setecientos", "ochocientos", "novecientos")  # fmt: skip


def spell(n: int) -> str:
    """A number from 0 to 999,999,999 in Spanish words ("ciento cincuenta mil").

    Raises:
        ValueError: out of range.
    """
    if not 0 <= n < 1_000_000_000:
        raise ValueError(f"cannot spell {n}")
    if n < 1000:
        return _below_1000(n)
    millions, rest = divmod(n, 1_000_000)
    thousands, units = divmod(rest, 1000)
    words: list[str] = []
    if millions:
        words.append(
            "un millón" if millions == 1 else f"{_apocope(_below_1000(millions))} millones"
        )
    if thousands:
        words.append("mil" if thousands == 1 else f"{_apocope(_below_1000(thousands))} mil")
    if units:
        words.append(_below_1000(units))
    return " ".join(words)


def _below_1000(n: int) -> str:
    if n == 100:
        return "cien"
    hundreds, rest = divmod(n, 100)
    head = _HUNDREDS[hundreds]
    if not rest:
        return head or "cero"
    tail = _UNITS[rest] if rest < 10 else _TEENS[rest - 10] if rest < 30 else _tens(rest)
    return f"{head} {tail}" if head else tail


def _tens(n: int) -> str:
    tens, units = divmod(n, 10)
    return _TENS[tens] + (f" y {_UNITS[units]}" if units else "")


def _apocope(words: str) -> str:
    """'uno' before a noun: 'veintiuno mil' is said 'veintiún mil'."""
    if words.endswith("veintiuno"):
        return words[: -len("veintiuno")] + "veintiún"
    return words[:-1] if words.endswith("uno") else words


def dotted(n: int) -> str:
    """Chilean thousands separators: 150000 -> '150.000'."""
    return f"{n:,}".replace(",", ".")


def rut_check_digit(body: int) -> str:
    """The RUT's modulo-11 check digit ('0'-'9' or 'k')."""
    total, factor = 0, 2
    for digit in reversed(str(body)):
        total += int(digit) * factor
        factor = 2 if factor == 7 else factor + 1
    check = 11 - total % 11
    return "0" if check == 11 else "k" if check == 10 else str(check)


# -- slot values: (written, spoken) -----------------------------------------------------


def _amount(rng: random.Random) -> tuple[str, str]:
    n = rng.choice((rng.randrange(5, 100) * 5_000, rng.randrange(1, 40) * 50_000))
    if rng.random() < 0.5:
        return f"{dotted(n)} pesos", f"{spell(n)} pesos"
    return f"{spell(n)} pesos", f"{spell(n)} pesos"


def _date(rng: random.Random) -> tuple[str, str]:
    day = rng.randrange(1, 29)
    style = rng.randrange(3)
    if style == 0:
        weekday = rng.choice(WEEKDAYS)
        return f"el {weekday} {spell(day)}", f"el {weekday} {spell(day)}"
    month = rng.choice(MONTHS)
    if style == 1:
        return f"el {day} de {month}", f"el {spell(day)} de {month}"
    return f"el {spell(day)} de {month}", f"el {spell(day)} de {month}"


def _rut(rng: random.Random) -> tuple[str, str]:
    body = rng.randrange(5_000_000, 26_000_000)
    check = rut_check_digit(body)
    said_check = "ka" if check == "k" else _UNITS[int(check)]
    written = f"{dotted(body)}-{check.upper()}"
    if rng.random() < 0.5:  # digit by digit, as most people read it out
        return written, " ".join(_UNITS[int(d)] for d in str(body)) + f" guion {said_check}"
    return written, f"{spell(body)} guion {said_check}"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"


def _fill(template: str, rng: random.Random) -> tuple[str, str, dict[str, Kind]]:
    """Fill a template's slots: the written text, the spoken text and the terms used."""
    written, spoken = template, template
    terms: dict[str, Kind] = {}
    named: dict[str, tuple[Kind, tuple[str, ...]]] = {
        "company": ("company", COMPANIES),
        "product": ("product", PRODUCTS),
        "place": ("place", PLACES),
        "term": ("domain_term", TERMS),
    }
    for slot, (kind, values) in named.items():
        while "{" + slot + "}" in written:
            value = rng.choice(values)
            terms[value] = kind
            written = written.replace("{" + slot + "}", value, 1)
            spoken = spoken.replace("{" + slot + "}", value, 1)
    while "{person}" in written:
        person = _person(rng)
        first, _, last = person.rpartition(" ")
        terms[first], terms[last] = "person", "person"
        written = written.replace("{person}", person, 1)
        spoken = spoken.replace("{person}", person, 1)
    makers = {"amount": _amount, "date": _date, "rut": _rut}
    for slot, make in makers.items():
        while "{" + slot + "}" in written:
            shown, said = make(rng)
            written = written.replace("{" + slot + "}", shown, 1)
            spoken = spoken.replace("{" + slot + "}", said, 1)
    if "{count}" in written:
        count = rng.randrange(2, 25)
        written = written.replace("{count}", str(count))
        spoken = spoken.replace("{count}", spell(count))
    return written, spoken, terms


def _fixed_terms(text: str) -> dict[str, Kind]:
    """Companies and domain terms a template says in its own words (e.g. 'Dicom')."""
    lowered = text.lower()
    found: dict[str, Kind] = {c: "company" for c in COMPANIES if c.lower() in lowered}
    found.update({t: "domain_term" for t in TERMS if t.lower() in lowered})
    return found


def generate(
    seed: int = SEED, count: int = COUNT, train_share: float = TRAIN_SHARE
) -> list[Utterance]:
    """The set's utterances (no audio): deterministic for a seed and a count.

    Raises:
        ValueError: ``count`` is too small to leave both splits non-empty.
    """
    train_count = round(count * train_share)
    if count < 2 or not 0 < train_count < count:
        raise ValueError(f"{count} utterances cannot be split {train_share:.0%} for training")
    rng = random.Random(seed)  # noqa: S311 - a reproducible set, not a secret
    train = set(rng.sample(range(count), train_count))
    out: list[Utterance] = []
    for i in range(count):
        terms: dict[str, Kind] = {}
        if rng.random() < PLAIN_SHARE:
            line = rng.choice(PLAIN_LINES)
            written, spoken = line, line
        else:
            written, spoken, terms = _fill(TEMPLATES[i % len(TEMPLATES)], rng)
        terms = {**_fixed_terms(written), **terms}
        condition = rng.choices([c for c, _ in CONDITIONS], [w for _, w in CONDITIONS])[0]
        out.append(
            Utterance(
                id=f"u{i:03d}",
                text=written,
                spoken=spoken,
                terms=terms,
                voice=rng.choice(VOICES),
                speed_wpm=rng.choice(SPEEDS),
                pitch=rng.choice(PITCHES),
                condition=condition,
                snr_db=rng.choice(SNRS_DB) if condition == "noise" else None,
                split="train" if i in train else "test",
            )
        )
    return out


def lexicon(utterances: list[Utterance]) -> list[LexiconTerm]:
    """The tenant lexicon the set implies: every term said in it, once, sorted."""
    terms: dict[str, Kind] = {}
    for u in utterances:
        terms.update(u.terms)
    return [LexiconTerm(kind=kind, text=text) for text, kind in sorted(terms.items())]


# -- audio --------------------------------------------------------------------------------


def kokoro_voiced(utterances: list[Utterance]) -> list[Utterance]:
    """The same utterances said by Kokoro's Spanish voices, alternating female and male."""
    voices = KOKORO_VOICES["es"]
    return [
        u.model_copy(update={"voice": voices[i % len(voices)]}) for i, u in enumerate(utterances)
    ]


async def render(utterance: Utterance, tts: TextToSpeech | None = None) -> Pcm16:
    """The utterance's audio at 16 kHz: espeak-ng (or ``tts``), then its condition applied."""
    if tts is None or isinstance(tts, EspeakTTS):
        tts = tts or EspeakTTS(speed_wpm=utterance.speed_wpm, pitch=utterance.pitch)
        tts.speed_wpm, tts.pitch = utterance.speed_wpm, utterance.pitch
    speech = await tts.synthesize(utterance.spoken, language="es", voice=utterance.voice)
    samples = await asyncio.to_thread(resample_pcm16, speech.samples, speech.sample_rate, STT_RATE)
    # A generator per utterance (seeded by its index) keeps one utterance's noise the
    # same whatever else is regenerated.
    rng = np.random.default_rng([SEED, int(utterance.id[1:])])
    if utterance.condition == "noise" and utterance.snr_db is not None:
        return add_noise(samples, utterance.snr_db, rng)
    if utterance.condition == "8khz":
        return await asyncio.to_thread(telephone, samples, STT_RATE)
    return samples


def _voice_set_tts(voices: VoiceSet) -> TextToSpeech:
    if voices == "espeak":
        return EspeakTTS()
    from realtime.providers.kokoro import KokoroTTS  # lazily: onnxruntime and its model

    return KokoroTTS(threads=2, timeout_s=120.0)


def _empty(folder: Path) -> None:
    """Start the cache folder afresh (a stale set must not mix with a new one)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def write_wav(path: Path, samples: Pcm16, rate: int = STT_RATE) -> None:
    """Write mono int16 samples as a WAV file."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())


def read_wav(path: Path) -> Pcm16:
    """Mono int16 samples of a WAV written by `write_wav`."""
    with wave.open(str(path), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)


async def build(
    folder: Path | None = None,
    *,
    seed: int = SEED,
    count: int = COUNT,
    voices: VoiceSet = "espeak",
) -> list[Utterance]:
    """The set with its audio in ``folder`` (the voice set's own by default): reused when
    cached, else synthesised.

    Writes ``manifest.json`` (version, seed, utterances, lexicon) next to the WAVs.

    Raises:
        KokoroNotInstalledError: the Kokoro set without Kokoro's model packages.
    """
    folder = folder or folder_for(voices)
    manifest = folder / "manifest.json"
    utterances = generate(seed, count)
    if voices == "kokoro":
        utterances = kokoro_voiced(utterances)
    if manifest.exists():
        cached = json.loads(manifest.read_text())
        if (cached.get("version"), cached.get("seed"), cached.get("count")) == (
            VERSION,
            seed,
            count,
        ) and all((folder / u.wav_name).exists() for u in utterances):
            return [Utterance.model_validate(u) for u in cached["utterances"]]
    _empty(folder)
    tts = _voice_set_tts(voices)
    for n, u in enumerate(utterances, 1):
        write_wav(folder / u.wav_name, await render(u, tts))
        print(f"\r  synthesising the set: {n}/{len(utterances)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    document = {
        "version": VERSION,
        "seed": seed,
        "count": count,
        "utterances": [u.model_dump() for u in utterances],
        "lexicon": [t.model_dump() for t in lexicon(utterances)],
    }
    manifest.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    return utterances
