"""Context over turns: repeated questions, frustration build-up, human requests, confusion."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.understanding.context import ConversationContext, content_words, jaccard
from centralita.understanding.model import ContextAdvice, Steering
from centralita.understanding.nlu import understand
from centralita.understanding.sentiment import score_sentiment

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 12, 11, 0, tzinfo=ZoneInfo("America/Santiago"))


def feed(context: ConversationContext, text: str, language: str = "es") -> ContextAdvice:
    return context.add_user_turn(
        text, understand(text, language=language, now=NOW), score_sentiment(text, language)
    )


def test_calm_turns_continue() -> None:
    context = ConversationContext()
    context.add_agent_turn("Hola, ¿hablo con Juan Pérez?")
    assert feed(context, "sí, con él habla").steering is Steering.CONTINUE
    context.add_agent_turn("Tiene una deuda de doscientos mil pesos. ¿Cuándo podría pagar?")
    advice = feed(context, "le pago el viernes")
    assert advice.steering is Steering.CONTINUE
    assert advice.reasons == []
    assert not advice.repeated_question


def test_human_request_transfers_now() -> None:
    advice = feed(ConversationContext(), "quiero hablar con una persona")
    assert advice.steering is Steering.TRANSFER_NOW
    assert "caller asked for a person" in advice.reasons


def test_human_request_beats_frustration() -> None:
    context = ConversationContext()
    feed(context, "qué lata, ya les dije")
    advice = feed(context, "son unos ladrones, páseme con un ejecutivo")
    assert advice.steering is Steering.TRANSFER_NOW
    assert len(advice.reasons) >= 2


def test_frustration_builds_up_to_an_offer() -> None:
    context = ConversationContext()
    assert feed(context, "sí, soy yo").steering is Steering.CONTINUE
    feed(context, "qué lata, siempre llaman")
    advice = feed(context, "ya les dije que estoy harto")
    assert advice.steering is Steering.OFFER_TRANSFER
    assert advice.frustration_trend < -0.3


def test_frustration_fades_with_calm_turns() -> None:
    context = ConversationContext()
    feed(context, "qué lata")
    for _ in range(3):
        advice = feed(context, "gracias, perfecto")
    assert advice.steering is Steering.CONTINUE
    assert advice.frustration_trend > 0


def test_repeated_question_simplifies() -> None:
    context = ConversationContext()
    feed(context, "cuánto es lo que debo exactamente")
    context.add_agent_turn("Su deuda es con la tienda.")
    advice = feed(context, "pero cuánto debo exactamente")
    assert advice.repeated_question
    assert advice.steering is Steering.SIMPLIFY


def test_different_questions_are_not_repeats() -> None:
    context = ConversationContext()
    feed(context, "cuánto es lo que debo exactamente")
    advice = feed(context, "dónde puedo pagar la cuenta")
    assert not advice.repeated_question


def test_two_repeat_requests_simplify() -> None:
    context = ConversationContext()
    first = feed(context, "¿cómo?")
    assert first.steering is Steering.SIMPLIFY
    assert not first.repeated_question
    second = feed(context, "¿qué?")
    assert second.repeated_question
    assert any("repeat 2 times" in r for r in second.reasons)


def test_confusion_simplifies() -> None:
    advice = feed(ConversationContext(), "no entiendo de qué me habla")
    assert advice.steering is Steering.SIMPLIFY


def test_agent_repeating_itself_simplifies() -> None:
    context = ConversationContext()
    context.add_agent_turn("¿Cuándo podría realizar el pago de su deuda?")
    context.add_agent_turn("¿Cuándo podría realizar el pago de la deuda?")
    assert context.agent_repeated_itself()
    assert feed(context, "mmm").steering is Steering.SIMPLIFY


def test_memory_is_bounded() -> None:
    context = ConversationContext(max_turns=3)
    feed(context, "cuánto es lo que debo exactamente")
    for text in ("sí", "bueno", "ya"):
        feed(context, text)
    assert context.user_turns == 3
    # The first turn has been forgotten, so saying it again is not a repeat.
    assert not feed(context, "cuánto es lo que debo exactamente").repeated_question


def test_english_conversation() -> None:
    context = ConversationContext()
    feed(context, "I'm fed up with these calls", "en")
    advice = feed(context, "this is harassment, stop it", "en")
    assert advice.steering is Steering.OFFER_TRANSFER


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("cuánto debo", "cuanto debo", 1.0),
        ("cuánto debo", "dónde pago", 0.0),
        ("", "", 0.0),
    ],
)
def test_jaccard_over_content_words(a: str, b: str, expected: float) -> None:
    assert jaccard(content_words(a), content_words(b)) == expected


def test_content_words_drop_function_words() -> None:
    assert content_words("¿Y cuánto es lo que debo?") == {"cuanto", "debo"}
