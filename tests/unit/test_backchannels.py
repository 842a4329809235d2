"""Backchannels: the words that let the agent go on, as a recogniser writes them."""

from __future__ import annotations

import pytest

from realtime.session.backchannels import is_backchannel, normalise

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "text",
    [
        "Ajá.",
        "aja",
        "Sí.",
        "Sí, sí.",
        "Mhm.",
        "Mm-hmm.",
        "Mmm.",
        "Ok.",
        "Okey, claro.",
        "Claro.",
        "Ya po.",
        "De acuerdo.",
        "Uh-huh.",
        "Yeah.",
        "Right, right.",
        "All right.",
        "¡Claro que sí!",
    ],
)
def test_backchannels_as_whisper_writes_them(text: str) -> None:
    assert is_backchannel(text)


@pytest.mark.parametrize(
    "text",
    [
        "No, espere, yo ya pagué.",
        "No.",
        "Sí, pero no puedo pagar.",
        "Espere.",
        "¿Qué?",
        "Wait, I already paid.",
        "Yeah, but who is this?",
        "",
        "...",
    ],
)
def test_anything_more_is_a_turn(text: str) -> None:
    assert not is_backchannel(text)


def test_normalise_ignores_accents_case_punctuation_and_drawn_out_letters() -> None:
    assert normalise("¡AJÁÁ, Sííí!") == ["aja", "si"]
    assert normalise("Mm-hmm… uh-huh") == ["mhm", "uhuh"]
