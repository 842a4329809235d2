"""The online (exact dictionary) transcript corrector."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralita.correction.online import CorrectionResult, OnlineCorrector, normalise, revert
from centralita.correction.online_defaults import DEFAULTS_ES

pytestmark = pytest.mark.unit

TENANT = {"salgo": "saldo", "Juan Peres": "Juan Pérez", "cobransa": "cobranza"}


@pytest.fixture(scope="module")
def corrector() -> OnlineCorrector:
    return OnlineCorrector(TENANT, language="es")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("le debo loscientos mil", "le debo doscientos mil"),
        ("Loscientos mil", "Doscientos mil"),  # capital kept
        ("LOSCIENTOS MIL", "DOSCIENTOS MIL"),  # shouting kept
        ("Lóscientos mil", "Doscientos mil"),  # accents ignored when matching
        ("dos cientos mil pesos", "doscientos mil pesos"),  # a phrase
        ("dos-cientos mil", "doscientos mil"),  # hyphen between the words
        ("dos   cientos", "doscientos"),
        ("mi rut es 12.345.678-9", "mi RUT es 12.345.678-9"),  # replacement's own case
        ("tengo cuenta rut", "tengo CuentaRUT"),  # the longest entry wins over "rut"
        ("el salgo pendiente", "el saldo pendiente"),
        ("el salgo", "el saldo"),  # the tenant's single word
        ("habla juan peres", "habla Juan Pérez"),
        ("HABLA JUAN PERES", "HABLA Juan Pérez"),  # the entry carries its own capitals
        ("es la cobransa", "es la cobranza"),
        ("estoy en dicom", "estoy en DICOM"),
        ("le pago por bisum", "le pago por Bizum"),
    ],
)
def test_corrects(corrector: OnlineCorrector, text: str, expected: str) -> None:
    result = corrector.correct(text)
    assert result.text == expected
    assert result.corrections
    assert result.original() == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sí, pago el viernes",
        "dos, cientos",  # a comma splits the phrase
        "dosc ientos",
        "ruth me dijo",  # whole words only: "rut" is not a prefix match
        "prutas",
        "Mi RUT es este",  # already right: nothing recorded
        "salgos",
    ],
)
def test_leaves_alone(corrector: OnlineCorrector, text: str) -> None:
    result = corrector.correct(text)
    assert result.text == text
    assert result.corrections == []


def test_positions_locate_both_sides(corrector: OnlineCorrector) -> None:
    text = "Sí, loscientos mil, mi rut es el 12 y el salgo pendiente se paga en dicom."
    result = corrector.correct(text)
    assert [(c.before, c.after) for c in result.corrections] == [
        ("loscientos", "doscientos"),
        ("rut", "RUT"),
        ("salgo pendiente", "saldo pendiente"),
        ("dicom", "DICOM"),
    ]
    for c in result.corrections:
        assert result.text[c.start : c.end] == c.after
        assert text[c.source_start : c.source_start + len(c.before)] == c.before
    assert result.text == (
        "Sí, doscientos mil, mi RUT es el 12 y el saldo pendiente se paga en DICOM."
    )


def test_positions_shift_when_lengths_change() -> None:
    corrector = OnlineCorrector({"cien mil": "100.000", "uno": "primero"}, include_defaults=False)
    text = "pago cien mil el uno y cien mil el uno"
    result = corrector.correct(text)
    assert result.text == "pago 100.000 el primero y 100.000 el primero"
    starts = [c.start for c in result.corrections]
    assert starts == sorted(starts)
    for c in result.corrections:
        assert result.text[c.start : c.end] == c.after
    assert revert(result.text, result.corrections) == text


def test_revert_refuses_text_that_does_not_match(corrector: OnlineCorrector) -> None:
    result = corrector.correct("mi rut")
    with pytest.raises(ValueError, match="RUT"):
        revert("mi XYZ", result.corrections)


def test_tenant_entries_override_defaults() -> None:
    corrector = OnlineCorrector({"rut": "R.U.T."}, language="es")
    assert corrector.correct("mi rut").text == "mi R.U.T."
    assert OnlineCorrector(language="es").correct("mi rut").text == "mi RUT"
    assert OnlineCorrector(language="es", include_defaults=False).size == 0


def test_defaults_follow_the_language() -> None:
    assert OnlineCorrector(language="es-CL").size == len(DEFAULTS_ES)
    assert OnlineCorrector(language="en").correct("by pay pal").text == "by PayPal"
    assert OnlineCorrector(language="en").correct("loscientos").text == "loscientos"
    assert OnlineCorrector(language="fr").size == 0


def test_accepts_pairs_and_rejects_empty_keys() -> None:
    corrector = OnlineCorrector([("Ñuñoa", "Ñuñoa"), ("nunoa", "Ñuñoa")], include_defaults=False)
    assert corrector.size == 1  # same key once normalised; the later pair wins
    assert corrector.correct("vivo en nunoa").text == "vivo en Ñuñoa"
    with pytest.raises(ValueError, match="no word"):
        OnlineCorrector({" ¿? ": "x"})


def test_normalise() -> None:
    assert normalise("RÚT") == "rut"
    assert normalise("Ñuñoa") == "nunoa"
    assert normalise("Pérez") == "perez"


_words = st.sampled_from(
    ["loscientos", "dos", "cientos", "rut", "Rut", "salgo", "pendiente", "mil", "el", "DICOM",
     "dicom", "Lóscientos", "juan", "peres", "sí", "12.345", "-", ",", "¿", "?"]
)  # fmt: skip


@given(st.lists(_words, max_size=30), st.sampled_from([" ", "  ", "-", ", "]))
def test_reverting_always_restores_the_original(words: list[str], sep: str) -> None:
    corrector = OnlineCorrector(TENANT, language="es")
    text = sep.join(words)
    result: CorrectionResult = corrector.correct(text)
    assert result.original() == text
    for c in result.corrections:
        assert result.text[c.start : c.end] == c.after
        assert text[c.source_start : c.source_start + len(c.before)] == c.before
