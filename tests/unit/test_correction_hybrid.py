"""The hybrid corrector level by level, its safety rules and undo."""

from __future__ import annotations

import time

import pytest

from centralita.correction import (
    CorrectedText,
    CorrectionSettings,
    HeardWord,
    HybridCorrector,
    InMemoryLexicon,
    LexiconEntry,
    undo,
)
from centralita.correction.lexicon import LexiconForm
from centralita.correction.online import OnlineCorrector

pytestmark = pytest.mark.unit

ENTRIES = [
    LexiconEntry(kind="person", text="Pérez"),
    LexiconEntry(kind="person", text="Peña"),
    LexiconEntry(kind="person", text="Velázquez"),
    LexiconEntry(kind="person", text="Cáceres"),
    LexiconEntry(kind="person", text="Paz"),  # looks like "pago" and "pas"
    LexiconEntry(kind="person", text="Mañalich"),  # looks like "mañana"
    LexiconEntry(kind="company", text="BancoEstado", aliases=("Banco Estado",)),
    LexiconEntry(kind="company", text="Scotiabank"),
    LexiconEntry(kind="product", text="Superavance"),
    LexiconEntry(kind="place", text="Huechuraba"),
    LexiconEntry(kind="domain_term", text="repactación"),
    LexiconEntry(kind="error_pair", text="Bizum", wrong="Vizún"),
    LexiconEntry(kind="person", text="Quesada", active=False),
]


def heard(text: str, probability: float = 0.5) -> list[HeardWord]:
    return [HeardWord(text=w, probability=probability) for w in text.split()]


@pytest.fixture
def corrector() -> HybridCorrector:
    return HybridCorrector(InMemoryLexicon.from_entries(ENTRIES))


async def test_l1_dictionary_phrases_map_back_to_word_spans() -> None:
    corrector = HybridCorrector(InMemoryLexicon([]), OnlineCorrector())
    words = heard("tiene un salgo pendiente, ¿lo paga?", probability=0.99)
    result = await corrector.correct(words, "es")
    assert result.text == "tiene un saldo pendiente, ¿lo paga?"
    [c] = result.corrections
    assert (c.level, c.score, c.word_start, c.word_end) == ("L1", 1.0, 2, 4)
    assert (c.before, c.after) == ("salgo pendiente,", "saldo pendiente,")
    assert c.probability == 0.99  # confident words still take an exact dictionary hit


async def test_l2_corrects_a_misheard_surname(corrector: HybridCorrector) -> None:
    result = await corrector.correct(heard("hablo con el señor Belasques"), "es")
    assert result.text == "hablo con el señor Velázquez"
    [c] = result.corrections
    assert c.level in ("L2", "L3")
    assert (c.before, c.word_start, c.word_end) == ("Belasques", 4, 5)


async def test_l2_joins_a_split_word_and_keeps_punctuation(corrector: HybridCorrector) -> None:
    result = await corrector.correct(heard("pago en el vanco estado."), "es")
    assert result.text == "pago en el BancoEstado."
    [c] = result.corrections
    assert c.level == "L2"
    assert (c.word_start, c.word_end, c.before) == (3, 5, "vanco estado.")


async def test_l2_error_pair_forms_lead_to_the_right_text(corrector: HybridCorrector) -> None:
    result = await corrector.correct(heard("le pago por Vizún"), "es")
    assert result.text == "le pago por Bizum"
    assert result.corrections[0].score == 1.0


async def test_l3_finds_a_word_that_sounds_the_same() -> None:
    # A lone entry: the nearest neighbour is all there is, so only the L3 score decides.
    lexicon = InMemoryLexicon.from_entries([LexiconEntry(kind="place", text="Huechuraba")])
    settings = CorrectionSettings(l2_min_similarity=0.99)  # L2 off
    result = await HybridCorrector(lexicon, settings=settings).correct(
        heard("vivo en Uechurava"), "es"
    )
    assert result.text == "vivo en Huechuraba"
    assert result.corrections[0].level == "L3"
    assert result.corrections[0].score >= settings.l3_min_score


async def test_l3_uses_the_phonetic_key_lookup() -> None:
    class KeyOnly(InMemoryLexicon):
        async def nearest(self, text: str, language: str, k: int) -> list:  # type: ignore[type-arg]
            return []  # only sounding_like can find it

    lexicon = KeyOnly([LexiconForm(kind="person", text="Velázquez", form="Velázquez")])
    result = await HybridCorrector(lexicon).correct(heard("Belasques"), "es")
    assert (result.text, result.corrections[0].level) == ("Velázquez", "L3")


async def test_confident_words_are_left_alone(corrector: HybridCorrector) -> None:
    result = await corrector.correct(heard("Belasques", probability=0.97), "es")
    assert result.text == "Belasques"
    assert result.corrections == []


async def test_confident_words_change_on_strong_evidence(corrector: HybridCorrector) -> None:
    result = await corrector.correct(heard("Vizún", probability=0.97), "es")
    assert result.text == "Bizum"


@pytest.mark.parametrize("sentence", ["que pago mañana", "pague", "pagos", "mes", "pero claro"])
async def test_common_words_are_never_replaced(corrector: HybridCorrector, sentence: str) -> None:
    result = await corrector.correct(heard(sentence, probability=0.1), "es")
    assert result.text == sentence
    assert result.corrections == []


async def test_a_real_word_outside_the_short_list_is_not_replaced() -> None:
    # "interesa" sounds like the lexicon's "intereses" and is in no hand-written list;
    # the language's word frequencies still mark it as a word the caller said.
    lexicon = InMemoryLexicon.from_entries([LexiconEntry(kind="domain_term", text="intereses")])
    result = await HybridCorrector(lexicon).correct(heard("No me interesa,", 0.1), "es")
    assert result.corrections == []
    misheard = await HybridCorrector(lexicon).correct(heard("los interedes", 0.1), "es")
    assert misheard.text == "los intereses"  # the same lexicon still fixes a non-word


async def test_an_uncommon_look_alike_is_corrected(corrector: HybridCorrector) -> None:
    # The counterpart of the test above: the lexicon does reach words of that shape.
    result = await corrector.correct(heard("la señora pas", probability=0.1), "es")
    assert result.text == "la señora Paz"


async def test_numbers_are_left_to_the_dictionary(corrector: HybridCorrector) -> None:
    result = await corrector.correct(heard("15.000 pesos 12345678-9", probability=0.1), "es")
    assert result.corrections == []


async def test_a_lexicon_term_heard_right_stays(corrector: HybridCorrector) -> None:
    result = await corrector.correct(heard("Peña y Pérez"), "es")
    assert result.text == "Peña y Pérez"


async def test_inactive_entries_are_not_used(corrector: HybridCorrector) -> None:
    result = await corrector.correct(heard("Quezada"), "es")
    assert result.corrections == []


async def test_other_languages_lexicon_is_not_used(corrector: HybridCorrector) -> None:
    result = await corrector.correct(heard("Belasques"), "en")
    assert result.corrections == []


async def test_undo_restores_the_heard_text(corrector: HybridCorrector) -> None:
    words = heard("el señor Belasques paga en el vanco estado por Vizún")
    corrected = await corrector.correct(words, "es")
    assert len(corrected.corrections) == 3
    assert undo(words, corrected) == "el señor Belasques paga en el vanco estado por Vizún"
    keep = corrected.corrections[1:]
    partly = undo(words, corrected, only=corrected.corrections[:1])
    assert partly == "el señor Belasques paga en el " + " ".join(c.after for c in keep[:1]) + (
        " por Bizum"
    )


async def test_undo_refuses_stored_data_that_disagrees(corrector: HybridCorrector) -> None:
    words = heard("señor Belasques")
    corrected = await corrector.correct(words, "es")
    tampered = CorrectedText(text="señor Vázquez", corrections=corrected.corrections)
    with pytest.raises(ValueError, match="expected"):
        undo(words, tampered)


async def test_latency_is_printed(corrector: HybridCorrector) -> None:
    words = heard("buenas tardes señor Belasques le llamo por la repatasión de su Superavanse")
    runs = []
    for _ in range(50):
        started = time.perf_counter()
        result = await corrector.correct(words, "es")
        runs.append(time.perf_counter() - started)
    runs.sort()
    print(f"hybrid L2+L3 in memory: p50 {runs[25] * 1000:.2f} ms, max {runs[-1] * 1000:.2f} ms")
    assert "Velázquez" in result.text
    assert "repactación" in result.text
    assert "Superavance" in result.text
