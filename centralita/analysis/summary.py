"""Call summaries: an extractive one always, another summarizer when one is configured.

The extractive summary picks the two or three most informative sentences of the call
and keeps them in the order said. "Informative" on a collection call means carrying
what the campaign acts on: amounts and dates (a promise, a debt), an intent that
changes what happens next (a dispute, an opt-out), the sentence that made a promise.
Greetings and "sí" score nothing.

`Summarizer` is the seam for an LLM: `analyse_call` takes any object with this
method and falls back to the extractive summary when it fails.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from centralita.analysis.call_intent import extra_intents
from centralita.analysis.model import CallAnalysis, CallAnalysisInput, Entity, EntityKind, Turn
from centralita.analysis.promises import Promise
from centralita.understanding.context import content_words
from centralita.understanding.intents import find_hits
from centralita.understanding.model import Intent

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LABELS = {
    "es": {"user": "Cliente", "agent": "Agente"},
    "en": {"user": "Customer", "agent": "Agent"},
}
# Points per thing a sentence carries (see the module docstring for why these).
_VALUE_POINTS = {EntityKind.AMOUNT: 2.0, EntityKind.DATE: 2.0}
_OTHER_VALUE_POINTS = 1.0
_INTENT_POINTS = 2.0
_PROMISE_POINTS = 3.0
# Longer sentences win ties: they say more in the same slot.
_PER_CONTENT_WORD = 0.05
_INTENTS_WORTH_SUMMARISING: frozenset[Intent] = frozenset(
    {Intent.PROMISE_TO_PAY, Intent.CANNOT_PAY, Intent.DISPUTE, Intent.CALLBACK_REQUEST,
     Intent.OPT_OUT, Intent.WRONG_PERSON, Intent.HUMAN_REQUEST}
)  # fmt: skip
MAX_SENTENCES = 3
MIN_SENTENCES = 2


class Summarizer(Protocol):
    """Anything that can summarise an analysed call."""

    source: Literal["extractive", "llm"]

    async def summarize(self, call: CallAnalysisInput, analysis: CallAnalysis) -> str:
        """A summary of the call.

        Args:
            call: The transcript and its context.
            analysis: The analysis so far (its `summary` is the extractive one).

        Returns:
            The summary text.
        """
        ...


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a turn, with where it lies and what it scored."""

    turn: int
    start: int
    end: int
    text: str
    score: float


def sentences(text: str) -> list[tuple[int, int]]:
    """Character ranges of the sentences of a turn ("$200.000" and "a.b@c.com" stay whole).

    Args:
        text: The turn's transcript.

    Returns:
        (start, end) of each non-empty sentence.
    """
    ranges, start = [], 0
    for brk in _SENTENCE_END.finditer(text):
        ranges.append((start, brk.start()))
        start = brk.end()
    ranges.append((start, len(text)))
    return [(s, e) for s, e in ranges if text[s:e].strip()]


def score_sentences(
    turns: Sequence[Turn],
    entities: Sequence[Entity],
    promises: Sequence[Promise],
    language: str,
) -> list[Sentence]:
    """Every sentence of the call with its information score.

    Args:
        turns: The transcript.
        entities: The call's entities.
        promises: The call's payment promises.
        language: "es" or "en".

    Returns:
        The sentences in the order said.
    """
    promise_turns = {p.turn for p in promises}
    # An agreed proposal lives in the agent's turn before the caller's "sí".
    promise_turns |= {p.turn - 1 for p in promises if p.confirmed}
    scored: list[Sentence] = []
    for index, turn in enumerate(turns):
        for start, end in sentences(turn.text):
            text = turn.text[start:end]
            values = [
                e
                for e in entities
                if e.span.turn == index and start <= e.span.start < end and not e.negated
            ]
            score = sum(_VALUE_POINTS.get(e.kind, _OTHER_VALUE_POINTS) for e in values)
            intents = {h.intent for h in find_hits(text, language)} & _INTENTS_WORTH_SUMMARISING
            score += _INTENT_POINTS * (len(intents) + len(extra_intents(text, language)))
            carries_promise = Intent.PROMISE_TO_PAY in intents or any(
                e.kind in _VALUE_POINTS for e in values
            )
            if index in promise_turns and carries_promise:
                score += _PROMISE_POINTS
            if score > 0:
                score += _PER_CONTENT_WORD * len(content_words(text))
            scored.append(Sentence(index, start, end, text.strip(), score))
    return scored


def extractive_summary(
    turns: Sequence[Turn],
    entities: Sequence[Entity],
    promises: Sequence[Promise],
    language: str,
) -> str:
    """The two or three most informative sentences, labelled by speaker, in order said.

    Args:
        turns: The transcript.
        entities: The call's entities.
        promises: The call's payment promises.
        language: "es" or "en".

    Returns:
        The summary; empty for a call with nothing said.
    """
    scored = score_sentences(turns, entities, promises, language)
    ranked = sorted(scored, key=lambda s: s.score, reverse=True)
    chosen = [s for s in ranked if s.score > 0][:MAX_SENTENCES]
    if len(chosen) < MIN_SENTENCES:
        # Nothing (or one thing) stood out: fill with the wordiest sentences left.
        rest = sorted(
            (s for s in scored if s not in chosen),
            key=lambda s: len(content_words(s.text)),
            reverse=True,
        )
        chosen += rest[: MIN_SENTENCES - len(chosen)]
    labels = _LABELS.get(language, _LABELS["es"])
    chosen.sort(key=lambda s: (s.turn, s.start))
    return " ".join(f"{labels[turns[s.turn].speaker]}: {s.text}" for s in chosen)


class ExtractiveSummarizer:
    """The default summarizer: returns the extractive summary already computed."""

    source: Literal["extractive", "llm"] = "extractive"

    async def summarize(self, call: CallAnalysisInput, analysis: CallAnalysis) -> str:
        """The extractive summary of the analysis.

        Args:
            call: The transcript (unused: the analysis already holds the summary).
            analysis: The analysis.

        Returns:
            `analysis.summary`.
        """
        del call
        return analysis.summary
