"""Conversation context: what the last few turns, together, say about the call.

One turn says what the caller wants; several say how the call is going. This class
keeps a bounded window of turns and turns patterns into advice for the agent: the
caller asked the same thing again (explain more simply), frustration builds up (offer
a person), the caller asked for a person (transfer now).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from statistics import fmean

from centralita.understanding.model import (
    ContextAdvice,
    Intent,
    Sentiment,
    SentimentScore,
    Steering,
    Understanding,
)
from centralita.understanding.text import words

# Function words carry no topic; comparing them would make any two turns alike.
_STOPWORDS: frozenset[str] = frozenset(
    {"a", "al", "algo", "asi", "con", "de", "del", "el", "ella", "ellos", "en", "era", "es",
     "esa", "ese", "eso", "esta", "este", "esto", "ha", "hay", "la", "las", "le", "les",
     "lo", "los", "me", "mi", "mis", "muy", "nada", "ni", "no", "nos", "o", "para", "pero",
     "por", "porque", "que", "se", "si", "sin", "su", "sus", "te", "tu", "un", "una", "uno",
     "unos", "usted", "y", "ya", "yo", "bueno", "oiga", "mire", "entonces", "pues", "po",
     "eh", "ah", "the", "an", "and", "are", "as", "at", "be", "but", "by", "do", "for",
     "from", "have", "i", "in", "is", "it", "its", "my", "of", "on", "or", "so",
     "that", "this", "to", "was", "we", "what", "with", "you", "your", "ok", "okay", "well",
     "um", "uh"}
)  # fmt: skip
_REPEAT_JACCARD = 0.6
_MIN_CONTENT_WORDS = 2
_FRUSTRATION_WINDOW = 3
_FRUSTRATION_BELOW = -0.3
_REPEAT_REQUESTS_TO_SIMPLIFY = 2
_SOCIAL: frozenset[Intent] = frozenset(
    {Intent.AFFIRM, Intent.DENY, Intent.GREETING, Intent.GOODBYE}
)


@dataclass(frozen=True, slots=True)
class _UserTurn:
    content: frozenset[str]
    understanding: Understanding
    sentiment: SentimentScore


def content_words(text: str) -> frozenset[str]:
    """The words of a turn that carry meaning (no function words, no digits-only noise).

    Args:
        text: A transcript.

    Returns:
        The folded content words.
    """
    return frozenset(w for w in words(text) if w not in _STOPWORDS and len(w) > 1)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two word sets (0 when both are empty).

    Args:
        a: A set of words.
        b: Another set of words.

    Returns:
        |a ∩ b| / |a ∪ b|.
    """
    union = a | b
    return len(a & b) / len(union) if union else 0.0


class ConversationContext:
    """The last turns of one call, and advice drawn from them.

    Not thread-safe: one instance belongs to one call's pipeline.
    """

    def __init__(self, max_turns: int = 12) -> None:
        """Create an empty context.

        Args:
            max_turns: How many user turns (and as many agent utterances) to keep.
        """
        self._user: deque[_UserTurn] = deque(maxlen=max_turns)
        self._agent: deque[frozenset[str]] = deque(maxlen=max_turns)

    @property
    def user_turns(self) -> int:
        """How many user turns are held (at most `max_turns`)."""
        return len(self._user)

    def add_agent_turn(self, text: str) -> None:
        """Record what the agent said.

        Args:
            text: The agent's utterance.
        """
        self._agent.append(content_words(text))

    def agent_repeated_itself(self) -> bool:
        """Whether the agent's last two utterances say nearly the same thing."""
        if len(self._agent) < 2:
            return False
        last, previous = self._agent[-1], self._agent[-2]
        return len(last) >= _MIN_CONTENT_WORDS and jaccard(last, previous) >= _REPEAT_JACCARD

    def add_user_turn(
        self, text: str, understanding: Understanding, sentiment: SentimentScore
    ) -> ContextAdvice:
        """Record a user turn and advise on the next move.

        Args:
            text: The transcript of the turn.
            understanding: Its understanding.
            sentiment: Its sentiment.

        Returns:
            The advice, with every reason that led to it.
        """
        turn = _UserTurn(content_words(text), understanding, sentiment)
        repeated = self._repeats_earlier(turn)
        self._user.append(turn)

        reasons: list[str] = []
        recent = list(self._user)[-_FRUSTRATION_WINDOW:]
        trend = fmean(t.sentiment.score for t in recent)
        intents = {understanding.intent, *understanding.also}
        repeat_requests = sum(
            1 for t in self._user if t.understanding.intent is Intent.REPEAT_REQUEST
        )

        human = Intent.HUMAN_REQUEST in intents
        if human:
            reasons.append("caller asked for a person")
        frustrated = trend < _FRUSTRATION_BELOW
        if frustrated:
            reasons.append(f"frustration over the last {len(recent)} turns ({trend:.2f})")
        if repeated:
            reasons.append("caller repeated an earlier turn")
        if repeat_requests >= _REPEAT_REQUESTS_TO_SIMPLIFY:
            repeated = True
            reasons.append(f"caller asked to repeat {repeat_requests} times")
        confused = (
            sentiment.label is Sentiment.CONFUSED or understanding.intent is Intent.REPEAT_REQUEST
        )
        if confused:
            reasons.append("caller is confused or asked to repeat")
        if self.agent_repeated_itself():
            reasons.append("agent said the same thing twice")

        if human:
            steering = Steering.TRANSFER_NOW
        elif frustrated:
            steering = Steering.OFFER_TRANSFER
        elif repeated or confused or self.agent_repeated_itself():
            steering = Steering.SIMPLIFY
        else:
            steering = Steering.CONTINUE
        return ContextAdvice(
            steering=steering,
            reasons=reasons,
            repeated_question=repeated,
            agent_repeated=self.agent_repeated_itself(),
            frustration_trend=round(max(-1.0, min(1.0, trend)), 3),
        )

    def _repeats_earlier(self, turn: _UserTurn) -> bool:
        # Saying "gracias, perfecto" twice is politeness, not a question left unanswered.
        if (
            len(turn.content) < _MIN_CONTENT_WORDS
            or turn.understanding.intent in _SOCIAL
            or turn.sentiment.label is Sentiment.POSITIVE
        ):
            return False
        return any(jaccard(turn.content, t.content) >= _REPEAT_JACCARD for t in self._user)
