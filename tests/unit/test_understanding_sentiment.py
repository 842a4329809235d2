"""Sentiment of one turn: lexicon weights, intensifiers, negation, labels and alerts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralita.understanding.model import Sentiment
from centralita.understanding.sentiment import score_sentiment

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "language", "label"),
    [
        ("ya les dije que no puedo", "es", Sentiment.FRUSTRATED),
        ("qué lata, siempre llaman", "es", Sentiment.FRUSTRATED),
        ("estoy harto de estas llamadas", "es", Sentiment.FRUSTRATED),
        ("estoy muy molesto", "es", Sentiment.FRUSTRATED),
        ("son unos ladrones", "es", Sentiment.FRUSTRATED),
        ("puta la wea weon", "es", Sentiment.FRUSTRATED),
        ("esto es acoso, voy a denunciar al sernac", "es", Sentiment.FRUSTRATED),
        ("no entiendo", "es", Sentiment.CONFUSED),
        ("¿cómo?", "es", Sentiment.CONFUSED),
        ("¿qué cosa?", "es", Sentiment.CONFUSED),
        ("de qué me habla, qué deuda", "es", Sentiment.CONFUSED),
        ("gracias", "es", Sentiment.POSITIVE),
        ("perfecto, muchas gracias", "es", Sentiment.POSITIVE),
        ("claro, muy amable", "es", Sentiment.POSITIVE),
        ("le pago el viernes", "es", Sentiment.NEUTRAL),
        ("no estoy molesto", "es", Sentiment.NEUTRAL),
        ("sí", "es", Sentiment.NEUTRAL),
        ("I already told you, I'm fed up", "en", Sentiment.FRUSTRATED),
        ("this is harassment", "en", Sentiment.FRUSTRATED),
        ("I don't understand", "en", Sentiment.CONFUSED),
        ("thank you, that sounds good", "en", Sentiment.POSITIVE),
        ("I will pay on friday", "en", Sentiment.NEUTRAL),
    ],
)
def test_labels(text: str, language: str, label: Sentiment) -> None:
    assert score_sentiment(text, language).label is label


@pytest.mark.parametrize(
    ("text", "alert"),
    [
        ("son unos ladrones, conchetumare", True),
        ("estoy muy harto, ya les dije", True),
        ("qué lata", False),
        ("gracias", False),
        ("no entiendo", False),
    ],
)
def test_alerts(text: str, alert: bool) -> None:
    result = score_sentiment(text, "es")
    assert result.alert is alert
    assert result.alert is (result.score < -0.5)


def test_intensifier_strengthens() -> None:
    plain = score_sentiment("estoy molesto", "es").score
    strong = score_sentiment("estoy muy molesto", "es").score
    assert strong < plain < 0


def test_negation_turns_the_emotion() -> None:
    assert score_sentiment("no estoy molesto", "es").score > 0
    assert score_sentiment("no, gracias", "es").score < score_sentiment("gracias", "es").score


def test_no_accents_same_score() -> None:
    assert score_sentiment("qué lata", "es") == score_sentiment("que lata", "es")


def test_empty_is_neutral() -> None:
    result = score_sentiment("", "es")
    assert (result.score, result.label, result.alert) == (0.0, Sentiment.NEUTRAL, False)


_WORDS = ["ya les dije", "harto", "gracias", "perfecto", "no", "muy", "mierda", "idiota",
          "no entiendo", "cómo", "bueno", "qué lata", "ladrones", "claro", "super"]  # fmt: skip


@given(st.lists(st.sampled_from(_WORDS), max_size=30))
def test_score_is_always_clamped(parts: list[str]) -> None:
    result = score_sentiment(" ".join(parts), "es")
    assert -1.0 <= result.score <= 1.0
