"""Voicemail detection from the call's audio: cadence, the beep, phrases, and when it decides."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from centralita.kernel.pcm import Pcm16
from realtime.audio import synth
from realtime.audio.frames import resample_pcm16
from realtime.session.voicemail import (
    Thresholds,
    Verdict,
    VoicemailDetector,
    match_phrase,
    voicemail_phrases,
)

pytestmark = pytest.mark.unit
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")

RATE = 16_000
GREETING = (
    "Su llamada está siendo transferida al buzón de voz. Deje su mensaje después de la señal."
)


def said(text: str, voice: str = "es-419", rate: int = RATE) -> Pcm16:
    """espeak-ng's reading at ``rate``, trimmed to the audible part."""
    pcm, native = synth.espeak(text, voice, speed_wpm=160)
    pcm = resample_pcm16(pcm, native, rate)
    loud = np.flatnonzero(np.abs(pcm) > 200)
    return pcm[loud[0] : loud[-1] + 1]


def line(*parts: Pcm16, rate: int = RATE, seed: int = 3) -> Pcm16:
    """The parts in a row over a quiet line's hiss (-66 dBFS)."""
    x = np.concatenate(parts)
    return (x + synth.noise(x.size / rate, rate, amplitude=0.0005, seed=seed)).astype(np.int16)


def feed(
    detector: VoicemailDetector,
    audio: Pcm16,
    rate: int = RATE,
    chunk: int | None = None,
    *,
    from_s: float = 0.0,
) -> list[Verdict]:
    """Push ``audio`` from ``from_s`` in chunks (20 ms by default); the verdicts returned."""
    step = chunk or rate // 50
    out: list[Verdict] = []
    for start in range(0, audio.size, step):
        verdict = detector.push(audio[start : start + step], rate, from_s + start / rate)
        if verdict is not None:
            out.append(verdict)
    return out


@pytest.fixture(scope="module")
def greeting() -> Pcm16:
    return said(GREETING)


@pytest.fixture(scope="module")
def alo() -> Pcm16:
    return said("¿Aló?")


# -- cadence -------------------------------------------------------------------------------


@needs_espeak
def test_a_long_greeting_is_a_machine_after_its_first_seconds(greeting: Pcm16) -> None:
    detector = VoicemailDetector()
    verdicts = feed(detector, line(synth.silence(0.5), greeting, synth.silence(1.0)))
    assert verdicts[0].kind == "machine"
    assert verdicts[0].reason == "long_greeting"
    # Decided once the greeting has run machine_greeting_s, long before it ends.
    assert 0.5 + 2.9 <= verdicts[0].after_s <= 0.5 + 3.2
    assert greeting.size / RATE > 5.0
    assert detector.beep is None


@needs_espeak
def test_alo_then_silence_is_a_person_after_the_silence(alo: Pcm16) -> None:
    detector = VoicemailDetector()
    audio = line(synth.silence(0.6), alo, synth.silence(2.0))
    speech_end = 0.6 + alo.size / RATE
    # Undecided while she speaks and while the silence is still short.
    feed(detector, audio[: round((speech_end + 0.5) * RATE)])
    assert detector.verdict.kind == "undecided"
    assert not detector.decided
    detector = VoicemailDetector()
    verdicts = feed(detector, audio)
    assert [v.kind for v in verdicts] == ["human"]
    assert verdicts[0].reason == "short_greeting"
    assert speech_end + 0.7 <= verdicts[0].after_s <= speech_end + 1.0


@needs_espeak
def test_the_same_at_8khz_and_in_odd_chunks(alo: Pcm16, greeting: Pcm16) -> None:
    narrow = 8_000
    human = line(
        synth.silence(0.4, narrow), said("¿Aló?", rate=narrow), synth.silence(2.0, narrow),
        rate=narrow,
    )  # fmt: skip
    assert feed(VoicemailDetector(), human, narrow, chunk=333)[0].kind == "human"
    machine = line(synth.silence(0.4), greeting[: 4 * RATE], synth.silence(0.5))
    assert feed(VoicemailDetector(), machine, chunk=1234)[0].kind == "machine"


def test_silence_and_noise_alone_decide_nothing() -> None:
    detector = VoicemailDetector()
    assert feed(detector, line(synth.silence(3.0))) == []
    noisy = synth.noise(4.0, amplitude=0.02, seed=9)
    assert feed(detector, noisy) == []
    assert detector.verdict.kind == "undecided"
    assert detector.verdict.reason is None


def test_a_click_is_not_an_answer() -> None:
    click = synth.tone(300, 0.02, amplitude=0.5)
    verdicts = feed(VoicemailDetector(), line(synth.silence(0.5), click, synth.silence(2.0)))
    assert verdicts == []


@needs_espeak
def test_times_follow_the_callers_clock(alo: Pcm16) -> None:
    detector = VoicemailDetector(answered_at_s=100.0)
    audio = line(synth.silence(0.5), alo, synth.silence(1.5))
    step = RATE // 50
    for start in range(0, audio.size, step):
        detector.push(audio[start : start + step], RATE, 100.0 + start / RATE)
    verdict = detector.verdict
    assert verdict.kind == "human"
    assert verdict.at_s == pytest.approx(100.0 + verdict.after_s)
    assert 1.0 < verdict.after_s < 2.5


# -- the beep ------------------------------------------------------------------------------


@pytest.mark.parametrize(("freq", "rate"), [(1000.0, RATE), (1400.0, 8_000), (850.0, RATE)])
def test_a_beep_is_found_timed_and_means_machine(freq: float, rate: int) -> None:
    beep = synth.tone(freq, 0.5, rate, amplitude=0.2)
    audio = line(synth.silence(1.0, rate), beep, synth.silence(1.0, rate), rate=rate)
    detector = VoicemailDetector()
    verdicts = feed(detector, audio, rate)
    assert verdicts[0].kind == "machine"
    assert verdicts[0].reason == "beep"
    assert verdicts[0].after_s == pytest.approx(1.0 + Thresholds().beep_min_s, abs=0.03)
    found = detector.beep
    assert found is not None
    assert found.start_s == pytest.approx(1.0, abs=0.03)
    assert found.end_s == pytest.approx(1.5, abs=0.03)
    assert found.freq_hz == pytest.approx(freq, abs=15)
    # The verdict carries the beep's end once it stopped.
    assert detector.verdict.beep == found
    assert detector.verdict.beep_at == found.start_s


@needs_espeak
def test_a_beep_after_a_short_greeting_turns_a_person_into_a_machine(alo: Pcm16) -> None:
    # "¿Aló?... ¡ja! deja tu mensaje": a greeting that plays a person, then the beep.
    audio = line(synth.silence(0.3), alo, synth.silence(1.2), synth.tone(1000, 0.4, amplitude=0.2))
    verdicts = feed(VoicemailDetector(), audio)
    assert [v.kind for v in verdicts][:2] == ["human", "machine"]
    assert verdicts[1].revised
    assert verdicts[1].reason == "beep"


@needs_espeak
def test_speech_is_not_a_beep(greeting: Pcm16) -> None:
    for voice in ("es-419", "es+f3", "en-us+f3"):
        detector = VoicemailDetector()
        feed(detector, line(said("Hola, soy María, deja tu mensaje.", voice), synth.silence(0.5)))
        assert detector.beep is None
    detector = VoicemailDetector()
    feed(detector, greeting)
    assert detector.beep is None


def test_ringback_and_dtmf_and_short_blips_are_not_beeps() -> None:
    ringback = synth.tone(425, 1.0, amplitude=0.2)  # Spain's and Chile's ringback
    dtmf = (synth.tone(770, 0.5, amplitude=0.1) + synth.tone(1336, 0.5, amplitude=0.1)).astype(
        np.int16
    )
    blip = synth.tone(1000, 0.1, amplitude=0.2)
    for audio in (ringback, dtmf, blip):
        detector = VoicemailDetector()
        feed(detector, line(synth.silence(0.3), audio, synth.silence(0.5)))
        assert detector.beep is None


@needs_espeak
def test_a_beep_after_a_long_greeting_makes_the_verdict_sure(greeting: Pcm16) -> None:
    detector = VoicemailDetector()
    audio = line(greeting[: round(3.5 * RATE)], synth.silence(0.4), synth.tone(1000, 0.5))
    verdicts = feed(detector, audio)
    assert [v.reason for v in verdicts[:2]] == ["long_greeting", "beep"]
    assert verdicts[1].at_s == verdicts[0].at_s  # the same decision, surer
    assert detector.verdict.sure
    assert not detector.verdict.revised


def test_a_beep_alone_is_a_machine_within_a_second() -> None:
    audio = line(synth.silence(0.5), synth.tone(2000, 0.8, amplitude=0.2), synth.silence(1.0))
    verdicts = feed(VoicemailDetector(), audio)
    assert verdicts[0].kind == "machine"
    assert verdicts[0].after_s < 1.0


# -- phrases -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Deje su mensaje después de la señal.",
        "DESPUES DEL TONO",
        "Su llamada está siendo transferida al buzón de voz",
        "buzon de vos",
        "El número que usted marcó no existe.",
        "El teléfono que usted llamó se encuentra apagado o fuera del área de servicio.",
        "The person you are calling is not available.",
        "Please leave a message after the tone.",
        "You've reached my voicemail",
        "Hi, it's Mike, leave me a message!",
        # Carriers' openings: the machine is known from the first words, not the last.
        "La persona que usted llama...",
        "Su llamada está siendo transferida",
        "Your call has been forwarded to an automated",
        "El cliente al que llama no puede atenderle",
        "Movistar le informa",
    ],
)
def test_voicemail_phrases_in_spanish_and_english(text: str) -> None:
    assert voicemail_phrases(text)


@pytest.mark.parametrize(
    "text",
    [
        "¿Aló?",
        "Sí, ¿quién es? Estoy ocupado ahora mismo.",
        "No, no está disponible ahora.",  # a person, of someone else: weak evidence only
        "He is not available right now. Can I take a message?",
        "I have three mailboxes",  # whole words only
        "",
    ],
)
def test_not_voicemail_phrases(text: str) -> None:
    assert not voicemail_phrases(text)


def test_what_each_phrase_points_to() -> None:
    assert match_phrase("No está disponible") == ("no esta disponible", "weak")
    assert match_phrase("¿De parte de quién?") == ("de parte de quien", "human")
    # A person's question wins over a machine's words in the same text.
    assert match_phrase("¿Quién es? ¿Buzón de voz?") == ("quien es", "human")
    assert match_phrase("Hola") is None


def test_a_strong_phrase_decides_machine_when_it_is_heard() -> None:
    detector = VoicemailDetector(answered_at_s=0.0)
    verdict = detector.heard("La persona que usted llama... deje su mensaje", at_s=2.1)
    assert verdict is not None
    assert (verdict.kind, verdict.reason, verdict.at_s) == ("machine", "phrase", 2.1)
    assert verdict.phrase == "deje su mensaje"
    assert detector.heard("¿Aló? ¿Quién es?", at_s=3.0) is None  # a machine stays one


@needs_espeak
def test_a_person_saying_no_esta_disponible_is_still_a_person(alo: Pcm16) -> None:
    answer = said("No, no está disponible ahora.")
    detector = VoicemailDetector()
    feed(detector, line(synth.silence(0.4), answer, synth.silence(1.5)))
    assert detector.heard("No, no está disponible ahora.", at_s=2.5) is None
    assert detector.verdict.kind == "human"
    # Before her silence, a weak phrase with a short greeting decides nothing either.
    early = VoicemailDetector()
    feed(early, line(synth.silence(0.4), answer))
    assert early.heard("No, no está disponible", at_s=1.5) is None
    assert early.verdict.kind == "undecided"


@needs_espeak
def test_a_weak_phrase_decides_nothing_but_a_long_greeting_still_does(greeting: Pcm16) -> None:
    detector = VoicemailDetector()
    feed(detector, line(synth.silence(0.3), greeting[: round(2.5 * RATE)]))
    assert detector.heard("El cliente no está disponible", at_s=2.8) is None
    assert detector.verdict.kind == "undecided"
    feed(detector, greeting[round(2.5 * RATE) : round(4.0 * RATE)], from_s=2.8)
    assert detector.verdict.reason == "long_greeting"
    assert not detector.verdict.sure


@needs_espeak
def test_a_persons_question_overturns_a_verdict_from_length_only(greeting: Pcm16) -> None:
    detector = VoicemailDetector()
    feed(detector, line(synth.silence(0.3), greeting[: round(3.6 * RATE)]))
    assert detector.verdict.reason == "long_greeting"
    verdict = detector.heard("Aló, sí, con ella habla. ¿Quién la llama?", at_s=3.5)
    assert verdict is not None
    assert (verdict.kind, verdict.reason, verdict.revised) == ("human", "human_phrase", True)
    # ...but not one a beep gave.
    beeped = VoicemailDetector()
    feed(beeped, line(synth.silence(0.3), synth.tone(1000, 0.5, amplitude=0.2)))
    assert beeped.heard("¿Quién es?", at_s=1.0) is None
    assert beeped.verdict.kind == "machine"


def test_bad_input_is_refused() -> None:
    detector = VoicemailDetector()
    with pytest.raises(ValueError, match="sample rate"):
        detector.push(synth.silence(0.02, 22_050), 22_050, 0.0)
    with pytest.raises(ValueError, match="int16"):
        detector.push(np.zeros(320, dtype=np.float32), RATE, 0.0)
