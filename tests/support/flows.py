"""Test support: scripted turns for driving a `FlowBrain` without speech or NLU.

Used by the flow unit tests; never imported by production code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from centralita.understanding.model import (
    ContextAdvice,
    Intent,
    Sentiment,
    SentimentScore,
    Slots,
    Steering,
    Understanding,
)
from realtime.agents.flows.disclosure import collection_words
from realtime.agents.flows.engine import FlowBrain
from realtime.providers.base import AgentReply, BrainTurn


def turn(
    intent: Intent,
    text: str = "",
    *,
    language: str = "es",
    confidence: float = 0.95,
    also: list[Intent] | None = None,
    amount: int | None = None,
    currency: str | None = None,
    pay_date: date | None = None,
    callback_at: datetime | None = None,
    callback_day: date | None = None,
    national_id: str | None = None,
    steering: Steering = Steering.CONTINUE,
    sentiment: float = 0.0,
) -> BrainTurn:
    """One understood user turn, as the NLU and context analysis would hand it over."""
    label = (
        Sentiment.FRUSTRATED
        if sentiment < -0.3
        else Sentiment.POSITIVE
        if sentiment > 0.3
        else Sentiment.NEUTRAL
    )
    return BrainTurn(
        understanding=Understanding(
            text=text or intent.value,
            language=language,
            intent=intent,
            confidence=confidence,
            also=also or [],
            slots=Slots(
                amount=amount,
                currency=currency,
                pay_date=pay_date,
                callback_at=callback_at,
                callback_day=callback_day,
                national_id=national_id,
            ),
        ),
        sentiment=SentimentScore(score=sentiment, label=label, alert=sentiment < -0.5),
        advice=ContextAdvice(steering=steering),
    )


def silence(*, language: str = "es") -> BrainTurn:
    """The caller said nothing for the re-prompt interval."""
    return BrainTurn(
        understanding=Understanding(
            text="", language=language, intent=Intent.UNKNOWN, confidence=0.0
        ),
        sentiment=SentimentScore(score=0.0, label=Sentiment.NEUTRAL, alert=False),
        advice=ContextAdvice(steering=Steering.CONTINUE),
        silence=True,
    )


async def run(flow: FlowBrain, *turns: BrainTurn) -> list[AgentReply]:
    """The flow's opening and its reply to each turn, in order."""
    replies = [await flow.start()]
    for t in turns:
        replies.append(await flow.respond(t))
    return replies


def spoken(replies: list[AgentReply]) -> str:
    """Everything the agent said in these replies."""
    return " ".join(s for r in replies for s in r.say)


def assert_no_debt_details(replies: list[AgentReply], words: Sequence[str]) -> None:
    """Fail if any sentence of any reply says one of `words` (amounts, due dates) or a
    collection word ("cobranza", "your payment": what the call is about)."""
    for reply in replies:
        for sentence in reply.say:
            for word in words:
                assert word not in sentence, f"{word!r} disclosed in {sentence!r}"
            said = collection_words(sentence)
            assert not said, f"{', '.join(said)} disclosed in {sentence!r}"
