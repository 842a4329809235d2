"""Whisper's repetition loops are cut back; real speech is left alone."""

from __future__ import annotations

import pytest

from realtime.providers.repetition import collapse_repetitions, token_budget

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("heard", "kept"),
    [
        ("Ma ya la la la la la la la la la", "Ma ya la"),
        (
            "Ahor a no, mañana, alas, a to. El día de hoy, el día de hoy, el día de hoy, "
            "el día de hoy,",
            "Ahor a no, mañana, alas, a to. El día de hoy,",
        ),
        ("no se lo que no se lo que no se lo que no se lo que", "no se lo que"),
    ],
)
def test_runaway_repetitions_are_kept_once(heard: str, kept: str) -> None:
    assert collapse_repetitions(heard) == kept


@pytest.mark.parametrize(
    "said",
    [
        "Sí, sí, claro.",  # twice is how people talk
        "No, no soy esa persona.",
        "Doscientos mil pesos, el viernes.",
        "",
    ],
)
def test_ordinary_speech_is_untouched(said: str) -> None:
    assert collapse_repetitions(said) == said


def test_the_token_budget_grows_with_the_audio_and_is_capped() -> None:
    assert token_budget(1.0) < token_budget(3.0) < token_budget(10.0)
    assert token_budget(2.0) >= 30  # room for a real two-second answer
    assert token_budget(600.0) == 200
    assert token_budget(-1.0) == token_budget(0.0)


def test_a_looped_phrase_in_timed_words_is_kept_once_with_its_first_timing() -> None:
    from realtime.providers.base import Word
    from realtime.providers.repetition import collapse_repeated_words

    said = ["le", "pago", "10", "mil", "10", "mil", "10", "mil", "10", "mil", "el", "viernes"]
    words = [
        Word(text=t, start=i * 0.3, end=i * 0.3 + 0.25, probability=0.8) for i, t in enumerate(said)
    ]
    kept = collapse_repeated_words(words, lambda w: w.text)
    assert [w.text for w in kept] == ["le", "pago", "10", "mil", "el", "viernes"]
    assert kept[2].start == words[2].start  # the first copy, not a later one
    assert kept[-1] is words[-1]
