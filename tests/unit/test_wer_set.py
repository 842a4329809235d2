"""The Spanish WER evaluation set: its generator, its audio conditions and its scoring."""

from __future__ import annotations

import numpy as np
import pytest

from bench import wer_set
from bench.wer_metrics import (
    classify_change,
    fold,
    harmful_share,
    harvest_pairs,
    normalise,
    word_error_rate,
)
from realtime.audio.line_conditions import (
    add_noise,
    band_pass,
    energy_share_above,
    measured_snr_db,
    telephone,
)

pytestmark = pytest.mark.unit

RATE = 16_000


@pytest.fixture(scope="module")
def utterances() -> list[wer_set.Utterance]:
    return wer_set.generate()


# -- the generator ------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_set_and_another_seed_another(
    utterances: list[wer_set.Utterance],
) -> None:
    assert wer_set.generate() == utterances
    assert wer_set.generate(seed=wer_set.SEED + 1) != utterances


def test_at_least_100_utterances_with_unique_ids_in_every_condition(
    utterances: list[wer_set.Utterance],
) -> None:
    assert len(utterances) >= 100
    assert len({u.id for u in utterances}) == len(utterances)
    assert {u.condition for u in utterances} == {"clean", "noise", "8khz"}
    assert len({u.voice for u in utterances}) >= 4
    assert len({u.speed_wpm for u in utterances}) >= 3
    assert all((u.snr_db is not None) == (u.condition == "noise") for u in utterances)


def test_the_set_is_rich_in_ruts_amounts_and_names(utterances: list[wer_set.Utterance]) -> None:
    texts = [u.text for u in utterances]
    assert sum("RUT" in t for t in texts) >= 10
    assert sum("pesos" in t for t in texts) >= 15
    assert sum(any(k == "person" for k in u.terms.values()) for u in utterances) >= 10


def test_the_written_truth_and_the_spoken_text_say_the_same(
    utterances: list[wer_set.Utterance],
) -> None:
    # "RUT 13.988.716-6" is what espeak-ng says as "uno tres nueve ... guion seis".
    mismatched = [u.id for u in utterances if normalise(u.text) != normalise(u.spoken)]
    assert mismatched == []
    assert any(u.text != u.spoken for u in utterances)  # digits do occur in the truth


def test_every_lexicon_term_is_said_in_some_utterance(
    utterances: list[wer_set.Utterance],
) -> None:
    terms = wer_set.lexicon(utterances)
    assert {t.kind for t in terms} == {"person", "company", "product", "place", "domain_term"}
    said = [fold(u.spoken) for u in utterances]
    assert [t.text for t in terms if not any(fold(t.text) in s for s in said)] == []
    for u in utterances:  # and an utterance's own terms are in its own text
        assert all(fold(term) in fold(u.text) for term in u.terms)


def test_the_training_split_is_disjoint_and_about_30_percent(
    utterances: list[wer_set.Utterance],
) -> None:
    train = {u.id for u in utterances if u.split == "train"}
    test = {u.id for u in utterances if u.split == "test"}
    assert not train & test
    assert train | test == {u.id for u in utterances}
    assert len(train) == round(len(utterances) * wer_set.TRAIN_SHARE)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (100, "cien"),
        (150_000, "ciento cincuenta mil"),
        (221_000, "doscientos veintiún mil"),
        (1_200_000, "un millón doscientos mil"),
        (12_345_678, "doce millones trescientos cuarenta y cinco mil seiscientos setenta y ocho"),
    ],
)
def test_numbers_are_spelled_the_spanish_way(n: int, words: str) -> None:
    assert wer_set.spell(n) == words


def test_every_spelled_number_normalises_back_to_its_digits() -> None:
    rng = np.random.default_rng(1)
    numbers = [*range(0, 1200), *(int(x) for x in rng.integers(0, 999_999_999, 500))]
    assert [n for n in numbers if normalise(wer_set.spell(n)) != str(n)] == []


@pytest.mark.parametrize(("body", "check"), [(12_345_678, "5"), (11_111_111, "1"), (6, "k")])
def test_rut_check_digit(body: int, check: str) -> None:
    assert wer_set.rut_check_digit(body) == check


# -- the audio conditions -----------------------------------------------------------------


def _white(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0, 4000, int(RATE * seconds)), -32768, 32767).astype(np.int16)


def test_the_telephone_line_removes_the_energy_above_3400_hz() -> None:
    wide = _white()
    assert energy_share_above(wide, RATE, 3500) > 0.5
    line = telephone(wide, RATE)
    assert line.size == wide.size
    assert energy_share_above(line, RATE, 3500) < 0.005
    # ...and below 300 Hz, while the band in between survives.
    low = 1.0 - energy_share_above(line, RATE, 250)
    assert low < 0.005
    assert np.mean(line.astype(float) ** 2) > 0.2 * np.mean(wide.astype(float) ** 2)


def test_band_pass_rejects_a_band_beyond_nyquist() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        band_pass(_white(), RATE, 300, 9000)


@pytest.mark.parametrize("snr", [20.0, 10.0, 5.0])
def test_noise_hits_the_requested_snr(snr: float) -> None:
    t = np.arange(RATE * 2) / RATE
    speechlike = 8000 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    clean = speechlike.astype(np.int16)
    noisy = add_noise(clean, snr, np.random.default_rng(3))
    assert measured_snr_db(clean, noisy) == pytest.approx(snr, abs=0.3)


def test_noise_cannot_be_set_against_silence() -> None:
    with pytest.raises(ValueError, match="silence"):
        add_noise(np.zeros(100, dtype=np.int16), 10.0, np.random.default_rng(0))


# -- scoring ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("Mi RUT es 13.988.716-K.", "mi rut es 13988716 guion k"),
        (
            "mi rut es uno tres nueve ocho ocho siete uno seis guion ka",
            "mi rut es 13988716 guion k",
        ),
        ("Puedo pagar $200.000 el viernes", "puedo pagar 200000 el viernes"),
        ("doscientos mil pesos", "200000 pesos"),
        ("Vivo en Ñuñoa, ¿ya?", "vivo en nunoa ya"),
    ],
)
def test_normalisation(text: str, normal: str) -> None:
    assert normalise(text) == normal


def test_word_error_rate_counts_errors_over_reference_words() -> None:
    refs = ["pago el viernes", "doscientos mil pesos"]
    assert word_error_rate(refs, ["pago el viernes", "200.000 pesos"]) == 0.0
    # one substitution over 5 normalised reference words (3 + "200000 pesos")
    assert word_error_rate(refs, ["pago el bienes", "200.000 pesos"]) == pytest.approx(0.2)


def test_a_correction_that_breaks_a_matching_word_is_harmful() -> None:
    assert classify_change("pago el viernes", "pago el viernes", "pago el jueves") == "harmful"


def test_a_correction_that_fixes_a_word_is_helpful() -> None:
    assert classify_change("pago el viernes", "pago el bienes", "pago el viernes") == "helpful"
    # a split word mended into one counts too: two wrong words become one right one
    ref = "hablo con Huenchumilla"
    assert classify_change(ref, "hablo con buen chumilla", "hablo con Huenchumilla") == "helpful"


def test_wrong_to_wrong_and_spelling_only_are_neutral() -> None:
    assert classify_change("pago el viernes", "pago el bienes", "pago el vienes") == "neutral"
    assert classify_change("vivo en Ñuñoa", "vivo en nunoa", "vivo en Ñuñoa") == "neutral"


def test_harmful_share() -> None:
    assert harmful_share(["harmful", "helpful", "helpful", "neutral"]) == 0.25
    assert harmful_share([]) == 0.0


def test_error_pairs_come_from_lexicon_words_only_and_never_break_a_correct_word() -> None:
    training = [
        ("Hablo con Matías Huenchumilla", "Hablo con Matías buen chumilla"),
        ("Le llamo de Dicom", "Le llamo de Dicon"),
        ("Su saldo es alto", "Su salgo es alto"),  # "saldo" is not a lexicon word here
        ("Vivo en Maipú", "Vivo en la"),  # "la" is a correct word elsewhere
        ("Vivo en la casa", "Vivo en la casa"),
    ]
    pairs = harvest_pairs(training, ["Matías", "Huenchumilla", "Dicom", "Maipú"])
    assert pairs == {"buen chumilla": "Huenchumilla", "dicon": "Dicom"}


def test_a_line_condition_spoils_speech_the_way_its_name_says() -> None:
    from realtime.audio.line_conditions import through_line

    rng = np.random.default_rng(1)
    tone = (8000 * np.sin(2 * np.pi * 5000 * np.arange(16_000) / 16_000)).astype(np.int16)
    speech_band = (8000 * np.sin(2 * np.pi * 800 * np.arange(16_000) / 16_000)).astype(np.int16)
    assert through_line(tone, 16_000, "clean", rng) is tone
    # The telephone keeps 300-3400 Hz only.
    assert energy_share_above(through_line(tone, 16_000, "telephone", rng), 16_000, 3600) < 0.01
    noisy = through_line(speech_band, 16_000, "noise", rng)
    assert measured_snr_db(speech_band, noisy) == pytest.approx(15.0, abs=0.5)
    both = through_line(speech_band, 16_000, "noisy_telephone", np.random.default_rng(1))
    assert energy_share_above(both, 16_000, 3600) < 0.01
