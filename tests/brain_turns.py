"""What an LLM brain is handed per turn in tests: the words, and no analysis to speak of."""

from __future__ import annotations

from realtime.providers.base import BrainTurn
from realtime.understanding.model import (
    ContextAdvice,
    Intent,
    Sentiment,
    SentimentScore,
    Steering,
    Understanding,
)


def turn(text: str, steering: Steering = Steering.CONTINUE) -> BrainTurn:
    """A Spanish turn with no intent recognised (the model decides), neutral sentiment."""
    return BrainTurn(
        understanding=Understanding(
            text=text, language="es", intent=Intent.UNKNOWN, confidence=0.5
        ),
        sentiment=SentimentScore(score=0.0, label=Sentiment.NEUTRAL, alert=False),
        advice=ContextAdvice(steering=steering),
    )
