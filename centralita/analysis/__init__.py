"""Post-call analysis of a transcript: sentiment, intent, entities, topics, summary, success.

- `analyse`: the entry point (a transcript in, a `CallAnalysis` out); `model` its models.
- `trend`: the caller's mood across the call.
- `call_intent`: the intent of the whole call.
- `entities`, `spans`: values said (amounts, dates, ids, phones, emails) and where.
- `promises`: payment promises: who promised what, for when, whether it held.
- `topics`: keyword topics from a small taxonomy.
- `summary`, `llm_summary`: an extractive summary always, an LLM's when one is set.
- `outcome`: whether the agent reached its goal, and a quality score.

Pure code over the finished call's turns (except `llm_summary`, which calls a model);
the post-call activity calls `analyse_call`.

May import: `centralita.kernel` and the domains the contract puts below it
(`understanding`, `correction`, `tenants`, `webhooks`).
"""

from centralita.analysis.analyse import analyse, analyse_call
from centralita.analysis.model import (
    CallAnalysis,
    CallAnalysisInput,
    CallIntent,
    Entity,
    EntityKind,
    ExtractedVariables,
    GoalResult,
    IntentResult,
    QualityScore,
    SentimentTrend,
    Span,
    Topic,
    TrendLabel,
    Turn,
    TurnSentiment,
)
from centralita.analysis.summary import ExtractiveSummarizer, Summarizer

__all__ = [
    "CallAnalysis",
    "CallAnalysisInput",
    "CallIntent",
    "Entity",
    "EntityKind",
    "ExtractedVariables",
    "ExtractiveSummarizer",
    "GoalResult",
    "IntentResult",
    "QualityScore",
    "SentimentTrend",
    "Span",
    "Summarizer",
    "Topic",
    "TrendLabel",
    "Turn",
    "TurnSentiment",
    "analyse",
    "analyse_call",
]
