"""Voicemail detection from the call's own audio, for lines with no carrier AMD.

A `VoicemailDetector` is fed the caller's audio from the moment the call is answered
(20 ms frames or any other length, 8 kHz or 16 kHz mono int16: what the session's
listener sees) and, optionally, what the recogniser heard (`heard`). It answers
``human``, ``machine`` or ``undecided`` (not enough evidence yet: treat the caller as a
person), with the time of the decision, and reports a voicemail's beep on its own
(`Beep`, with its end) so an agent can wait for it before leaving a message.

What it looks at, strongest evidence first:

1. **The beep.** A recorder's "record now" tone is a pure sine (800-2000 Hz is usual;
   600-2600 Hz accepted) lasting 0.3-1 s. A frame with some level goes through a
   Hann-windowed FFT; it is *tonal* when the peak bin and its two neighbours hold at
   least `Thresholds.tone_ratio` of the energy above 100 Hz. A beep is a run of tonal
   frames at one pitch (within a 50 Hz bin; one stray frame forgiven) lasting
   `beep_min_s`. Speech spreads its energy over harmonics 100-250 Hz apart, two-tone
   DTMF keys stop near 0.5, and ringback (400-480 Hz) is below the band.
2. **Phrases** in a transcript. `STRONG_PHRASES` ("deje su mensaje", "después de la
   señal", "buzón de voz", "el número que usted marcó", "the person you are calling",
   "leave a message", "after the tone", "voicemail"...; accents, case and punctuation
   folded) say machine. `HUMAN_PHRASES` ("¿quién es?", "¿de parte de quién?", "who's
   calling?", "can I take a message?") say person: no recording asks who is calling.
   `WEAK_PHRASES` ("no está disponible", "is not available", "you've reached") are what
   a machine says but also what a person says of someone else ("No, no está disponible
   ahora"); they decide nothing (see below for why).
3. **Cadence.** A person answers "¿Aló?", "¿Sí?", "Hello?" and waits; a machine speaks a
   long greeting with short pauses. A frame is speech when webrtcvad says so and its
   level stands `speech_margin_db` above the line's noise floor (the quietest frame of
   the last `noise_window_s`); a lone speech frame is a click. Speech joins into one
   greeting across pauses shorter than `end_silence_s`. A greeting that reaches
   `machine_greeting_s` is a machine; one that ends (a pause of `end_silence_s`) sooner,
   after at least `min_speech_s` of speech, is a person. Silence or noise alone decide
   nothing.

Verdicts are revised only by stronger evidence for the other side (`STRENGTH`: the
cadence 1, a phrase 2, the beep 3): a greeting that opens "¿Aló?..." and then beeps
turns ``machine`` (`Verdict.revised`); a long answer called ``machine`` by its length
turns ``human`` when the transcript says "¿quién la llama?"; a beep is final.

The thresholds, and where they come from (``python -m bench voicemail``: 32 machine
greetings and 32 human answers, espeak-ng voices, clean, with pink noise at 10-20 dB
SNR, or over a phone line at 8 or 16 kHz):

- `machine_greeting_s` 3.0 s. Short human answers ran 0.2-1.7 s of speech, the long
  ones ("Sí, ¿quién es? Estoy ocupado ahora mismo", "He is not available right now. Can
  I take a message?") 2.6-3.7 s at espeak-ng's 140-185 words a minute; carriers'
  greetings and intercepts 3.9-7.7 s, personal greetings 2.3-8.7 s. At 2.6 s, 8 of the
  32 people were called machines; at 3.0 s, 3, and no machine was missed (3.2 s missed
  "Hola, soy Pedro. Deja tu mensaje.", 3.1 s, no beep). The 0.4 s it costs a machine is
  harmless (the agent waits for the beep anyway); hanging up on a person is not. Twilio
  (2.4 s) and Asterisk's ``app_amd`` (1.5 s) decide sooner and miss long answers.
- `end_silence_s` 0.8 s, Asterisk's after-greeting silence. espeak-ng's pauses inside
  the greetings measured 0.04-0.5 s; 0.5-0.8 s gave the same accuracy on the set, and
  real greetings pause longer than espeak-ng between sentences.
- `min_speech_s` 0.12 s: "¿Sí?" is 0.2-0.3 s.
- `tone_ratio` 0.8 and `beep_min_s` 0.2 s. Over 10,325 speech frames of the set the
  ratio had a median of 0.14, a 99.9th percentile of 0.72 and a maximum of 0.83 (3
  frames), and never stayed above 0.6 at one pitch for more than 2 frames in a row; beep
  frames scored 0.95-1.0, under noise at 10 dB SNR too.
- `speech_margin_db` 9 dB over a 1 s floor. With 0, 3 and 6 dB, pink noise read as
  speech and stretched noisy answers into long greetings (accuracy on noisy clips 0.89,
  0.89, 0.95 against 1.0 at 9 and 12 dB); a 2 s floor window did worse (0.95).
- Weak phrases: with "weak phrase + 2 s of greeting means machine", two more people were
  called machines ("Ella no está disponible ahora...", "He is not available right
  now...") and no machine was decided more than 0.6 s sooner, so they decide nothing.

Cost: per 20 ms frame, one FFT of 160 or 320 samples, one webrtcvad call and a few
comparisons: 13 µs median, 17 µs p95 on the bench machine, cheap enough to run inline on
the listener's event loop. `heard` folds the text and scans ~130 phrases: microseconds.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import webrtcvad  # type: ignore[import-untyped]

from centralita.kernel.pcm import Pcm16
from centralita.understanding.text import fold

Kind = Literal["human", "machine", "undecided"]
Reason = Literal["beep", "phrase", "human_phrase", "long_greeting", "short_greeting"]
PhraseKind = Literal["machine", "weak", "human"]

STRENGTH: dict[Reason, int] = {
    "short_greeting": 1, "long_greeting": 1,
    "phrase": 2, "human_phrase": 2,
    "beep": 3,
}  # fmt: skip
"""How strong each kind of evidence is: a verdict is revised only by stronger evidence
for the other side (a beep beats a phrase, a phrase beats the greeting's cadence)."""

RATES = (8_000, 16_000, 32_000, 48_000)
"""What webrtcvad takes: 8 kHz from a phone stream, 16 kHz from the session's listener."""

_FULL_SCALE_SQ = 32768.0**2

# What only a machine says: a voicemail's or a carrier's recorded announcement. Written
# as said; folded (lowercase, no accents, no punctuation) at import. Some entries are a
# recogniser's usual misreading ("buzón de vos": Chilean s, "voice mail" split).
STRONG_PHRASES: tuple[str, ...] = (
    # Spanish (Chile, Spain)
    "deje su mensaje", "deja tu mensaje", "deje un mensaje", "deja un mensaje",
    "dejar un mensaje", "dejar su mensaje", "deje su recado", "deja tu recado",
    "deje su nombre", "grabe su mensaje", "graba tu mensaje", "buzón de voz",
    "buzón de vos", "buzón de mensajes", "casilla de voz", "mensaje de voz",
    "después de la señal", "después del tono", "después del pitido", "tras la señal",
    "tras el tono", "al oír la señal", "al escuchar el tono", "al escuchar la señal",
    "después de oír la señal", "después de escuchar el tono", "el número que usted marcó",
    "el número que usted ha marcado", "el teléfono que usted llamó", "el número al que llama",
    "el teléfono al que llama", "el número marcado", "se encuentra apagado",
    "está apagado o fuera", "fuera del área de servicio", "fuera de cobertura",
    "no se encuentra en servicio",
    # Carriers' openings (Claro, Entel, Movistar, Vodafone): known from the first words.
    "la persona que usted llama", "la persona a la que llama", "el cliente al que llama",
    "el abonado al que llama", "el abonado llamado", "su llamada está siendo transferida",
    "su llamada será transferida", "su llamada ha sido desviada", "movistar le informa",
    "vodafone le informa", "orange le informa", "entel le informa", "claro le informa",
    # English
    "leave a message", "leave your message", "leave me a message", "leave a voicemail",
    "leave your name", "after the tone", "after the beep", "at the tone", "voicemail",
    "voice mail", "voice messaging", "mailbox", "the person you are calling",
    "the person youre calling", "the party you are calling", "the number you have dialed",
    "the number you dialed", "the number you have reached", "is not in service",
    "record your message", "your call has been forwarded", "automated voice messaging",
    "the subscriber you have called", "the wireless customer you are calling",
)  # fmt: skip

# What a machine says, but a person may too, of someone else ("no, no está disponible"):
# recognised (`match_phrase` says "weak") but never enough to decide (see the module).
WEAK_PHRASES: tuple[str, ...] = (
    "no está disponible", "no se encuentra disponible", "no puede atender",
    "no puedo atender", "no puede contestar", "no puedo contestar", "no podemos atender",
    "has llamado a", "ha llamado a", "ha comunicado con", "te devolveré la llamada",
    "le devolveremos la llamada", "no existe", "is not available", "isnt available",
    "not available right now", "cant take your call", "cannot take your call",
    "unable to take your call", "cant come to the phone", "cant answer",
    "you have reached", "youve reached", "get back to you", "call you back",
)  # fmt: skip

# What no recording says: the person asks who is calling, or offers to take a message.
# Heard before any machine evidence, it says human; it also overturns a machine verdict
# that only the greeting's length gave ("Sí, ¿quién es? Estoy ocupado ahora mismo").
HUMAN_PHRASES: tuple[str, ...] = (
    "quién habla", "quién es", "quién llama", "quién me llama", "quién la llama",
    "quién lo llama", "quién la busca", "quién lo busca", "de parte de quién",
    "con quién hablo", "con quién tengo el gusto", "con ella habla", "con él habla",
    "who is this", "whos this", "who is calling", "whos calling", "who am i speaking",
    "may i ask who", "can i take a message", "this is she", "this is he",
)  # fmt: skip

_TABLES: tuple[tuple[PhraseKind, tuple[str, ...]], ...] = (
    ("human", tuple(fold(p) for p in HUMAN_PHRASES)),
    ("machine", tuple(fold(p) for p in STRONG_PHRASES)),
    ("weak", tuple(fold(p) for p in WEAK_PHRASES)),
)


def match_phrase(text: str) -> tuple[str, PhraseKind] | None:
    """The first telling phrase in ``text`` (folded) and what it points to.

    A person's question wins over a machine's phrase in the same text (hanging up on a
    person is the costly error), and a strong machine phrase over a weak one. Words
    match whole: "mailboxes" is not "mailbox".
    """
    padded = f" {fold(text)} "
    for kind, phrases in _TABLES:
        for phrase in phrases:
            if f" {phrase} " in padded:
                return phrase, kind
    return None


def voicemail_phrases(text: str) -> bool:
    """Whether ``text`` says something only a voicemail or a carrier's recording says.

    Only `STRONG_PHRASES` count: "deje su mensaje después de la señal", "the person you
    are calling...", "Buzón de voz". "No está disponible" alone does not (a person says it
    of someone else), nor does a text where the speaker asks who is calling.
    """
    found = match_phrase(text)
    return found is not None and found[1] == "machine"


@dataclass(frozen=True)
class Beep:
    """A voicemail's record tone.

    Attributes:
        start_s: when it started (the clock of `VoicemailDetector.push`).
        freq_hz: its pitch (interpolated between FFT bins, about ±10 Hz).
        end_s: when it stopped; None while it is still sounding.
    """

    start_s: float
    freq_hz: float
    end_s: float | None = None


@dataclass(frozen=True)
class Verdict:
    """What the detector makes of the caller so far.

    Attributes:
        kind: ``human``, ``machine`` or ``undecided``.
        at_s: when it was decided (the clock of `push` and `heard`).
        after_s: seconds after the answer (`VoicemailDetector.answered_at_s`).
        reason: the strongest evidence for it so far (None while undecided): ``beep``,
            ``phrase`` (a voicemail's), ``human_phrase``, ``long_greeting``,
            ``short_greeting``.
        beep: the beep heard, if any (a machine's beep may come after the verdict).
        phrase: the folded phrase behind it, if a phrase was.
        revised: it overturned a verdict for the other side (see `STRENGTH`).
    """

    kind: Kind
    at_s: float
    after_s: float
    reason: Reason | None = None
    beep: Beep | None = None
    phrase: str | None = None
    revised: bool = False

    @property
    def beep_at(self) -> float | None:
        """When the beep started, if one was heard."""
        return None if self.beep is None else self.beep.start_s

    @property
    def sure(self) -> bool:
        """Decided by a beep or a phrase, not by the greeting's length alone."""
        return self.reason is not None and STRENGTH[self.reason] >= 2


@dataclass(frozen=True)
class Thresholds:
    """The detector's knobs; the module docstring says where the defaults come from."""

    end_silence_s: float = 0.8
    min_speech_s: float = 0.12
    machine_greeting_s: float = 3.0
    tone_ratio: float = 0.8
    beep_min_s: float = 0.2
    beep_low_hz: float = 600.0
    beep_high_hz: float = 2600.0
    tone_level_dbfs: float = -45.0
    speech_level_dbfs: float = -55.0
    speech_margin_db: float = 9.0
    noise_window_s: float = 1.0
    vad_aggressiveness: int = 2

    def __post_init__(self) -> None:
        if self.vad_aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"vad_aggressiveness must be 0..3, got {self.vad_aggressiveness}")
        if not 0 < self.beep_low_hz < self.beep_high_hz:
            raise ValueError("beep band must be 0 < low < high")
        for name in ("end_silence_s", "machine_greeting_s", "beep_min_s", "noise_window_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")


@dataclass
class _Spectrum:
    """Per-rate FFT constants, built once per sample rate."""

    rate: int
    size: int
    window: npt.NDArray[np.float64]
    low_bin: int  # first bin counted in the total (100 Hz: no DC, no hum)
    band: tuple[int, int]  # bins where a beep may peak
    bin_hz: float = field(init=False)

    def __post_init__(self) -> None:
        self.bin_hz = self.rate / self.size


class VoicemailDetector:
    """Human or machine from the first seconds of an answered call (see the module).

    Args:
        answered_at_s: when the call was answered, on the clock of `push`; None: the
            first pushed frame's time.
        thresholds: the knobs (`Thresholds`).

    Not thread-safe: one detector per call, fed from one task.
    """

    FRAME_MS = 20

    def __init__(
        self, *, answered_at_s: float | None = None, thresholds: Thresholds | None = None
    ) -> None:
        self.t = thresholds or Thresholds()
        self.answered_at_s = answered_at_s
        self._vad = webrtcvad.Vad(self.t.vad_aggressiveness)
        self._verdict: Verdict | None = None
        self._beep: Beep | None = None
        self._rate = 0
        self._spec: _Spectrum | None = None
        self._pending = np.zeros(0, dtype=np.int16)
        self._noise: collections.deque[float] = collections.deque(
            maxlen=max(1, round(self.t.noise_window_s * 1000 / self.FRAME_MS))
        )
        # The current greeting: speech joined across pauses shorter than end_silence_s.
        self._greeting_start: float | None = None
        self._last_voiced_end = 0.0
        self._voiced_s = 0.0
        self._run = 0  # voiced frames in a row
        self._level = 0  # the strength of the evidence behind the verdict
        # The current run of tonal frames.
        self._tone_start: float | None = None
        self._tone_bin = -1
        self._tone_frames = 0
        self._tone_freqs: list[float] = []
        self._tone_miss = 0
        self._tone_last_end = 0.0
        self._now = 0.0

    # -- what the session sees ----------------------------------------------------------

    @property
    def verdict(self) -> Verdict:
        """The verdict so far (``undecided`` until the evidence is enough)."""
        if self._verdict is not None:
            return self._verdict
        after = self._now - (self.answered_at_s or 0.0)
        return Verdict("undecided", at_s=self._now, after_s=after, beep=self._beep)

    @property
    def beep(self) -> Beep | None:
        """The first beep heard (with its end once it stopped), whatever the verdict."""
        return self._beep

    @property
    def decided(self) -> bool:
        """Whether the verdict is ``human`` or ``machine``."""
        return self._verdict is not None

    def push(self, frame: Pcm16, sample_rate: int, at_s: float) -> Verdict | None:
        """Feed the caller's audio: ``frame`` (mono int16) starts at ``at_s`` seconds.

        Any length works (a remainder waits for the next call); a change of rate drops
        the remainder. Returns the new verdict when this audio changed it (a decision, a
        revision, a beep found or ended), else None.

        Raises:
            ValueError: a rate webrtcvad does not take, or not 1-D int16 samples.
        """
        if sample_rate not in RATES:
            raise ValueError(f"sample rate must be one of {RATES}, got {sample_rate}")
        if not isinstance(frame, np.ndarray) or frame.dtype != np.int16 or frame.ndim != 1:
            raise ValueError("frame must be a 1-D int16 numpy array")
        if self.answered_at_s is None:
            self.answered_at_s = at_s
        if sample_rate != self._rate:
            self._set_rate(sample_rate)
        n = sample_rate * self.FRAME_MS // 1000
        start = at_s - self._pending.size / sample_rate
        buf = np.concatenate([self._pending, frame]) if self._pending.size else frame
        before = self._verdict, self._beep
        whole = buf.size // n
        for i in range(whole):
            self._frame(buf[i * n : (i + 1) * n], start + (i + 1) * self.FRAME_MS / 1000)
        self._pending = buf[whole * n :].copy()
        if (self._verdict, self._beep) != before:
            return self._with_beep()
        return None

    def heard(self, text: str, at_s: float) -> Verdict | None:
        """What the recogniser heard the caller say, known at ``at_s``.

        Returns the new verdict when the text changed it, else None. Feed it what the
        recogniser makes of the first seconds (a greeting's transcript known only at its
        end is too late to matter), in Spanish or English.
        """
        found = match_phrase(text)
        if found is None:
            return None
        phrase, kind = found
        if kind == "human":
            return self._decide("human", "human_phrase", at_s, phrase=phrase)
        if kind == "machine":
            return self._decide("machine", "phrase", at_s, phrase=phrase)
        return None  # weak: a person says it too

    # -- per frame ------------------------------------------------------------------------

    def _set_rate(self, rate: int) -> None:
        self._rate = rate
        self._pending = np.zeros(0, dtype=np.int16)
        size = rate * self.FRAME_MS // 1000
        bin_hz = rate / size
        self._spec = _Spectrum(
            rate=rate,
            size=size,
            window=np.hanning(size),
            low_bin=max(1, math.ceil(100 / bin_hz)),
            band=(
                math.floor(self.t.beep_low_hz / bin_hz),
                min(size // 2, math.ceil(self.t.beep_high_hz / bin_hz)),
            ),
        )

    def _frame(self, frame: Pcm16, end_s: float) -> None:
        self._now = end_s
        x = frame.astype(np.float64)
        energy = float(np.dot(x, x)) / x.size
        level = 10 * math.log10(energy / _FULL_SCALE_SQ) if energy > 0 else -120.0
        floor = min(self._noise) if self._noise else level
        self._noise.append(level)
        tonal = level >= self.t.tone_level_dbfs and self._tone(x, end_s)
        if not tonal:
            self._tone_gap()
        voiced = (
            not tonal
            and level >= self.t.speech_level_dbfs
            and level >= floor + self.t.speech_margin_db
            and bool(self._vad.is_speech(frame.tobytes(), self._rate))
        )
        self._cadence(voiced, end_s)

    def _tone(self, x: npt.NDArray[np.float64], end_s: float) -> bool:
        """Whether the frame is one pure tone in the beep band; tracks the beep."""
        spec = self._spec
        assert spec is not None
        power = np.abs(np.fft.rfft(x * spec.window)) ** 2
        total = float(power[spec.low_bin :].sum())
        lo, hi = spec.band
        k = lo + int(np.argmax(power[lo : hi + 1]))
        if total <= 0 or k <= 0 or k >= power.size - 1:
            return False
        ratio = float(power[k - 1 : k + 2].sum()) / total
        if ratio < self.t.tone_ratio:
            return False
        # Parabolic interpolation of the peak on log power: the pitch within a bin.
        a, b, c = (math.log(float(power[j]) + 1e-12) for j in (k - 1, k, k + 1))
        denom = a - 2 * b + c
        offset = 0.5 * (a - c) / denom if denom else 0.0
        freq = (k + offset) * spec.bin_hz
        frame_s = self.FRAME_MS / 1000
        if self._tone_start is None or abs(k - self._tone_bin) > 1:
            self._end_tone()
            self._tone_start = end_s - frame_s
            self._tone_frames = 0
            self._tone_freqs = []
        self._tone_bin = k
        self._tone_frames += 1
        self._tone_miss = 0
        self._tone_last_end = end_s
        self._tone_freqs.append(freq)
        if self._beep is None and self._tone_frames * frame_s >= self.t.beep_min_s - 1e-9:
            self._beep = Beep(self._tone_start, round(float(np.median(self._tone_freqs)), 1))
            self._decide("machine", "beep", end_s)
        return True

    def _tone_gap(self) -> None:
        """A frame that is not tonal: one is forgiven (a click, a codec glitch)."""
        if self._tone_start is None:
            return
        self._tone_miss += 1
        if self._tone_miss > 1:
            self._end_tone()

    def _end_tone(self) -> None:
        """The tonal run is over: if it was the beep, the beep ends with its last frame."""
        beep = self._beep
        if beep is not None and beep.end_s is None and beep.start_s == self._tone_start:
            self._beep = replace(beep, end_s=self._tone_last_end)
        self._tone_start = None
        self._tone_frames = 0
        self._tone_miss = 0

    def _cadence(self, voiced: bool, end_s: float) -> None:
        frame_s = self.FRAME_MS / 1000
        # A lone voiced frame is a click or a noise burst: speech is two frames in a row.
        self._run = self._run + 1 if voiced else 0
        if self._run >= 2:
            if self._greeting_start is None:
                self._greeting_start = end_s - 2 * frame_s
                self._voiced_s = frame_s
            self._voiced_s += frame_s
            self._last_voiced_end = end_s
            span = end_s - self._greeting_start
            if span >= self.t.machine_greeting_s - 1e-9:
                self._decide("machine", "long_greeting", end_s)
            return
        if self._greeting_start is None:
            return
        if end_s - self._last_voiced_end < self.t.end_silence_s - 1e-9:
            return
        # The greeting is over: long enough to be speech, short enough to be a person.
        if self._voiced_s >= self.t.min_speech_s - 1e-9:
            self._decide("human", "short_greeting", end_s)
        self._greeting_start = None
        self._voiced_s = 0.0

    # -- verdicts ---------------------------------------------------------------------------

    def _decide(
        self, kind: Kind, reason: Reason, at_s: float, *, phrase: str | None = None
    ) -> Verdict | None:
        """Decide, or revise on stronger evidence; None when nothing changed."""
        level = STRENGTH[reason]
        current = self._verdict
        if current is not None:
            if current.kind == kind:
                if level <= self._level:
                    return None
                # Surer now (a long greeting, then its beep): same verdict, same time.
                self._level = level
                self._verdict = replace(current, reason=reason, phrase=phrase or current.phrase)
                return self._verdict
            if level <= self._level:
                return None
        self._level = level
        self._verdict = Verdict(
            kind,
            at_s=at_s,
            after_s=at_s - (self.answered_at_s or 0.0),
            reason=reason,
            beep=self._beep,
            phrase=phrase,
            revised=current is not None,
        )
        return self._verdict

    def _with_beep(self) -> Verdict:
        """The verdict carrying the latest beep (it may be found after the decision)."""
        if self._verdict is not None and self._verdict.beep != self._beep:
            self._verdict = replace(self._verdict, beep=self._beep)
        return self.verdict
