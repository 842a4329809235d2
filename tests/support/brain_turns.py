"""An LLM brain in tests: what it is handed per turn, and what its stream yields."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from centralita.understanding.model import (
    ContextAdvice,
    Intent,
    Sentiment,
    SentimentScore,
    Steering,
    Understanding,
)
from realtime.providers.base import AgentReply, BrainTurn


def turn(text: str, steering: Steering = Steering.CONTINUE) -> BrainTurn:
    """A Spanish turn with no intent recognised (the model decides), neutral sentiment."""
    return BrainTurn(
        understanding=Understanding(
            text=text, language="es", intent=Intent.UNKNOWN, confidence=0.5
        ),
        sentiment=SentimentScore(score=0.0, label=Sentiment.NEUTRAL, alert=False),
        advice=ContextAdvice(steering=steering),
    )


async def collect(
    parts: AsyncGenerator[str | AgentReply, None],
) -> tuple[list[str], list[AgentReply]]:
    """A brain's stream split into what it said and what it decided, in order."""
    said: list[str] = []
    replies: list[AgentReply] = []
    async for part in parts:
        if isinstance(part, str):
            said.append(part)
        else:
            replies.append(part)
    return said, replies
